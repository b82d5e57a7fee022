import type { Build } from "../storage/mod.ts";
import type { CompileOutput } from "./compile_main.ts";
import { esbuildBinary } from "./esbuild_binary.ts";
import { spawnFazt } from "./spawn.ts";

/** Where an app's server code starts, in order of preference. */
export const SERVER_ENTRIES = ["api/main.ts", "api/main.js", "api/main.mjs", "api/main.tsx"];

export class CompileError extends Error {
  /**
   * `errors`: the compiler's messages; `unresolved`: imports of packages or
   * URLs, which only `fazt deploy` (bundling on the developer's machine) can
   * resolve.
   */
  constructor(readonly errors: string[], readonly unresolved: string[] = []) {
    super(errors.slice(0, 5).join("; "));
  }
}

const decoder = new TextDecoder("utf-8", { fatal: false });

/**
 * An original-style `api/main.js` is a script run per request for its
 * completion value, with no `import`/`export`; anything else is a module.
 */
function isScript(entry: string, source: string): boolean {
  return entry === "api/main.js" && !/^\s*(export|import)\s/m.test(source);
}

/**
 * Compiles an app's server code in a separate process (esbuild needs to run
 * a binary and read the environment, which the server itself may not).
 * Returns `undefined` when the app has no server code. A module's build
 * carries its source map, for stack traces.
 */
export async function compileServerCode(
  files: { path: string; data: Uint8Array }[],
): Promise<Build | undefined> {
  const byPath = new Map(files.map((f) => [f.path, f.data]));
  const entry = SERVER_ENTRIES.find((p) => byPath.has(p));
  if (!entry) return undefined;
  const sources: Record<string, string> = {};
  for (const f of files) {
    if (f.path.startsWith("api/") && /\.(m?[jt]sx?|json)$/.test(f.path)) {
      sources[f.path] = decoder.decode(f.data);
    }
  }
  const style = isScript(entry, sources[entry]) ? "script" : "module";
  if (style === "script") {
    for (const path of Object.keys(sources)) if (!path.endsWith(".js")) delete sources[path];
  }
  const out = await runCompiler({
    mode: style === "script" ? "script" : "bundle",
    entry,
    files: sources,
    esbuildBinary: style === "module" ? await esbuildBinary() : undefined,
  });
  if (!out.ok) throw new CompileError(out.errors ?? ["the compiler failed"], out.unresolved);
  return style === "script"
    ? { style, entry, code: "", scripts: sources }
    : { style, entry, code: out.code ?? "", sourceMap: out.map };
}

async function runCompiler(input: unknown): Promise<CompileOutput> {
  const child = spawnFazt("compile", [
    "--allow-read",
    "--allow-env",
    "--allow-run",
    "--deny-net",
    "--deny-write",
  ]);
  const writer = child.stdin.getWriter();
  await writer.write(new TextEncoder().encode(JSON.stringify(input)));
  await writer.close();
  const { code, stdout, stderr } = await child.output();
  if (code !== 0) {
    throw new Error(`the compiler exited with ${code}: ${decoder.decode(stderr).slice(0, 2000)}`);
  }
  return JSON.parse(decoder.decode(stdout));
}
