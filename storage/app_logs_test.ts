import assert from "node:assert/strict";
import { AppStore, type Database, LogStore, openDatabase } from "./mod.ts";
import { refused } from "./testing.ts";

function setup(opts?: { maxPerApp?: number; pruneEvery?: number }) {
  const db = openDatabase(":memory:");
  const apps = new AppStore(db);
  const a = apps.createVersion("alpha", [], { keep: 10 }).app.id;
  const b = apps.createVersion("beta", [], { keep: 10 }).app.id;
  const logs = new LogStore(db, opts);
  return { db, apps, logs, a, b };
}

function count(db: Database, appId: number): number {
  return db.get<{ n: number }>("SELECT COUNT(*) AS n FROM app_logs WHERE app_id = ?", appId)!.n;
}

Deno.test("logs: append returns ids; recent is oldest to newest and follows with after", () => {
  const { db, logs, a } = setup();
  const first = logs.append(a, "info", "one", 10);
  const second = logs.append(a, "warn", "two", 20);
  assert.ok(second > first);
  logs.append(a, "error", "three", 30);
  logs.append(a, "debug", "four");
  const all = logs.recent(a);
  assert.deepEqual(all.map((e) => e.message), ["one", "two", "three", "four"]);
  assert.deepEqual(all[0], { id: first, level: "info", message: "one", created_at: 10 });
  assert.deepEqual(logs.recent(a, { limit: 2 }).map((e) => e.message), ["three", "four"]);
  assert.deepEqual(logs.recent(a, { after: first, limit: 2 }).map((e) => e.message), [
    "two",
    "three",
  ]);
  assert.deepEqual(logs.recent(a, { after: all[3].id }), []);
  db.close();
});

Deno.test("logs: appendMany writes all in one transaction, or nothing", () => {
  const { db, logs, a, b } = setup();
  logs.appendMany([
    { appId: a, level: "info", message: "a1", at: 1 },
    { appId: b, level: "info", message: "b1", at: 2 },
    { appId: a, level: "error", message: "a2", at: 3 },
  ]);
  assert.deepEqual(logs.recent(a).map((e) => e.message), ["a1", "a2"]);
  assert.deepEqual(logs.recent(b).map((e) => e.message), ["b1"]);
  refused(
    () =>
      logs.appendMany([
        { appId: a, level: "info", message: "kept?", at: 4 },
        { appId: a, level: "fatal" as "info", message: "bad", at: 5 },
      ]),
    "VALIDATION_FAILED",
    "level",
  );
  refused(
    () =>
      logs.appendMany([
        { appId: a, level: "info", message: "kept?", at: 4 },
        { appId: 999, level: "info", message: "gone app", at: 5 },
      ]),
    "NOT_FOUND",
    "appId",
  );
  assert.equal(count(db, a), 2);
  db.close();
});

Deno.test("logs: refusals and truncation", () => {
  const { db, logs, a } = setup();
  refused(() => logs.append(a, "trace" as "info", "x"), "VALIDATION_FAILED", "level");
  refused(() => logs.append(a, "info", 5 as unknown as string), "VALIDATION_FAILED", "message");
  refused(() => logs.append(a, "info", "x", NaN), "VALIDATION_FAILED", "at");
  refused(() => logs.append(0, "info", "x"), "VALIDATION_FAILED", "appId");
  refused(() => logs.recent(a, { limit: 0 }), "VALIDATION_FAILED", "limit");
  refused(() => logs.recent(a, { after: 1.5 }), "VALIDATION_FAILED", "after");
  assert.equal(count(db, a), 0);
  logs.append(a, "info", "x".repeat(10_000));
  logs.append(a, "info", "é".repeat(5000));
  logs.append(a, "info", "'); DROP TABLE app_logs; --");
  const [ascii, accented, evil] = logs.recent(a);
  assert.equal(ascii.message.length, 8192);
  assert.equal(new TextEncoder().encode(accented.message).length, 8192);
  assert.equal(evil.message, "'); DROP TABLE app_logs; --");
  db.close();
});

Deno.test("logs: each app keeps at most maxPerApp newest entries", () => {
  const { db, logs, a, b } = setup({ maxPerApp: 50, pruneEvery: 1 });
  for (let i = 0; i < 120; i++) logs.append(a, "info", `a${i}`);
  logs.append(b, "info", "b0");
  assert.equal(count(db, a), 50);
  assert.equal(count(db, b), 1, "pruning one app leaves the others alone");
  const kept = logs.recent(a, { limit: 1000 }).map((e) => e.message);
  assert.equal(kept[0], "a70");
  assert.equal(kept[49], "a119");
  logs.appendMany(Array.from({ length: 80 }, (_, i) => ({
    appId: a,
    level: "debug" as const,
    message: `m${i}`,
    at: i,
  })));
  assert.equal(count(db, a), 50);
  assert.equal(logs.recent(a, { limit: 1 })[0].message, "m79");
  db.close();
});

Deno.test("logs: amortised pruning stays within maxPerApp + pruneEvery", () => {
  const { db, logs, a } = setup({ maxPerApp: 100 });
  for (let i = 0; i < 1000; i++) {
    logs.append(a, "info", `${i}`);
    assert.ok(count(db, a) < 100 + 10);
  }
  const excess = count(db, a) - 100;
  assert.equal(logs.prune(a), excess);
  assert.equal(count(db, a), 100);
  // A new process (store) prunes on its first append for an app.
  db.exec(
    "INSERT INTO app_logs (app_id, level, message, created_at) SELECT app_id, level, message, created_at FROM app_logs",
  );
  const fresh = new LogStore(db, { maxPerApp: 100 });
  fresh.append(a, "info", "after restart");
  assert.equal(count(db, a), 100);
  db.close();
});

Deno.test("logs: apps are isolated and deleting an app deletes its logs", () => {
  const { db, apps, logs, a, b } = setup();
  logs.append(a, "info", "secret of a");
  const bid = logs.append(b, "info", "b");
  assert.deepEqual(logs.recent(b).map((e) => e.message), ["b"]);
  assert.deepEqual(logs.recent(b, { after: 0 }).map((e) => e.id), [bid]);
  assert.ok(apps.delete("alpha"));
  assert.equal(count(db, a), 0);
  assert.equal(count(db, b), 1);
  db.close();
});

Deno.test("logs: error lines per app since a moment, other levels and older lines not counted", () => {
  const { logs, a, b } = setup();
  logs.append(a, "error", "old", 100);
  logs.append(a, "error", "one", 1000);
  logs.append(a, "error", "two", 2000);
  logs.append(a, "warn", "not an error", 2000);
  logs.append(b, "info", "fine", 2000);
  assert.deepEqual([...logs.errorCounts(1000)], [[a, 2]]);
  assert.deepEqual([...logs.errorCounts(3000)], []);
});
