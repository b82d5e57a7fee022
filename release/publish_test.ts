/**
 * What `deno run -A jsr:@fazt/cli` needs: the package publishes (license,
 * no slow types, exports), runs the CLI by default, and says the version
 * the program reports.
 */
import assert from "node:assert/strict";
import { VERSION } from "../version.ts";

const ROOT = new URL("..", import.meta.url);

Deno.test("deno.json names the package, its version and its license; '.' is the CLI", async () => {
  const config = JSON.parse(await Deno.readTextFile(new URL("deno.json", ROOT)));
  assert.equal(config.name, "@fazt/cli");
  assert.equal(config.version, VERSION, "the package's version is the program's");
  assert.equal(typeof config.license, "string");
  assert.equal(config.exports["."], "./main.ts");
  assert.equal(config.exports["./mod"], "./mod.ts");
});

Deno.test("deno publish --dry-run passes", async () => {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["publish", "--dry-run", "--allow-dirty"],
    cwd: ROOT,
    env: { NO_COLOR: "1" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
  assert.equal(out.code, 0, text);
  assert.match(text, /Simulating publish of @fazt\/cli@/);
  const files = [...text.matchAll(/file:\/\/(\S+) \(/g)].map((m) =>
    m[1].replace(ROOT.pathname, "")
  );
  assert.ok(files.includes("main.ts") && files.includes("mod.ts"), text);
  assert.ok(files.includes("server/release_candidate.ts"), "folders are published");
  assert.ok(!files.some((f) => f.endsWith("_test.ts") || f.startsWith("tests/")), "no tests");
  // The one warning: the Worker imports an app's own compiled code from a blob: URL at run
  // time, which no publish step can (or needs to) rewrite.
  const warnings = [...text.matchAll(/warning\[([a-z-]+)\][\s\S]*?--> (\S+):\d+:\d+/g)]
    .map((m) => `${m[1]} ${m[2].replace(ROOT.pathname, "").split("/")[0]}/`);
  assert.deepEqual(warnings, ["unanalyzable-dynamic-import runtime/"]);
});
