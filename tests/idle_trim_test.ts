import assert from "node:assert/strict";
import { waitFor } from "./deadline.ts";
import { makeZip, startTestNode } from "./helpers.ts";

const PAGE = "<!doctype html><h1>home</h1>" + "<p>filler text</p>".repeat(500);

Deno.test("a node gives memory back once requests stop, and goes on serving", async () => {
  const node = await startTestNode();
  try {
    const { status } = await node.deploy("site", await makeZip({ "index.html": PAGE }));
    assert.equal(status, 201);
    const idle = node.server.context.idleTrim;
    assert.ok(idle, "this test runs with --allow-ffi on glibc: the node can trim");
    const before = idle.trims;
    const page = () => node.fetch("/", { host: "site.localhost", token: null });
    for (let round = 0; round < 10; round++) {
      const answers = await Promise.all(Array.from({ length: 20 }, page));
      for (const res of answers) {
        assert.equal(res.status, 200);
        assert.equal(await res.text(), PAGE);
      }
    }
    // Nothing asks the node anything now: the quiet period passes and it
    // trims. The last request armed the trim (one may also have run between
    // rounds on a slow machine, so the count alone does not tell): once its
    // timer has fired, the trim is under way.
    await waitFor(() => !idle.armed, "the trim after the requests stopped");
    await idle.settled();
    assert.ok(idle.trims > before, "a trim after the requests stopped");
    assert.equal(idle.armed, false, "nothing pending once trimmed");
    const res = await page();
    assert.equal(res.status, 200);
    assert.equal(await res.text(), PAGE, "the same bytes after the trim");
    const system = await (await node.fetch("/api/system")).json();
    assert.ok(system.data.memory.idle_trims > before, "the owner sees the trims");
  } finally {
    await node.close();
  }
});
