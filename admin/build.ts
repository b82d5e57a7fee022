/**
 * Builds the dashboard: bundles `admin/src/main.tsx` (Preact, uPlot, zip.js)
 * with `deno bundle --platform=browser --code-splitting` in a child process
 * (the entry, a chunk per page and the chunks they share, so a page loads only
 * the code it uses), joins the CSS, and writes them all into
 * `admin/dist/assets.ts`, which the server imports, so the program carries
 * its dashboard and nothing is fetched at run time.
 *
 *   deno task build:admin                 rebuild
 *   deno task build:admin --if-changed    rebuild only when sources changed
 *                                         (what `deno task start` runs first;
 *                                         a failed build keeps the committed one)
 *   deno task build:admin --check         exit 1 when the committed bundle is stale
 *   … --out FILE                          write elsewhere (tests)
 *
 * It runs with its own permissions, apart from the server's: the bundler
 * needs to run a binary and read the environment, which the server may not.
 * @module
 */

const ROOT = new URL("../", import.meta.url);
const SRC = new URL("src/", import.meta.url);
const DEFAULT_OUT = new URL("dist/assets.ts", import.meta.url);
/** The entry chunk `deno bundle` writes for `main.tsx`. */
const ENTRY = "main.js";
/** The CSS files, in cascade order. */
const CSS_FILES = ["uplot.css", "styles.css"];
/**
 * Files outside `src/` the bundle includes. (Type-only imports, such as
 * `server/api_types.ts`, add nothing to it.)
 */
const SHARED = ["lib/envelope.ts"];
/** Import-map entries whose versions change the bundle. */
const DEPENDENCIES = ["preact", "preact/", "uplot", "@zip.js/zip.js", "@zip.js/zip.js/"];

async function sha256(data: Uint8Array): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", data as BufferSource);
  return new Uint8Array(digest).toHex();
}

async function listSources(dir: URL, prefix = ""): Promise<string[]> {
  const out: string[] = [];
  for await (const entry of Deno.readDir(dir)) {
    const rel = prefix + entry.name;
    if (entry.isDirectory) {
      out.push(...await listSources(new URL(`${entry.name}/`, dir), `${rel}/`));
    } else if (entry.isFile) out.push(rel);
  }
  return out.sort();
}

/** A hash of everything the bundle is made from: sources, this script, dependency versions. */
export async function sourceHash(): Promise<string> {
  const enc = new TextEncoder();
  const parts: string[] = [];
  for (const rel of await listSources(SRC)) {
    parts.push(rel, await sha256(await Deno.readFile(new URL(rel, SRC))));
  }
  for (const rel of SHARED) parts.push(rel, await sha256(await Deno.readFile(new URL(rel, ROOT))));
  parts.push("build.ts", await sha256(await Deno.readFile(new URL("build.ts", import.meta.url))));
  const config = JSON.parse(await Deno.readTextFile(new URL("deno.json", ROOT)));
  for (const dep of DEPENDENCIES) parts.push(dep, String(config.imports?.[dep] ?? ""));
  return await sha256(enc.encode(parts.join("\n")));
}

/** The hash recorded in an existing assets file, if any. */
async function builtHash(out: URL): Promise<string | undefined> {
  try {
    const text = await Deno.readTextFile(out);
    return /^\s*hash: "([0-9a-f]{64})",$/m.exec(text)?.[1];
  } catch {
    return undefined;
  }
}

/** Drops comments and needless whitespace; the CSS here has no strings that care. */
function minifyCss(css: string): string {
  return css
    .replace(/\/\*[\s\S]*?\*\//g, "")
    .replace(/\s+/g, " ")
    .replace(/\s*([{}:;,>])\s*/g, "$1")
    .replace(/;}/g, "}")
    .trim();
}

/** The bundle's files by name (`main.js` is the entry; chunks import each other relatively). */
async function bundleJs(): Promise<Record<string, string>> {
  const dir = await Deno.makeTempDir({ prefix: "fazt-admin-" });
  try {
    const { code, stderr } = await new Deno.Command(Deno.execPath(), {
      args: [
        "bundle",
        "--quiet",
        "--platform=browser",
        "--minify",
        "--code-splitting",
        "--config",
        new URL("deno.json", ROOT).pathname,
        "--outdir",
        dir,
        new URL("main.tsx", SRC).pathname,
      ],
      stdout: "piped",
      stderr: "piped",
      env: { NO_COLOR: "1" },
    }).output();
    if (code !== 0) {
      throw new Error(`deno bundle failed:\n${new TextDecoder().decode(stderr).slice(0, 4000)}`);
    }
    const files: Record<string, string> = {};
    for (const name of (await listSources(new URL(`file://${dir}/`))).sort()) {
      if (!/^[\w-]+\.js$/.test(name)) throw new Error(`unexpected bundle output: ${name}`);
      files[name] = await Deno.readTextFile(`${dir}/${name}`);
    }
    if (!files[ENTRY]) throw new Error(`deno bundle wrote no ${ENTRY}`);
    return files;
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** Builds and writes the assets module; returns its hash and sizes. */
export async function build(
  out: URL = DEFAULT_OUT,
): Promise<{ hash: string; js: number; chunks: number; css: number }> {
  const hash = await sourceHash();
  const js = await bundleJs();
  let css = "";
  for (const name of CSS_FILES) css += await Deno.readTextFile(new URL(name, SRC)) + "\n";
  css = minifyCss(css);
  const text =
    `// Generated by admin/build.ts from admin/src: do not edit; run \`deno task build:admin\`.
// deno-fmt-ignore-file
// deno-lint-ignore-file
export const ADMIN_ASSETS: {
  hash: string;
  entry: string;
  js: Record<string, string>;
  css: string;
} = {
  hash: "${hash}",
  entry: "${ENTRY}",
  js: {
${Object.entries(js).map(([name, text]) => `    "${name}": ${JSON.stringify(text)},`).join("\n")}
  },
  css: ${JSON.stringify(css)},
};
`;
  await Deno.mkdir(new URL(".", out), { recursive: true });
  const tmp = new URL(`${out.pathname.split("/").pop()}.tmp`, out);
  await Deno.writeTextFile(tmp, text);
  await Deno.rename(tmp, out);
  const jsBytes = Object.values(js).reduce((n, text) => n + text.length, 0);
  return { hash, js: jsBytes, chunks: Object.keys(js).length, css: css.length };
}

async function cli(args: string[]): Promise<number> {
  const outIndex = args.indexOf("--out");
  const out = outIndex >= 0 ? new URL(args[outIndex + 1], `file://${Deno.cwd()}/`) : DEFAULT_OUT;
  if (args.includes("--check")) {
    const [want, have] = [await sourceHash(), await builtHash(out)];
    if (want === have) return 0;
    console.error("admin/dist/assets.ts is stale: run `deno task build:admin`");
    return 1;
  }
  if (args.includes("--if-changed") && await builtHash(out) === await sourceHash()) return 0;
  try {
    const t0 = performance.now();
    const r = await build(out);
    console.error(
      `admin bundle built: ${r.js} bytes JS in ${r.chunks} chunks, ${r.css} bytes CSS in ${
        Math.round(performance.now() - t0)
      } ms`,
    );
    return 0;
  } catch (err) {
    console.error(`admin bundle: ${err instanceof Error ? err.message : err}`);
    if (args.includes("--if-changed")) {
      console.error("keeping the bundle built before (the dashboard may be out of date)");
      return 0;
    }
    return 1;
  }
}

if (import.meta.main) Deno.exit(await cli(Deno.args));
