import assert from "node:assert/strict";
import { RELEASE_TARGETS } from "./release_target.ts";
import { ESBUILD_VERSION, esbuildPackage } from "./esbuild_package.ts";

Deno.test("the pinned esbuild executable is the version of npm:esbuild in deno.json", async () => {
  const config = JSON.parse(await Deno.readTextFile(new URL("../deno.json", import.meta.url)));
  assert.equal(config.imports.esbuild, `npm:esbuild@${ESBUILD_VERSION}`);
});

Deno.test("every release target has a pinned esbuild executable", () => {
  for (const t of RELEASE_TARGETS) {
    const pkg = esbuildPackage(t.os, t.arch);
    assert.ok(pkg, t.id);
    assert.match(pkg.integrity, /^sha512-[A-Za-z0-9+/]{86}==$/);
    assert.equal(pkg.file, t.os === "windows" ? "esbuild.exe" : "esbuild");
  }
  assert.equal(esbuildPackage("freebsd", "x86_64"), undefined);
});
