import assert from "node:assert/strict";
import { bundle } from "./build.ts";

const ROOT = new URL("../../", import.meta.url).pathname;
const COMMITTED = new URL("dist/bootstrap.ts", import.meta.url);
const BUILD_FLAGS = ["run", "--allow-read", "--allow-write", "--allow-env", "--allow-run"];

function build(...args: string[]): Promise<Deno.CommandOutput> {
  return new Deno.Command(Deno.execPath(), {
    args: [...BUILD_FLAGS, "--no-prompt", "runtime/worker/build.ts", ...args],
    cwd: ROOT,
    stdout: "piped",
    stderr: "piped",
  }).output();
}

const stderr = (out: Deno.CommandOutput) => new TextDecoder().decode(out.stderr);

Deno.test("the committed Worker bootstrap matches runtime/worker (run `deno task build:worker`)", async () => {
  const out = await build("--check");
  assert.equal(out.code, 0, stderr(out));
});

Deno.test("the build gives exactly the committed bootstrap, and --if-changed keeps it", async () => {
  const dir = await Deno.makeTempDir({ prefix: "fazt-worker-build-" });
  try {
    const target = `${dir}/bootstrap.ts`;
    const out = await build("--out", target);
    assert.equal(out.code, 0, stderr(out));
    assert.equal(await Deno.readTextFile(target), await Deno.readTextFile(COMMITTED));
    const built = await import(`file://${target}`);
    assert.ok(built.WORKER_SOURCE.includes("scope.onmessage"), "the bootstrap holds the Worker");
    assert.ok(!/^\s*import\s/m.test(built.WORKER_SOURCE), "no import left in the bundle");
    const before = (await Deno.stat(target)).mtime!.getTime();
    const again = await build("--if-changed", "--out", target);
    assert.equal(again.code, 0, stderr(again));
    assert.equal((await Deno.stat(target)).mtime!.getTime(), before);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("--check refuses a bootstrap built from other sources", async () => {
  const dir = await Deno.makeTempDir({ prefix: "fazt-worker-stale-" });
  try {
    const target = `${dir}/bootstrap.ts`;
    const text = await Deno.readTextFile(COMMITTED);
    await Deno.writeTextFile(
      target,
      text.replace(/WORKER_HASH = "[0-9a-f]{64}"/, `WORKER_HASH = "${"0".repeat(64)}"`),
    );
    const out = await build("--check", "--out", target);
    assert.equal(out.code, 1);
    assert.match(stderr(out), /stale: run `deno task build:worker`/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("the Worker's code may import nothing outside its folder at run time", async () => {
  const dir = await Deno.makeTempDir({ prefix: "fazt-worker-outside-" });
  try {
    await Deno.mkdir(`${dir}/worker`);
    await Deno.writeTextFile(`${dir}/shared.ts`, "export const x = 1;\n");
    await Deno.writeTextFile(`${dir}/types.ts`, "export type T = number;\n");
    await Deno.writeTextFile(
      `${dir}/worker/mod.ts`,
      'import type { T } from "../types.ts";\nconst t: T = 2;\nconsole.log(t);\n',
    );
    const inside = new URL(`file://${dir}/worker/`);
    assert.match(await bundle(new URL("mod.ts", inside), inside), /console\.log\(t\)/);
    await Deno.writeTextFile(
      `${dir}/worker/mod.ts`,
      'import { x } from "../shared.ts";\nconsole.log(x);\n',
    );
    await assert.rejects(
      () => bundle(new URL("mod.ts", inside), inside),
      /imports .*shared\.ts at run time/,
    );
    // A module named in SHARED is bundled, and nothing else outside.
    assert.match(
      await bundle(new URL("mod.ts", inside), inside, [`${dir}/shared.ts`]),
      /console\.log\(x\)/,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
