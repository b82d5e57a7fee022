import assert from "node:assert/strict";
import { openDatabase, Storage } from "../storage/mod.ts";
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

Deno.test("a batch with no failure runs once, straight; one failure reruns it with savepoints", async () => {
  const db = openDatabase(":memory:");
  const q = new WriteQueue(db);
  const runs: string[] = [];
  const write = (key: string) =>
    q.run(1, () => {
      runs.push(key);
      return db.run("INSERT INTO settings (key, value) VALUES (?, 'v')", key).changes;
    });
  assert.deepEqual(await Promise.all([write("a"), write("b")]), [1, 1]);
  assert.deepEqual(runs, ["a", "b"], "each write ran once");
  assert.equal(q.retried, 0);
  runs.length = 0;
  const results = await Promise.allSettled([write("c"), write("a"), write("d")]);
  assert.deepEqual(results.map((r) => r.status), ["fulfilled", "rejected", "fulfilled"]);
  assert.equal(q.retried, 1, "the batch ran again, carefully");
  assert.deepEqual(runs, ["c", "a", "c", "a", "d"], "the first run stopped at the failure");
  const keys = db.all<{ key: string }>("SELECT key FROM settings ORDER BY key").map((r) => r.key);
  assert.deepEqual(keys, ["a", "b", "c", "d"]);
  assert.equal(q.batches, 2);
  db.close();
});

Deno.test("a busy app goes to the back of the line after each batch", async () => {
  const db = openDatabase(":memory:");
  const q = new WriteQueue(db, 2, 2000);
  const order: string[] = [];
  const all = [
    ...Array.from({ length: 5 }, (_, i) => q.run(1, () => order.push(`a${i}`))),
    ...Array.from({ length: 3 }, (_, i) => q.run(2, () => order.push(`b${i}`))),
  ];
  await Promise.all(all);
  assert.deepEqual(order, ["a0", "a1", "b0", "b1", "a2", "a3", "b2", "a4"]);
  db.close();
});

Deno.test("a full database: the write that does not fit fails FULL; answers match what is stored", async () => {
  const dir = await Deno.makeTempDir({ prefix: "fazt-wq-" });
  const storage = Storage.open(`${dir}/data.db`);
  const db = storage.db;
  try {
    const appId = storage.apps.createVersion("full", [], { keep: 1 }).app.id;
    db.limitSize(
      Number(db.get<{ page_count: number }>("PRAGMA page_count")!.page_count) * 4096 + 64 * 1024,
    );
    const q = new WriteQueue(db);
    const set = (k: string, bytes: number) => () => storage.kv.set(appId, k, "v".repeat(bytes));
    // The big value does not fit: SQLite then rolls back the whole batch's
    // transaction, so the small writes beside it must fail too, not run on
    // outside it.
    const [before, big, after] = await Promise.allSettled([
      q.run(appId, set("before", 10)),
      q.run(appId, set("big", 400_000)),
      q.run(appId, set("after", 10)),
    ]);
    assert.equal(big.status, "rejected");
    assert.equal((big as PromiseRejectedResult).reason.code, "FULL");
    for (const [key, r] of [["before", before], ["after", after]] as const) {
      const stored = storage.kv.get(appId, key) !== undefined;
      assert.equal(stored, r.status === "fulfilled", `${key}: ${r.status}, stored ${stored}`);
      if (r.status === "rejected") assert.equal(r.reason.code, "FULL");
    }
    assert.equal(db.inTransaction, false);
    await q.run(appId, set("later", 10));
    assert.equal(storage.kv.get(appId, "later"), "v".repeat(10));
  } finally {
    storage.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("adjacent writes of one app with the same shared check run it once, after the last", async () => {
  const db = openDatabase(":memory:");
  const q = new WriteQueue(db);
  const log: string[] = [];
  const write = (appId: number, name: string, shared?: string, passes = true) =>
    q.run(appId, (careful) => log.push(careful ? `${name}!` : name), {
      shared,
      passes: () => {
        log.push(`check ${name}`);
        return passes;
      },
    });
  await Promise.all([
    write(1, "a1", "k"),
    write(1, "a2", "k"),
    write(1, "a3", "other"),
    write(1, "a4"),
    write(1, "a5", "k"),
    write(2, "b1", "k"),
    write(2, "b2", "k"),
  ]);
  assert.deepEqual(log, [
    "a1",
    "a2",
    "check a2",
    "a3",
    "check a3",
    "a4",
    "check a4",
    "a5",
    "check a5",
    "b1",
    "b2",
    "check b2",
  ]);
  assert.equal(q.retried, 0);
  // A failed check sends the batch to the careful run, where the writes
  // check for themselves and no check is called.
  log.length = 0;
  await Promise.all([write(1, "c1", "k"), write(1, "c2", "k", false)]);
  assert.deepEqual(log, ["c1", "c2", "check c2", "c1!", "c2!"]);
  assert.equal(q.retried, 1);
  db.close();
});

Deno.test("batches count the usage of each insert count each insert, the retried ones too", async () => {
  const s = new Storage(openDatabase(":memory:"));
  const a = s.apps.createVersion("alpha", [], { keep: 10 }).app.id;
  const b = s.apps.createVersion("beta", [], { keep: 10 }).app.id;
  const docBytes = (appId: number) =>
    s.db.get<{ n: number }>(
      `SELECT coalesce(sum(octet_length(collection) + octet_length(id) + octet_length(doc)), 0)
       AS n FROM app_docs WHERE app_id = ?`,
      appId,
    )!.n;
  const writes = new WriteQueue(s.db);
  const inserts = [];
  for (let i = 0; i < 30; i++) {
    inserts.push(writes.run(i % 3 ? a : b, () => s.docs.insert(i % 3 ? a : b, "c", { i })));
  }
  // One failing write sends its batch through savepoints, one write each.
  const failing = writes.run(a, () => {
    s.docs.insert(a, "c", { doomed: true });
    throw new Error("refused");
  });
  await Promise.all(inserts);
  await assert.rejects(failing, /refused/);
  assert.equal(writes.retried, 1);
  assert.equal(s.docs.count(a, "c"), 20);
  assert.equal(s.usage.of(a).docs_bytes, docBytes(a));
  assert.equal(s.usage.of(b).docs_bytes, docBytes(b));
});
