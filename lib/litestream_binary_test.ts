import assert from "node:assert/strict";
import { findLitestream, litestreamInstallHint, LitestreamNotFound } from "./litestream_binary.ts";

/** Runs `fn` with PATH and HOME pointing into `dir` only. */
function withEnv<T>(path: string, home: string, fn: () => T): T {
  const saved = { PATH: Deno.env.get("PATH"), HOME: Deno.env.get("HOME") };
  Deno.env.set("PATH", path);
  Deno.env.set("HOME", home);
  try {
    return fn();
  } finally {
    for (const [k, v] of Object.entries(saved)) {
      v === undefined ? Deno.env.delete(k) : Deno.env.set(k, v);
    }
  }
}

function executable(path: string): void {
  Deno.mkdirSync(path.slice(0, path.lastIndexOf("/")), { recursive: true });
  Deno.writeTextFileSync(path, "#!/bin/sh\necho v0.3.13\n", { mode: 0o755 });
}

const platform = `${Deno.build.os}-${Deno.build.arch === "aarch64" ? "arm64" : "x64"}`;

Deno.test("litestream_path wins; a path that is not an executable is refused with the hint", () => {
  const dir = Deno.makeTempDirSync();
  try {
    executable(`${dir}/bin/litestream`);
    assert.equal(findLitestream(`${dir}/bin/litestream`), `${dir}/bin/litestream`);
    Deno.writeTextFileSync(`${dir}/plain`, "x", { mode: 0o644 });
    for (const bad of [`${dir}/plain`, `${dir}/missing`, dir]) {
      assert.throws(() => findLitestream(bad), (err: unknown) => {
        assert.ok(err instanceof LitestreamNotFound);
        assert.match(
          err.message,
          /configured \(litestream_path, or --litestream\) is not an executable file/,
        );
        assert.match(err.message, /npm install -g @flydotio\/litestream@1\.0\.1/);
        return true;
      });
    }
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("on PATH, npm's node wrapper leads to the binary in the platform package", () => {
  const dir = Deno.makeTempDirSync();
  try {
    const modules = `${dir}/prefix/lib/node_modules/@flydotio`;
    Deno.mkdirSync(`${modules}/litestream`, { recursive: true });
    Deno.writeTextFileSync(`${modules}/litestream/index.js`, "#!/usr/bin/env node\n", {
      mode: 0o755,
    });
    executable(`${modules}/litestream-${platform}/litestream`);
    Deno.mkdirSync(`${dir}/prefix/bin`);
    Deno.symlinkSync(`${modules}/litestream/index.js`, `${dir}/prefix/bin/litestream`);
    const found = withEnv(
      `${dir}/empty:${dir}/prefix/bin`,
      `${dir}/home`,
      () => findLitestream("auto"),
    );
    assert.equal(found, Deno.realPathSync(`${modules}/litestream-${platform}/litestream`));
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("without PATH it looks in npm's global folders under HOME; else the install hint", () => {
  const dir = Deno.makeTempDirSync();
  try {
    assert.throws(
      () => withEnv(`${dir}/nothing`, `${dir}/home`, () => findLitestream("auto")),
      (err: unknown) =>
        err instanceof LitestreamNotFound && err.message === litestreamInstallHint(),
    );
    const bin =
      `${dir}/home/.npm-global/lib/node_modules/@flydotio/litestream-${platform}/litestream`;
    executable(bin);
    assert.equal(withEnv(`${dir}/nothing`, `${dir}/home`, () => findLitestream("auto")), bin);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("the install hint names the npm package and the release archive", () => {
  const hint = litestreamInstallHint();
  assert.match(hint, /npm install -g @flydotio\/litestream@1\.0\.1/);
  assert.match(hint, /litestream-v0\.3\.13-(linux|darwin)-(amd64|arm64)\.tar\.gz/);
  assert.match(hint, /releases\/tag\/v0\.3\.13/);
  assert.match(hint, /fazt server config litestream_path/);
});
