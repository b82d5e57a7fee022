import assert from "node:assert/strict";
import * as esbuild from "esbuild";
import { APP_MODULE_FRAGMENT, mapStackTrace, SourceMap, SourceMapError } from "./source_map.ts";

const MAIN = [
  'import { fail } from "./lib.ts";',
  "",
  "// Some lines so positions differ between the source and the bundle.",
  "interface Shape {",
  "  n: number;",
  "}",
  "export function run(shape: Shape): number {",
  "  if (shape.n > 1) fail(shape.n);",
  '  throw new Error("in main");',
  "}",
  "",
].join("\n");
const LIB = [
  "type Code = number;",
  "",
  "export function fail(code: Code): never {",
  '  throw new RangeError("in lib " + code);',
  "}",
  "",
].join("\n");

/** Bundles MAIN and LIB the way the compiler does: code and an external map. */
async function bundle(): Promise<{ code: string; map: string }> {
  const files: Record<string, string> = { "api/main.ts": MAIN, "api/lib.ts": LIB };
  try {
    const out = await esbuild.build({
      entryPoints: ["api/main.ts"],
      bundle: true,
      write: false,
      format: "esm",
      outfile: "app.js",
      sourcemap: "external",
      sourcesContent: false,
      logLevel: "silent",
      plugins: [{
        name: "files",
        setup(b) {
          b.onResolve({ filter: /.*/ }, (a) => ({
            path: a.kind === "entry-point" ? a.path : `api/${a.path.slice(2)}`,
            namespace: "app",
          }));
          b.onLoad({ filter: /.*/, namespace: "app" }, (a) => ({
            contents: files[a.path],
            loader: "ts",
          }));
        },
      }],
    });
    const js = out.outputFiles.find((f) => f.path.endsWith(".js"))!.text;
    const map = out.outputFiles.find((f) => f.path.endsWith(".map"))!.text;
    return { code: js, map: map.replaceAll('"app:', '"') };
  } finally {
    await esbuild.stop();
  }
}

/** The 1-based line and column of `needle` in `text`. */
function positionOf(text: string, needle: string): { line: number; column: number } {
  const at = text.indexOf(needle);
  assert.ok(at >= 0, `${needle} is in the text`);
  const before = text.slice(0, at).split("\n");
  return { line: before.length, column: before.at(-1)!.length + 1 };
}

Deno.test("a position in the bundle maps back to the file and line it came from", async () => {
  const { code, map } = await bundle();
  const sm = SourceMap.parse(map);
  assert.deepEqual([...sm.sources].sort(), ["api/lib.ts", "api/main.ts"]);
  const inMain = positionOf(code, 'new Error("in main")');
  assert.deepEqual(sm.lookup(inMain.line, inMain.column), {
    source: "api/main.ts",
    ...positionOf(MAIN, 'new Error("in main")'),
  });
  const inLib = positionOf(code, "new RangeError");
  assert.deepEqual(sm.lookup(inLib.line, inLib.column), {
    source: "api/lib.ts",
    ...positionOf(LIB, "new RangeError"),
  });
  assert.equal(sm.lookup(10_000, 1), undefined, "past the last line");
});

Deno.test("a real stack trace from a Worker names the app's files, not the blob", async () => {
  const { code, map } = await bundle();
  const worker = new Worker(
    URL.createObjectURL(
      new Blob([
        `self.onmessage = async (e) => {
          const url = URL.createObjectURL(new Blob([e.data], { type: "text/javascript" }));
          const mod = await import(url + ${JSON.stringify(APP_MODULE_FRAGMENT)});
          const stacks = [];
          for (const n of [1, 2]) {
            try { mod.run({ n }); } catch (err) { stacks.push(err.stack); }
          }
          self.postMessage(stacks);
        };`,
      ], { type: "text/javascript" }),
    ),
    { type: "module" },
  );
  const stacks = await new Promise<string[]>((resolve, reject) => {
    worker.onmessage = (e) => resolve(e.data);
    worker.onerror = (e) => reject(e);
    worker.postMessage(code);
  }).finally(() => worker.terminate());
  const sm = SourceMap.parse(map);
  const [mainStack, libStack] = stacks.map((s) => mapStackTrace(s, sm));
  const main = positionOf(MAIN, 'new Error("in main")');
  assert.match(
    mainStack,
    new RegExp(`at (?:Module\\.)?run \\(api/main\\.ts:${main.line}:${main.column}\\)`),
  );
  const lib = positionOf(LIB, "new RangeError");
  const call = positionOf(MAIN, "fail(shape.n)");
  assert.match(
    libStack,
    new RegExp(`at (?:Module\\.)?fail \\(api/lib\\.ts:${lib.line}:${lib.column}\\)`),
  );
  assert.match(
    libStack,
    new RegExp(`at (?:Module\\.)?run \\(api/main\\.ts:${call.line}:${call.column}\\)`),
  );
  // The harness's own frame (another blob: URL) is left alone.
  assert.match(mainStack, /at self\.onmessage \(blob:[^#)]+:\d+:\d+\)/);
  assert.doesNotMatch(mainStack + libStack, new RegExp(APP_MODULE_FRAGMENT));
});

Deno.test("frames of other URLs stay as they were; positions the map does not cover are generated code", () => {
  // One segment: generated 1:1 is api/main.ts 3:5 ("AAEI" = [0, 0, 2, 4]).
  const sm = SourceMap.parse(
    JSON.stringify({ version: 3, sources: ["api/main.ts"], names: [], mappings: "AAEI" }),
  );
  const text = [
    "Error: x",
    `    at f (blob:null/1234${APP_MODULE_FRAGMENT}:1:7)`,
    `    at g (blob:null/1234${APP_MODULE_FRAGMENT}:9:1)`,
    "    at h (blob:null/5678:1:7)",
    "    at ext:core/01_core.js:1:1",
  ].join("\n");
  assert.equal(
    mapStackTrace(text, sm),
    [
      "Error: x",
      "    at f (api/main.ts:3:5)",
      "    at g (<generated>:9:1)",
      "    at h (blob:null/5678:1:7)",
      "    at ext:core/01_core.js:1:1",
    ].join("\n"),
  );
  assert.equal(mapStackTrace("no stack here", sm), "no stack here");
});

Deno.test("negative deltas, several lines and unsorted segments decode", () => {
  // Line 1: col 4 → src 0 line 0 col 0; col 0 → src 0 line 1 col 2 (unsorted on purpose).
  // Line 2 (after ';'): col 2 → back to line 0 col 1.
  const mappings = ["IAAA", "JACE"].join(",") + ";EADD";
  const sm = SourceMap.parse(JSON.stringify({ version: 3, sources: ["a.ts"], mappings }));
  assert.deepEqual(sm.lookup(1, 1), { source: "a.ts", line: 2, column: 3 });
  assert.deepEqual(sm.lookup(1, 5), { source: "a.ts", line: 1, column: 1 });
  assert.deepEqual(sm.lookup(1, 99), { source: "a.ts", line: 1, column: 1 });
  assert.deepEqual(sm.lookup(2, 3), { source: "a.ts", line: 1, column: 2 });
  assert.equal(sm.lookup(2, 1), undefined, "before the line's first segment");
});

Deno.test("maps that cannot be read are refused with a SourceMapError", () => {
  const bad = [
    "not json",
    "null",
    JSON.stringify({ version: 2, sources: [], mappings: "" }),
    JSON.stringify({ version: 3, sources: ["a"] }),
    JSON.stringify({ version: 3, sources: ["a"], mappings: "A!AA" }),
    JSON.stringify({ version: 3, sources: ["a"], mappings: "AAAA,AC" }),
    JSON.stringify({ version: 3, sources: ["a"], mappings: "ACAA" }),
    JSON.stringify({ version: 3, sources: ["a"], mappings: "g" }),
    JSON.stringify({ version: 3, sources: ["a"], mappings: "AAAAAA" }),
    JSON.stringify({ version: 3, sections: [] }),
  ];
  for (const text of bad) assert.throws(() => SourceMap.parse(text), SourceMapError, text);
});

Deno.test("the Worker marks the app module with the fragment the server looks for", async () => {
  const { APP_MODULE_FRAGMENT: workerFragment } = await import("./worker/app_module.ts");
  assert.equal(workerFragment, APP_MODULE_FRAGMENT);
});
