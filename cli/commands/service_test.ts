import assert from "node:assert/strict";
import { BUNDLE_RUN_FLAGS } from "../../lib/program.ts";
import { serviceExecStart } from "./service.ts";

const DB = "/var/lib/fazt/data.db";
const START = ["server", "start", "--db", DB];

Deno.test("service command: a release archive runs through its launcher, and may upgrade there", async () => {
  const dir = await Deno.makeTempDir({ prefix: "fazt-release-" });
  try {
    Deno.writeTextFileSync(`${dir}/fazt.js`, "");
    const bare = serviceExecStart({ form: "bundle", path: `${dir}/fazt.js` }, DB);
    assert.deepEqual(bare.command, [
      Deno.execPath(),
      "run",
      ...BUNDLE_RUN_FLAGS,
      `${dir}/fazt.js`,
      ...START,
    ]);
    assert.equal(bare.programDir, dir);
    Deno.writeTextFileSync(`${dir}/fazt`, "#!/bin/sh\n");
    const launched = serviceExecStart({ form: "bundle", path: `${dir}/fazt.js` }, DB);
    assert.deepEqual(launched.command, [`${dir}/fazt`, ...START]);
    assert.equal(launched.programDir, dir);
    assert.deepEqual(launched.notes, []);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("service command: a binary in a shared folder is run, never given that folder", () => {
  const own = serviceExecStart({ form: "binary", path: "/opt/fazt/fazt" }, DB);
  assert.deepEqual(own.command, ["/opt/fazt/fazt", ...START]);
  assert.equal(own.programDir, "/opt/fazt");
  const shared = serviceExecStart({ form: "binary", path: "/usr/local/bin/fazt" }, DB);
  assert.deepEqual(shared.command, ["/usr/local/bin/fazt", ...START]);
  assert.equal(shared.programDir, undefined);
  assert.match(shared.notes.join("\n"), /will not upgrade itself/);
});
