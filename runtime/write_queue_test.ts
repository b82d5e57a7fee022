import assert from "node:assert/strict";
import { openDatabase } from "../storage/mod.ts";
import { WriteQueue } from "./write_queue.ts";

Deno.test("WriteQueue groups writes into one transaction and keeps failures apart", async () => {
  const db = openDatabase(":memory:");
  const q = new WriteQueue(db);
  const results = await Promise.allSettled([
    q.run(1, () => db.run("INSERT INTO settings (key, value) VALUES ('a', '1')").changes),
    q.run(2, () => {
      db.run("INSERT INTO settings (key, value) VALUES ('b', '2')");
      throw new Error("this write fails after writing");
    }),
    q.run(3, () => db.run("INSERT INTO settings (key, value) VALUES ('c', '3')").changes),
  ]);
  assert.deepEqual(results.map((r) => r.status), ["fulfilled", "rejected", "fulfilled"]);
  assert.equal(q.batches, 1, "one transaction for all three");
  const keys = db.all<{ key: string }>("SELECT key FROM settings ORDER BY key").map((r) => r.key);
  assert.deepEqual(keys, ["a", "c"], "the failed write left nothing behind");
  db.close();
});

Deno.test("WriteQueue is fair: a flood from one app does not starve another", async () => {
  const db = openDatabase(":memory:");
  const q = new WriteQueue(db, 64, 2000);
  const order: string[] = [];
  const flood = Array.from({ length: 1000 }, (_, i) => q.run(1, () => order.push(`a${i}`)));
  const single = q.run(2, () => order.push("b"));
  await Promise.all([...flood, single]);
  assert.ok(order.indexOf("b") <= 64, `app 2 ran at position ${order.indexOf("b")}`);
  assert.equal(order.length, 1001);
  db.close();
});
