/**
 * Builds the app Worker's bootstrap: bundles `runtime/worker/mod.ts` with
 * esbuild into one ES module and writes its source text into
 * `runtime/worker/dist/bootstrap.ts`, which the app host imports and starts
 * from a blob: URL (the Worker may read no files, so it gets text).
 *
 *   deno task build:worker                 rebuild
 *   deno task build:worker --if-changed    rebuild only when sources changed
 *                                          (what `deno task start` runs first)
 *   deno task build:worker --check         exit 1 when the committed file is stale
 *   … --out FILE                           write elsewhere (tests)
 *
 * The Worker's code is this folder, and the few modules of `SHARED`: the
 * build refuses any other run-time import from outside it (type imports
 * are erased and free).
 * @module
 */

const ROOT = new URL("../../", import.meta.url);
const DIR = new URL("./", import.meta.url);
const ENTRY = new URL("mod.ts", DIR);
const DEFAULT_OUT = new URL("dist/bootstrap.ts", DIR);
/** Import-map entries whose versions change the bundle. */
const DEPENDENCIES = ["esbuild"];
/**
 * The modules outside this folder the Worker may import at run time (from
 * the repository's root): the one error writer and the runtime's typed
 * front to it, so an error the Worker answers for its app has the same
 * envelope and headers as every other. Each imports only what is listed.
 */
export const SHARED = ["runtime/problem.ts", "lib/error_response.ts"];

async function sha256(data: Uint8Array): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", data as BufferSource);
  return new Uint8Array(digest).toHex();
}

/** The folder's source files, relative to it: everything but `dist/` and tests. */
async function listSources(dir: URL = DIR, prefix = ""): Promise<string[]> {
  const out: string[] = [];
  for await (const entry of Deno.readDir(dir)) {
    const rel = prefix + entry.name;
    if (entry.isDirectory && rel !== "dist") {
      out.push(...await listSources(new URL(`${entry.name}/`, dir), `${rel}/`));
    } else if (entry.isFile && rel.endsWith(".ts") && !rel.endsWith("_test.ts")) out.push(rel);
  }
  return out.sort();
}

/** A hash of everything the bundle is made from: sources, this script, dependency versions. */
export async function sourceHash(): Promise<string> {
  const parts: string[] = [];
  for (const rel of await listSources()) {
    parts.push(rel, await sha256(await Deno.readFile(new URL(rel, DIR))));
  }
  for (const rel of SHARED) {
    parts.push(rel, await sha256(await Deno.readFile(new URL(rel, ROOT))));
  }
  const config = JSON.parse(await Deno.readTextFile(new URL("deno.json", ROOT)));
  for (const dep of DEPENDENCIES) parts.push(dep, String(config.imports?.[dep] ?? ""));
  return await sha256(new TextEncoder().encode(parts.join("\n")));
}

/** The hash recorded in an existing bootstrap file, if any. */
async function builtHash(out: URL): Promise<string | undefined> {
  try {
    const text = await Deno.readTextFile(out);
    return /^export const WORKER_HASH = "([0-9a-f]{64})";$/m.exec(text)?.[1];
  } catch {
    return undefined;
  }
}

/**
 * The bundle's source text; `entry` must import nothing outside `folder` at
 * run time but the modules of `shared` (paths from the repository's root).
 */
export async function bundle(
  entry: URL = ENTRY,
  folder: URL = DIR,
  shared: string[] = SHARED,
): Promise<string> {
  // Loaded here only: --check and --if-changed need no esbuild.
  const esbuild = await import("esbuild");
  try {
    const result = await esbuild.build({
      entryPoints: [entry.pathname],
      // Paths in the output's comments and the metafile: from the repository's root.
      absWorkingDir: ROOT.pathname,
      bundle: true,
      write: false,
      format: "esm",
      platform: "neutral",
      // Deno's own modules, imported at run time (`node:v8` for Deno KV values).
      external: ["node:v8"],
      target: "esnext",
      charset: "utf8",
      legalComments: "none",
      logLevel: "silent",
      metafile: true,
    });
    const allowed = new Set(shared.map((p) => new URL(p, ROOT).href));
    const outside = Object.keys(result.metafile.inputs)
      .map((p) => new URL(p, ROOT).href)
      .filter((href) => !href.startsWith(folder.href) && !allowed.has(href));
    if (outside.length) {
      throw new Error(
        `the Worker's code imports ${
          outside.map((href) => new URL(href).pathname).join(", ")
        } at run time; ` +
          `it must live in ${folder.pathname} or be SHARED (type imports are fine)`,
      );
    }
    return result.outputFiles[0].text;
  } finally {
    await esbuild.stop();
  }
}

/** The source as one JSON string per line, so a rebuild's diff reads line by line. */
function lines(source: string): string {
  return source.replace(/\n$/, "").split("\n").map((l) => `  ${JSON.stringify(l)},`).join("\n");
}

/** Builds and writes the bootstrap module; returns its hash and size. */
export async function build(out: URL = DEFAULT_OUT): Promise<{ hash: string; bytes: number }> {
  const hash = await sourceHash();
  const source = await bundle();
  const text =
    `// Generated by runtime/worker/build.ts from runtime/worker/: do not edit; run \`deno task build:worker\`.
// deno-fmt-ignore-file
// deno-lint-ignore-file
/** The hash of the sources this was built from (see runtime/worker/build.ts). */
export const WORKER_HASH = "${hash}";
/** The app Worker's bootstrap: one ES module, as source text. */
export const WORKER_SOURCE: string = [
${lines(source)}
].join("\\n");
`;
  await Deno.mkdir(new URL(".", out), { recursive: true });
  const tmp = new URL(`${out.pathname.split("/").pop()}.tmp`, out);
  await Deno.writeTextFile(tmp, text);
  await Deno.rename(tmp, out);
  return { hash, bytes: source.length };
}

async function cli(args: string[]): Promise<number> {
  const outIndex = args.indexOf("--out");
  const out = outIndex >= 0 ? new URL(args[outIndex + 1], `file://${Deno.cwd()}/`) : DEFAULT_OUT;
  if (args.includes("--check")) {
    const [want, have] = [await sourceHash(), await builtHash(out)];
    if (want === have) return 0;
    console.error("runtime/worker/dist/bootstrap.ts is stale: run `deno task build:worker`");
    return 1;
  }
  if (args.includes("--if-changed") && await builtHash(out) === await sourceHash()) return 0;
  try {
    const r = await build(out);
    console.error(`worker bootstrap built: ${r.bytes} bytes`);
    return 0;
  } catch (err) {
    console.error(`worker bootstrap: ${err instanceof Error ? err.message : err}`);
    return 1;
  }
}

if (import.meta.main) Deno.exit(await cli(Deno.args));
