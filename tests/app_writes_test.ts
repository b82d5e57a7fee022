/**
 * Apps writing flat out through a real node: every insert stored and
 * counted in the app's usage once (storage/pending_usage.ts), and under the
 * steady commits the WAL's checkpoints move off the serving thread
 * (storage/checkpointer.ts), as `/api/system` reports.
 */
import assert from "node:assert/strict";
import { waitFor } from "./deadline.ts";
import { deployFiles, withTestNode } from "./helpers.ts";
import { hostFetch } from "./http_client.ts";

const INSERTER = {
  "api/main.ts": `export default async (req: Request, ctx: any) => {
    const doc = await ctx.docs.insert("hits", { at: Date.now(), note: "ünïcode ✓" });
    return new Response(doc.id, { status: 201 });
  };`,
};

Deno.test("inserts flat out: all stored, counted once, checkpoints on their own thread", async () => {
  await withTestNode(async (node) => {
    await deployFiles(node, "inserter", INSERTER);
    const before = (await (await node.fetch("/api/system")).json()).data.database;
    assert.deepEqual(before.checkpoint_thread, { active: false, runs: 0 });
    let created = 0;
    const client = async () => {
      for (let i = 0; i < 300; i++) {
        const res = await hostFetch(`${node.base}/api/`, {
          method: "POST",
          host: `inserter.localhost:${node.server.port}`,
        });
        await res.body?.cancel();
        if (res.status === 201) created++;
      }
    };
    // Two at a time: small batches, so many commits a second, as an app taking
    // one write after another makes.
    await Promise.all([client(), client()]);
    assert.equal(created, 600);
    const app = node.storage.apps.get("inserter")!.id;
    assert.equal(node.storage.docs.count(app, "hits"), 600);
    const recount = node.storage.db.get<{ n: number }>(
      `SELECT sum(octet_length(collection) + octet_length(id) + octet_length(doc)) AS n
       FROM app_docs WHERE app_id = ?`,
      app,
    )!.n;
    assert.equal(node.storage.usage.of(app).docs_bytes, recount);
    await waitFor(async () => {
      const sys = (await (await node.fetch("/api/system")).json()).data;
      return sys.database.checkpoint_thread.runs > 0;
    }, "a checkpoint on the thread");
    const auto = node.storage.db.get<{ wal_autocheckpoint: number }>("PRAGMA wal_autocheckpoint")!;
    assert.equal(auto.wal_autocheckpoint, 0, "the serving thread's connection checkpoints no more");
  });
});
