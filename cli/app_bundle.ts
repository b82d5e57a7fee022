/**
 * Bundles an app's server code on the developer's machine, so the node never
 * resolves or downloads anything: `deno bundle` (Deno's own resolution and
 * cache: `npm:` and `jsr:` specifiers, the import map of deno.json,
 * package.json and node_modules, the lockfile) makes one module and its
 * source map. The map's sources become the app's own paths (`api/main.ts`)
 * and package names (`npm:hono@4.13.19/dist/hono.js`) instead of paths on
 * this machine, and travels inline at the end of the module; what was
 * resolved is pinned in a lock (versions and integrity) that goes into the
 * upload beside it.
 * @module
 */
import { currentProgram } from "../lib/program.ts";
import { CliError } from "./cli_error.ts";

/** What `fazt deploy` uploads for the server code. */
export interface ServerBundle {
  /** One ES module, its source map inline (without the sources' text). */
  code: string;
  /** What was resolved, to pin the deploy. */
  lock: BundleLock;
  /** How many source files went in. */
  modules: number;
  /**
   * The project's own files that went in (its server code, and what that
   * reads: JSON, text), relative to the project; packages not included.
   */
  files: string[];
}

/** `_fazt/lock.json`: every package and remote module in the bundle, pinned. */
export interface BundleLock {
  /** The tool that resolved them (`deno 2.9.6`). */
  bundler: string;
  /** The entry, relative to the project. */
  entry: string;
  /** npm packages: `name@version` → integrity (`null` when no lockfile knew it). */
  npm: Record<string, { integrity: string | null }>;
  /** JSR packages: `@scope/name@version` → integrity. */
  jsr: Record<string, { integrity: string | null }>;
  /** Other remote modules: URL → hash. */
  remote: Record<string, string | null>;
}

const CONFIG_FILES = ["deno.json", "deno.jsonc", "package.json"];

function isFile(path: string): boolean {
  try {
    return Deno.statSync(path).isFile;
  } catch {
    return false;
  }
}

function parent(dir: string): string | undefined {
  const up = dir.replace(/\/[^/]*$/, "");
  return up === dir || up === "" ? undefined : up;
}

/** The nearest folder at or above `dir` holding one of `names`. */
function findUp(dir: string, names: string[]): string | undefined {
  for (let d: string | undefined = dir; d; d = parent(d)) {
    if (names.some((n) => isFile(`${d}/${n}`))) return d;
  }
  return undefined;
}

/** The `deno` to bundle with: this one, or the one on PATH when fazt is a compiled binary. */
function denoCommand(): string {
  return currentProgram().form === "binary" ? "deno" : Deno.execPath();
}

// deno-lint-ignore no-control-regex -- colour codes are what is removed
const ANSI = /\x1b\[[0-9;]*[A-Za-z]/g;

function readJson(path: string): Record<string, unknown> | undefined {
  try {
    return JSON.parse(Deno.readTextFileSync(path));
  } catch {
    return undefined;
  }
}

/** `deno bundle` of `entry` (relative to the project `folder`) into one module. */
export async function bundleServer(folder: string, entry: string): Promise<ServerBundle> {
  // Deno reports real paths: compare against the real one.
  const project = await Deno.realPath(folder);
  const work = await Deno.realPath(await Deno.makeTempDir({ prefix: "fazt-bundle-" }));
  try {
    const configDir = findUp(project, CONFIG_FILES);
    // Without a config file Deno keeps no lockfile: one in the work folder records what it resolved.
    const lockArgs = configDir ? [] : [`--lock=${work}/deno.lock`];
    let out: Deno.CommandOutput;
    try {
      out = await new Deno.Command(denoCommand(), {
        args: [
          "bundle",
          "--quiet",
          "--platform=deno",
          "--format=esm",
          "--sourcemap=external",
          ...lockArgs,
          "--output",
          `${work}/main.js`,
          entry,
        ],
        cwd: project,
        env: { NO_COLOR: "1", DENO_NO_UPDATE_CHECK: "1", RUST_BACKTRACE: "0" },
        stdin: "null",
        stdout: "piped",
        stderr: "piped",
      }).output();
    } catch (err) {
      throw new CliError(
        `cannot run deno to bundle the server code: ${(err as Error).message}`,
        "BUNDLE_FAILED",
      );
    }
    if (!out.success) {
      throw new CliError(
        bundleFailure(new TextDecoder().decode(out.stderr), project),
        "BUNDLE_FAILED",
      );
    }
    // For CommonJS packages that require Node's built-ins, deno bundle adds
    // `createRequire(import.meta.url)`, which a module loaded from a blob:
    // URL (as apps are) cannot take. Any file URL does for built-ins (the
    // rest is bundled); same length, so the source map still lines up.
    let code = (await Deno.readTextFile(`${work}/main.js`))
      .replaceAll("createRequire(import.meta.url)", 'createRequire("file:///fazt/")');
    const map = JSON.parse(await Deno.readTextFile(`${work}/main.js.map`));
    const lockDir = configDir ?? work;
    const lockfile = readJson(`${lockDir}/deno.lock`) ?? {};
    const npmLock = findUp(project, ["package-lock.json"]);
    const resolver = new SourceNames(project, work, lockfile, npmLock);
    const sources: string[] = (map.sources as string[]).map((s) => resolver.name(s));
    // esbuild marks each module with a `// <path>` line and names CommonJS
    // wrappers by path (`"../.cache/deno/npm/…"(exports, module) {`, which
    // stack traces show): the same names there, not this machine's paths.
    const labels = resolver.labels();
    code = code.split("\n").map((line) => {
      if (line.startsWith("// ")) {
        const label = labels.get(line.slice(3));
        return label ? `// ${label}` : line;
      }
      const wrapper = /^(\s*)"([^"]+)"(\(.*)$/.exec(line);
      const label = wrapper && labels.get(wrapper[2]);
      return label ? `${wrapper[1]}${JSON.stringify(label)}${wrapper[3]}` : line;
    }).join("\n");
    const cleanMap = {
      version: 3,
      file: "main.js",
      sources,
      names: map.names ?? [],
      mappings: map.mappings,
    };
    const inline = new TextEncoder().encode(JSON.stringify(cleanMap)).toBase64();
    code = `${
      code.replace(/\n?$/, "\n")
    }//# sourceMappingURL=data:application/json;base64,${inline}\n`;
    return {
      code,
      modules: sources.length,
      files: resolver.own,
      lock: {
        bundler: `deno ${Deno.version.deno}`,
        entry,
        npm: resolver.npm,
        jsr: resolver.jsr,
        remote: resolver.remote,
      },
    };
  } finally {
    await Deno.remove(work, { recursive: true }).catch(() => {});
  }
}

/**
 * Deno's report of a failed bundle as one message: what failed and where
 * (`api/main.ts:1:35`, relative to the project), then its code excerpt.
 */
export function bundleFailure(stderr: string, project: string): string {
  const lines = stderr.replace(ANSI, "").split("\n").filter((l) =>
    l.trim() !== "" &&
    !/is experimental|^error: bundling failed|^Stack backtrace|^\s+\d+: </.test(l)
  );
  const first = lines.find((l) => l.startsWith("error: "));
  const at = lines.map((l) => /^\s+at (file:\/\/\S+?):(\d+):(\d+)$/.exec(l)).find(Boolean);
  const what = (first ?? lines[0] ?? "deno bundle failed").replace(/^error: /, "");
  let where = "";
  if (at) {
    const path = decodeURIComponent(new URL(at[1]).pathname);
    where = `${path.startsWith(`${project}/`) ? path.slice(project.length + 1) : path}:${at[2]}:${
      at[3]
    }: `;
  }
  const excerpt = lines.filter((l) => /^\s*\d*\s*\|/.test(l)).slice(0, 8);
  return [
    `the server code does not compile: ${where}${what.replaceAll(`file://${project}/`, "")}`,
    ...excerpt,
  ].join("\n");
}

/** Turns the bundler's source paths into names that say what they are, noting packages. */
class SourceNames {
  readonly npm: BundleLock["npm"] = {};
  readonly jsr: BundleLock["jsr"] = {};
  readonly remote: BundleLock["remote"] = {};
  /** The project's own files met, relative to it. */
  readonly own: string[] = [];
  #labels = new Map<string, string>();
  #packageRoots = new Map<string, { name: string; version: string } | null>();

  constructor(
    private project: string,
    private mapDir: string,
    private lockfile: Record<string, unknown>,
    private npmLockDir: string | undefined,
  ) {}

  /** How esbuild names a module in the bundle's text (`deno:<url>`, a path) → its name. */
  labels(): Map<string, string> {
    return this.#labels;
  }

  name(source: string): string {
    if (/^[a-z][a-z0-9+.-]*:/i.test(source) && !source.startsWith("file:")) {
      const url = source.replace(/^deno:/, "");
      const label = this.#remote(url);
      this.#labels.set(`deno:${url}`, label);
      return label;
    }
    const abs = source.startsWith("file:")
      ? decodeURIComponent(new URL(source).pathname)
      : decodeURIComponent(new URL(source, `file://${this.mapDir}/`).pathname);
    const label = this.#local(abs);
    this.#labels.set(relative(this.project, abs), label);
    return label;
  }

  #remote(url: string): string {
    // A JSR module: <registry>/@scope/name/version/path, on jsr.io or a
    // registry the lockfile names; a registry may sit under a path.
    const jsr = /^https?:\/\/([^/]+)\/(?:[^/]+\/)*?(@[^/]+\/[^/]+)\/([^/]+)\/(.+)$/.exec(url);
    const locked = (this.lockfile.jsr ?? {}) as Record<string, { integrity?: string }>;
    if (jsr && (jsr[1] === "jsr.io" || locked[`${jsr[2]}@${jsr[3]}`] !== undefined)) {
      const id = `${jsr[2]}@${jsr[3]}`;
      this.jsr[id] = { integrity: locked[id]?.integrity ?? null };
      return `jsr:${id}/${jsr[4]}`;
    }
    const remote = (this.lockfile.remote ?? {}) as Record<string, string>;
    this.remote[url] = remote[url] ?? null;
    return url;
  }

  #local(abs: string): string {
    const inProject = abs.startsWith(`${this.project}/`);
    const inModules = abs.includes("/node_modules/");
    if (inProject && !inModules) {
      const path = abs.slice(this.project.length + 1);
      this.own.push(path);
      return path;
    }
    const pkg = this.#package(abs);
    if (!pkg) return relative(this.project, abs);
    const id = `${pkg.name}@${pkg.version}`;
    this.npm[id] ??= { integrity: this.#npmIntegrity(pkg) };
    return `npm:${id}/${abs.slice(pkg.root.length + 1)}`;
  }

  /** The package a file belongs to: the nearest package.json above it with a name and version. */
  #package(abs: string): { name: string; version: string; root: string } | undefined {
    for (let d = parent(abs); d; d = parent(d)) {
      if (d === this.project) return undefined;
      let known = this.#packageRoots.get(d);
      if (known === undefined) {
        const json = readJson(`${d}/package.json`);
        known = json && typeof json.name === "string" && typeof json.version === "string"
          ? { name: json.name, version: json.version }
          : null;
        this.#packageRoots.set(d, known);
      }
      if (known) return { ...known, root: d };
    }
    return undefined;
  }

  /** From deno.lock, package-lock.json, or the registry metadata in Deno's npm cache. */
  #npmIntegrity(pkg: { name: string; version: string; root: string }): string | null {
    const deno = (this.lockfile.npm ?? {}) as Record<string, { integrity?: string }>;
    const fromDeno = deno[`${pkg.name}@${pkg.version}`]?.integrity;
    if (fromDeno) return fromDeno;
    if (this.npmLockDir) {
      const lock = readJson(`${this.npmLockDir}/package-lock.json`);
      const packages = (lock?.packages ?? {}) as Record<
        string,
        { version?: string; integrity?: string }
      >;
      const entry = Object.entries(packages).find(([path, p]) =>
        path.endsWith(`node_modules/${pkg.name}`) && p.version === pkg.version
      );
      if (entry?.[1].integrity) return entry[1].integrity;
    }
    // Deno's npm cache: <registry>/<name>/<version>/ beside <registry>/<name>/registry.json.
    const registry = readJson(`${parent(pkg.root)}/registry.json`);
    const versions = (registry?.versions ?? {}) as Record<
      string,
      { dist?: { integrity?: string } }
    >;
    return versions[pkg.version]?.dist?.integrity ?? null;
  }
}

function relative(from: string, to: string): string {
  const a = from.split("/").filter(Boolean);
  const b = to.split("/").filter(Boolean);
  let i = 0;
  while (i < a.length && i < b.length && a[i] === b[i]) i++;
  return [...a.slice(i).map(() => ".."), ...b.slice(i)].join("/");
}
