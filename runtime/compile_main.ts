/**
 * The compiler process: bundles an app's server code with esbuild from the
 * files it is given on stdin (never from disk), so TypeScript and relative
 * imports work and a syntax or import error is caught at deploy time. A
 * bundle `fazt deploy` made arrives as `api/main.js` with its source map
 * inline; esbuild carries that map through, so the map written here still
 * points at the developer's files.
 * Input: `{"mode": "bundle", "entry": "api/main.ts", "files": {"api/main.ts": "…"}, "esbuildBinary"?: "…"}`.
 * Output: `{"ok": true, "code": "…", "map": "…", "exports": [...]}` or
 * `{"ok": false, "errors": [...], "unresolved": [...]}`.
 */
import type * as Esbuild from "esbuild";

interface Input {
  mode: "bundle" | "script";
  entry: string;
  files: Record<string, string>;
  /** esbuild's executable, when fazt runs as a bundle and esbuild cannot find its own. */
  esbuildBinary?: string;
}

export interface CompileOutput {
  ok: boolean;
  code?: string;
  /** The source map of `code` (JSON), without the sources' text. */
  map?: string;
  exports?: string[];
  errors?: string[];
  /** Imports the node cannot resolve (packages, URLs): `fazt deploy` bundles them. */
  unresolved?: string[];
}

const LOADERS: Record<string, Esbuild.Loader> = {
  ts: "ts",
  mts: "ts",
  tsx: "tsx",
  js: "js",
  mjs: "js",
  jsx: "jsx",
  json: "json",
};

function resolve(importer: string, spec: string): string {
  const parts = importer.split("/").slice(0, -1);
  for (const seg of spec.split("/")) {
    if (seg === "..") parts.pop();
    else if (seg !== ".") parts.push(seg);
  }
  return parts.join("/");
}

/** Deno's built-in Node modules stay imports: the Worker has them, under its permissions. */
function isBuiltin(spec: string): boolean {
  return /^node:[a-z_/]+$/.test(spec);
}

function vfs(files: Record<string, string>, unresolved: Set<string>): Esbuild.Plugin {
  return {
    name: "fazt-vfs",
    setup(build) {
      build.onResolve({ filter: /.*/ }, (args) => {
        if (args.kind === "entry-point") return { path: args.path, namespace: "app" };
        if (isBuiltin(args.path)) return { path: args.path, external: true };
        if (!args.path.startsWith("./") && !args.path.startsWith("../")) {
          unresolved.add(args.path);
          return {
            errors: [{
              text: `cannot import "${args.path}": the node does not download packages; ` +
                "deploy with `fazt deploy`, which bundles dependencies into the upload",
            }],
          };
        }
        const path = resolve(args.importer, args.path);
        const found = [path, `${path}.ts`, `${path}.js`, `${path}/index.ts`, `${path}/index.js`]
          .find((p) => p in files);
        if (!found) {
          return { errors: [{ text: `cannot find "${args.path}" (from ${args.importer})` }] };
        }
        return { path: found, namespace: "app" };
      });
      build.onLoad({ filter: /.*/, namespace: "app" }, (args) => ({
        contents: files[args.path],
        loader: LOADERS[args.path.split(".").pop() ?? ""] ?? "js",
      }));
    },
  };
}

function describe(m: Esbuild.Message): string {
  const file = m.location?.file.replace(/^app:/, "");
  const at = m.location ? `${file}:${m.location.line}:${m.location.column + 1}: ` : "";
  return `${at}${m.text}`;
}

/** The map's sources as the app's own paths (`api/main.ts`), not esbuild's `app:` namespace. */
function cleanMap(text: string): string {
  const map = JSON.parse(text);
  map.sources = (map.sources as string[]).map((s) => s.replace(/^app:/, ""));
  delete map.sourcesContent;
  return JSON.stringify(map);
}

async function compile(input: Input): Promise<CompileOutput> {
  // Set before esbuild loads: it reads the variable once, when it starts.
  if (input.esbuildBinary) Deno.env.set("ESBUILD_BINARY_PATH", input.esbuildBinary);
  const esbuild = await import("esbuild");
  const unresolved = new Set<string>();
  try {
    const result = await esbuild.build({
      entryPoints: [input.entry],
      bundle: true,
      write: false,
      format: "esm",
      platform: "neutral",
      target: "es2022",
      logLevel: "silent",
      metafile: true,
      outfile: "app.js",
      sourcemap: "external",
      sourcesContent: false,
      plugins: [vfs(input.files, unresolved)],
    });
    const js = result.outputFiles.find((f) => f.path.endsWith(".js"))!;
    const map = result.outputFiles.find((f) => f.path.endsWith(".map"));
    const output = Object.values(result.metafile!.outputs).find((o) => o.entryPoint);
    return {
      ok: true,
      code: js.text,
      map: map && cleanMap(map.text),
      exports: output?.exports ?? [],
    };
  } catch (err) {
    const failure = err as Esbuild.BuildFailure;
    return {
      ok: false,
      errors: (failure.errors ?? [{ text: String(err) }]).map(describe),
      unresolved: [...unresolved],
    };
  } finally {
    await esbuild.stop();
  }
}

/**
 * Original-style scripts run as they are, per request; only their syntax is
 * checked here (parsing a Function body runs nothing).
 */
function checkScripts(input: Input): CompileOutput {
  const errors: string[] = [];
  for (const [path, source] of Object.entries(input.files)) {
    try {
      new Function("request", "respond", "require", "fazt", source);
    } catch (err) {
      errors.push(`${path}: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
  return errors.length ? { ok: false, errors } : { ok: true, code: "", exports: [] };
}

export async function runCompiler(): Promise<void> {
  const input = JSON.parse(await new Response(Deno.stdin.readable).text()) as Input;
  const out = input.mode === "script" ? checkScripts(input) : await compile(input);
  await Deno.stdout.write(new TextEncoder().encode(JSON.stringify(out)));
}

if (import.meta.main) await runCompiler();
