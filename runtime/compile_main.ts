/**
 * The compiler process: bundles an app's server code with esbuild from the
 * files it is given on stdin (never from disk), so TypeScript and relative
 * imports work and a syntax or import error is caught at deploy time.
 * Input: `{"entry": "api/main.ts", "files": {"api/main.ts": "…"}}`.
 * Output: `{"ok": true, "code": "…", "exports": [...]}` or `{"ok": false, "errors": [...]}`.
 */
import * as esbuild from "esbuild";

interface Input {
  mode: "bundle" | "script";
  entry: string;
  files: Record<string, string>;
}

const LOADERS: Record<string, esbuild.Loader> = {
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

function vfs(files: Record<string, string>): esbuild.Plugin {
  return {
    name: "fazt-vfs",
    setup(build) {
      build.onResolve({ filter: /.*/ }, (args) => {
        if (args.kind === "entry-point") return { path: args.path, namespace: "app" };
        if (!args.path.startsWith("./") && !args.path.startsWith("../")) {
          return {
            errors: [{
              text:
                `cannot import "${args.path}": apps may import only their own files, by relative path`,
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

function describe(m: esbuild.Message): string {
  const file = m.location?.file.replace(/^app:/, "");
  const at = m.location ? `${file}:${m.location.line}:${m.location.column + 1}: ` : "";
  return `${at}${m.text}`;
}

async function compile(input: Input) {
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
      plugins: [vfs(input.files)],
    });
    const output = Object.values(result.metafile!.outputs)[0];
    return { ok: true, code: result.outputFiles[0].text, exports: output?.exports ?? [] };
  } catch (err) {
    const failure = err as esbuild.BuildFailure;
    return { ok: false, errors: (failure.errors ?? [{ text: String(err) }]).map(describe) };
  } finally {
    await esbuild.stop();
  }
}

/**
 * Original-style scripts run as they are, per request; only their syntax is
 * checked here (parsing a Function body runs nothing).
 */
function checkScripts(input: Input) {
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
