/**
 * What `fazt deploy DIR` uploads for a folder: the manifest's build command
 * run first; the static root's files (`"static": "dist"`, else the folder)
 * less dotfiles, `node_modules`, what `.faztignore` leaves out and, in a
 * project folder (one with a config file, or a Deno Deploy-style one), its
 * package files, lockfiles and TypeScript sources, and every file of the
 * server code's module graph (server code is never public, even beside the
 * static files with `static_first`); the server code bundled with its
 * dependencies (`api/main.js`, its source map inline, and `_fazt/lock.json`,
 * which requests never reach); the manifest, with `"spa": true` when
 * `--spa` asks for it.
 * @module
 */
import {
  type Manifest,
  MANIFEST_FILES,
  ManifestError,
  parseManifest,
  SERVER_ENTRIES,
} from "../runtime/mod.ts";
import { bundleServer } from "./app_bundle.ts";
import { denoDeployEntry } from "./deno_deploy_entry.ts";
import { CliError } from "./cli_error.ts";
import { IgnoreRules } from "./faztignore.ts";
import { visible } from "./output.ts";
import { singlePageReason } from "./spa_detect.ts";
import { type ArchiveEntry, listFolder, zipEntries } from "./zip_folder.ts";

export interface PackageOptions {
  /** Turn the SPA fallback on (`--spa`). */
  spa?: boolean;
  /** Store files uncompressed (an upload to this machine). */
  store?: boolean;
  /** What was done and hints, for stderr once the deploy succeeded (the build's output is shown live). */
  note: (line: string) => void;
}

export interface PackagedFolder {
  zip: Uint8Array<ArrayBuffer>;
  /** Files in the archive. */
  files: number;
  /** Paths left out of the static root. */
  skipped: string[];
  /** The server entry that was bundled, if any. */
  server?: string;
}

/** Files a project keeps for its tools, never for visitors (a `.faztignore` `!` can re-include them). */
export const PROJECT_FILES = [
  "package.json",
  "package-lock.json",
  "npm-shrinkwrap.json",
  "yarn.lock",
  "pnpm-lock.yaml",
  "pnpm-workspace.yaml",
  "bun.lock",
  "bun.lockb",
  "deno.json",
  "deno.jsonc",
  "deno.lock",
  "tsconfig*.json",
  "jsconfig.json",
  // Sources browsers cannot run.
  "*.ts",
  "*.tsx",
  "*.mts",
  "*.cts",
  "*.jsx",
];

const CONFIG_FILES = ["package.json", "deno.json", "deno.jsonc"];

function exists(path: string, kind: "file" | "dir" = "file"): boolean {
  try {
    const s = Deno.statSync(path);
    return kind === "file" ? s.isFile : s.isDirectory;
  } catch {
    return false;
  }
}

function readText(path: string): string | undefined {
  try {
    return Deno.readTextFileSync(path);
  } catch {
    return undefined;
  }
}

/** An original-style `api/main.js`: a script, run as it is (no import/export). */
function isScript(entry: string, source: string): boolean {
  return entry === "api/main.js" && !/^\s*(export|import)\s/m.test(source);
}

/**
 * A bundle the node must run as a module even with no `import` or `export`
 * (an app that only calls `Deno.serve`): an `api/main.js` without them reads
 * as an original-style script. The mark goes last, before the inline source
 * map, so no line moves.
 */
export function asModule(code: string): string {
  if (/^\s*(export|import)\s/m.test(code)) return code;
  const at = code.lastIndexOf("\n//# sourceMappingURL=");
  return at < 0 ? `${code}\nexport {};\n` : `${code.slice(0, at)}\nexport {};${code.slice(at)}`;
}

/** The project's manifest: its file name, text and parsed form. */
function readManifest(root: string): { name: string; text?: string; manifest: Manifest } {
  for (const name of MANIFEST_FILES) {
    const text = readText(`${root}/${name}`);
    if (text === undefined) continue;
    try {
      return { name, text, manifest: parseManifest(text) };
    } catch (err) {
      if (err instanceof ManifestError) {
        throw new CliError(`${name}: ${err.message}`, "MANIFEST_INVALID");
      }
      throw err;
    }
  }
  return { name: "manifest.json", manifest: parseManifest(undefined) };
}

/**
 * The manifest as uploaded: `--spa` sets `"spa": true` in it (or makes one
 * saying only that); a Deno Deploy-style app's routes default to every path,
 * its own handler before static files.
 */
function manifestText(
  text: string | undefined,
  spa: boolean,
  allRoutes: boolean,
): string | undefined {
  if (!spa && !allRoutes) return text;
  const raw = text === undefined ? {} : JSON.parse(text);
  if (spa) raw.spa = true;
  if (allRoutes) {
    raw.routes ??= ["/*"];
    raw.static_first ??= false;
  }
  return JSON.stringify(raw, null, 2) + "\n";
}

/** Runs the manifest's build command in the project, its output on stderr as it comes. */
async function runBuild(command: string, cwd: string) {
  console.error(`build: ${visible(command)}`);
  const shell = Deno.build.os === "windows"
    ? { cmd: "cmd", args: ["/d", "/s", "/c", command] }
    : { cmd: "sh", args: ["-c", command] };
  let child: Deno.ChildProcess;
  try {
    child = new Deno.Command(shell.cmd, {
      args: shell.args,
      cwd,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
  } catch (err) {
    throw new CliError(`cannot run the build: ${(err as Error).message}`, "BUILD_FAILED");
  }
  // Both streams go to stderr: stdout is for the deploy's own answer (--json).
  const pipe = (stream: ReadableStream<Uint8Array>) =>
    stream.pipeTo(
      new WritableStream({ write: (chunk) => Deno.stderr.write(chunk).then(() => {}) }),
    );
  const [status] = await Promise.all([child.status, pipe(child.stdout), pipe(child.stderr)]);
  if (!status.success) {
    throw new CliError(
      `the build command failed (exit ${status.code}): nothing was deployed`,
      "BUILD_FAILED",
    );
  }
}

/** `path` with `.`, `..` and repeated slashes resolved (no file system access). */
function normalPath(path: string): string {
  const parts: string[] = [];
  for (const part of path.split("/")) {
    if (part === "" || part === ".") continue;
    if (part === "..") parts.pop();
    else parts.push(part);
  }
  return `/${parts.join("/")}`;
}

/**
 * The rules for the static root: defaults, then the project's `.faztignore`.
 * `deployStyle`: a Deno Deploy-style folder is a project even without a
 * config file (its `.ts` files are server code).
 */
function ignoreRules(
  root: string,
  staticRoot: string,
  server: string | undefined,
  deployStyle: boolean,
) {
  const rules = new IgnoreRules();
  const project = deployStyle || CONFIG_FILES.some((f) => exists(`${root}/${f}`));
  if (staticRoot === root) {
    // The manifest is added on its own; the server code's folder is replaced by the bundle.
    rules.add(MANIFEST_FILES.map((f) => `/${f}`));
    if (server) {
      rules.add([
        server.includes("/") ? `/${server.slice(0, server.indexOf("/"))}/` : `/${server}`,
      ]);
    }
    if (project) rules.add(PROJECT_FILES);
  }
  for (const dir of new Set([root, staticRoot])) {
    const text = readText(`${dir}/.faztignore`);
    if (text !== undefined) rules.add(text.split(/\r?\n/));
  }
  return rules;
}

/** Packages `dir` for upload (see the module's description). */
export async function packageFolder(dir: string, opts: PackageOptions): Promise<PackagedFolder> {
  const root = await Deno.realPath(dir);
  const { name: manifestName, text, manifest } = readManifest(root);
  if (manifest.build) await runBuild(manifest.build, root);

  const staticRoot = manifest.static ? `${root}/${manifest.static}` : root;
  if (!exists(staticRoot, "dir")) {
    throw new CliError(
      `the static root "${manifest.static}" is not a folder${
        manifest.build ? " (did the build write it?)" : ""
      }`,
      "STATIC_NOT_FOUND",
    );
  }
  const deployStyle = manifest.server || SERVER_ENTRIES.some((p) => exists(`${root}/${p}`))
    ? undefined
    : denoDeployEntry(root);
  if (deployStyle) {
    opts.note(
      `a Deno Deploy-style app: every request goes to ${deployStyle.entry} (${deployStyle.from})`,
    );
  }
  const entry = manifest.server ?? deployStyle?.entry ??
    SERVER_ENTRIES.find((p) => exists(`${root}/${p}`));
  if (entry && !exists(`${root}/${entry}`)) {
    throw new CliError(`the server entry "${entry}" is not a file`, "SERVER_NOT_FOUND");
  }
  const listing = await listFolder(
    staticRoot,
    ignoreRules(root, staticRoot, entry, deployStyle !== undefined),
  );
  let entries: ArchiveEntry[] = [];
  const reserved: string[] = [];
  for (const path of listing.files) {
    // Requests to /api/ and /_fazt/ never reach static files.
    if (entry && (path.startsWith("api/") || path.startsWith("_fazt/"))) reserved.push(path);
    else entries.push({ path, source: `${staticRoot}/${path}` });
  }
  if (reserved.length) {
    opts.note(
      `left out ${reserved.length} files under api/ or _fazt/: requests there go to the server code`,
    );
  }

  if (entry) {
    const source = readText(`${root}/${entry}`) ?? "";
    if (isScript(entry, source)) {
      // The original's scripts run as they are: api/*.js, uploaded unchanged.
      const api = await listFolder(`${root}/api`);
      for (const p of api.files.filter((f) => f.endsWith(".js"))) {
        entries.push({ path: `api/${p}`, source: `${root}/api/${p}` });
      }
    } else {
      const bundle = await bundleServer(root, entry);
      // What the bundler read is server code: never a static file, whatever its name.
      const graph = new Set(bundle.files.map((f) => normalPath(`${root}/${f}`)));
      const server = entries.filter((e) => e.source && graph.has(normalPath(e.source)));
      if (server.length) {
        entries = entries.filter((e) => !server.includes(e));
        const names = server.map((e) => e.path);
        opts.note(
          `left out ${server.length} file${server.length === 1 ? "" : "s"} of the server code ` +
            "from the static files: " +
            `${names.slice(0, 5).join(", ")}${names.length > 5 ? ", …" : ""}`,
        );
      }
      const enc = new TextEncoder();
      entries.push(
        { path: "api/main.js", data: enc.encode(asModule(bundle.code)) },
        { path: "_fazt/lock.json", data: enc.encode(JSON.stringify(bundle.lock, null, 2) + "\n") },
      );
      const packages = Object.keys(bundle.lock.npm).length + Object.keys(bundle.lock.jsr).length;
      opts.note(
        `bundled ${entry} (${bundle.modules} files, ${packages} packages)`,
      );
    }
  }

  const spa = opts.spa === true || manifest.spa;
  const uploaded = manifestText(text, opts.spa === true, deployStyle !== undefined);
  if (uploaded !== undefined) {
    if (entries.some((e) => MANIFEST_FILES.includes(e.path))) {
      throw new CliError(
        `the static root "${manifest.static}" has a file fazt would read as its manifest ` +
          `(${MANIFEST_FILES.join(" or ")}): rename it, or leave it out with .faztignore`,
        "MANIFEST_CONFLICT",
      );
    }
    entries.push({ path: manifestName, data: new TextEncoder().encode(uploaded) });
  }

  if (!spa && !deployStyle) {
    const reason = await singlePageReason({
      files: entries.map((e) => e.path),
      read: (path) => Deno.readTextFile(`${staticRoot}/${path}`),
      exists: (path) => exists(`${staticRoot}/${path}`),
    });
    if (reason) {
      opts.note(
        `this looks like a single-page app (${reason}): its client routes answer 404 on ` +
          `reload until the fallback is on: deploy with --spa, or put "spa": true in ${manifestName}`,
      );
    }
  }
  if (entries.length === 0) {
    throw new CliError(`'${dir}' has no files to deploy`, "EMPTY");
  }
  return {
    zip: await zipEntries(entries, { store: opts.store }),
    files: entries.length,
    skipped: listing.skipped,
    server: entry,
  };
}
