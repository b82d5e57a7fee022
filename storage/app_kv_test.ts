import assert from "node:assert/strict";
import {
  AppStore,
  type Database,
  KvStore,
  LATEST_MIGRATION,
  openDatabase,
  schemaVersion,
  Storage,
} from "./mod.ts";
import { refused } from "./testing.ts";

function setup() {
  const db = openDatabase(":memory:");
  const apps = new AppStore(db);
  const a = apps.createVersion("alpha", [], { keep: 10 }).app.id;
  const b = apps.createVersion("beta", [], { keep: 10 }).app.id;
  let now = 1_000_000;
  const clock = {
    advance: (ms: number) => (now += ms),
    get now() {
      return now;
    },
  };
  const kv = new KvStore(db, { now: () => now });
  return { db, apps, kv, a, b, clock };
}

function rows(db: Database): number {
  return db.get<{ n: number }>("SELECT COUNT(*) AS n FROM app_kv")!.n;
}

Deno.test("kv: set, get, overwrite and delete JSON values", () => {
  const { db, kv, a } = setup();
  const value = { n: 1, s: "x", list: [1, "two", null, true], nested: { ok: false } };
  kv.set(a, "k", value);
  assert.deepEqual(kv.get(a, "k"), value);
  kv.set(a, "k", null);
  assert.equal(kv.get(a, "k"), null);
  kv.set(a, "k", "text");
  assert.equal(kv.get(a, "k"), "text");
  assert.equal(kv.get(a, "missing"), undefined);
  assert.equal(kv.delete(a, "k"), true);
  assert.equal(kv.delete(a, "k"), false);
  assert.equal(kv.get(a, "k"), undefined);
  kv.set(a, "dropped", { keep: 1, gone: undefined });
  assert.deepEqual(kv.get(a, "dropped"), { keep: 1 });
  db.close();
});

Deno.test("kv: refusals throw StorageError and change nothing", () => {
  const { db, kv, a } = setup();
  kv.set(a, "k", 1);
  const cyclic: Record<string, unknown> = {};
  cyclic.self = cyclic;
  const bad: [() => unknown, string, string][] = [
    [() => kv.set(a, "", 2), "VALIDATION_FAILED", "key"],
    [() => kv.set(a, "x".repeat(513), 2), "VALIDATION_FAILED", "key"],
    [() => kv.set(a, "lone\ud800", 2), "VALIDATION_FAILED", "key"],
    [() => kv.set(a, 5 as unknown as string, 2), "VALIDATION_FAILED", "key"],
    [() => kv.set(a, "k", undefined), "VALIDATION_FAILED", "value"],
    [() => kv.set(a, "k", NaN), "VALIDATION_FAILED", "value"],
    [() => kv.set(a, "k", { d: new Date() }), "VALIDATION_FAILED", "value"],
    [() => kv.set(a, "k", [undefined]), "VALIDATION_FAILED", "value"],
    [() => kv.set(a, "k", () => 1), "VALIDATION_FAILED", "value"],
    [() => kv.set(a, "k", 1n), "VALIDATION_FAILED", "value"],
    [() => kv.set(a, "k", cyclic), "VALIDATION_FAILED", "value"],
    [() => kv.set(a, "k", "x".repeat(1024 * 1024)), "LIMIT_EXCEEDED", "value"],
    [() => kv.set(a, "k", 2, { ttl: -1 }), "VALIDATION_FAILED", "ttl"],
    [() => kv.set(a, "k", 2, { ttl: Infinity }), "VALIDATION_FAILED", "ttl"],
    [() => kv.set(0, "k", 2), "VALIDATION_FAILED", "appId"],
    [() => kv.set(999, "k", 2), "NOT_FOUND", "appId"],
    [() => kv.list(a, { limit: 0 }), "VALIDATION_FAILED", "limit"],
    [() => kv.list(a, { cursor: "%%%" }), "VALIDATION_FAILED", "cursor"],
    [() => kv.increment(a, "k", NaN), "VALIDATION_FAILED", "by"],
  ];
  for (const [fn, code, field] of bad) refused(fn, code, field);
  assert.equal(kv.get(a, "k"), 1);
  assert.equal(rows(db), 1);
  // Exactly 1 MiB of JSON is still accepted.
  kv.set(a, "big", "x".repeat(1024 * 1024 - 2));
  assert.equal((kv.get(a, "big") as string).length, 1024 * 1024 - 2);
  db.close();
});

Deno.test("kv: replace changes a live key's value and keeps its expiry; it never adds", () => {
  const { db, kv, a, b, clock } = setup();
  kv.set(a, "k", 1, { ttl: 5000 });
  assert.equal(kv.replace(a, "k", { edited: true }), true);
  assert.deepEqual(kv.get(a, "k"), { edited: true });
  assert.equal(kv.list(a).items[0].expires_at, clock.now + 5000, "the expiry stays");
  assert.equal(kv.replace(a, "missing", 1), false);
  assert.equal(kv.replace(b, "k", 1), false, "another app's key");
  assert.equal(kv.get(a, "missing"), undefined);
  refused(() => kv.replace(a, "k", { n: Infinity }), "VALIDATION_FAILED", "value");
  refused(() => kv.replace(a, "k", "x".repeat(1024 * 1024)), "LIMIT_EXCEEDED", "value");
  assert.deepEqual(kv.get(a, "k"), { edited: true });
  clock.advance(5000);
  assert.equal(kv.replace(a, "k", 2), false, "an expired key is absent");
  db.close();
});

Deno.test("kv: ttl expires keys by the injected clock; purgeExpired removes them", () => {
  const { db, kv, a, clock } = setup();
  kv.set(a, "short", "s", { ttl: 1000 });
  kv.set(a, "long", "l", { ttl: 5000 });
  kv.set(a, "forever", "f");
  assert.equal(kv.list(a).items.find((i) => i.key === "short")?.expires_at, clock.now + 1000);
  clock.advance(999);
  assert.equal(kv.get(a, "short"), "s");
  clock.advance(1);
  assert.equal(kv.get(a, "short"), undefined);
  assert.deepEqual(kv.list(a).items.map((i) => i.key), ["forever", "long"]);
  assert.equal(kv.delete(a, "short"), false, "an expired key deletes as absent");
  kv.set(a, "again", 1, { ttl: 10 });
  clock.advance(10);
  assert.equal(kv.purgeExpired(), 1);
  assert.equal(rows(db), 2);
  assert.equal(kv.purgeExpired(clock.now + 5000), 1);
  assert.deepEqual(kv.list(a).items.map((i) => i.key), ["forever"]);
  // Setting without ttl makes a key permanent again.
  kv.set(a, "forever", "f2", { ttl: 1 });
  kv.set(a, "forever", "f3");
  clock.advance(10);
  assert.equal(kv.get(a, "forever"), "f3");
  db.close();
});

Deno.test("kv: increment is one atomic upsert with exact totals", () => {
  const { db, kv, a, clock } = setup();
  assert.equal(kv.increment(a, "n"), 1);
  for (let i = 0; i < 999; i++) kv.increment(a, "n");
  assert.equal(kv.get(a, "n"), 1000);
  assert.equal(kv.increment(a, "n", -1000), 0);
  assert.equal(kv.increment(a, "f", 0.5), 0.5);
  assert.equal(kv.increment(a, "f", 0.25), 0.75);
  // Stored as plain JSON integers, not "6.0".
  kv.increment(a, "i", 6);
  assert.equal(db.get<{ value: string }>("SELECT value FROM app_kv WHERE key = 'i'")!.value, "6");
  kv.set(a, "s", "text");
  refused(() => kv.increment(a, "s"), "VALIDATION_FAILED", "key");
  kv.set(a, "t", true);
  refused(() => kv.increment(a, "t"), "VALIDATION_FAILED", "key");
  assert.equal(kv.get(a, "s"), "text");
  kv.set(a, "huge", 1e308);
  refused(() => kv.increment(a, "huge", 1e308), "LIMIT_EXCEEDED", "by");
  assert.equal(kv.get(a, "huge"), 1e308);
  // ttl applies when increment creates the key; a live counter keeps its window.
  assert.equal(kv.increment(a, "rate", 1, { ttl: 1000 }), 1);
  clock.advance(600);
  assert.equal(kv.increment(a, "rate", 1, { ttl: 1000 }), 2);
  clock.advance(400);
  assert.equal(kv.get(a, "rate"), undefined);
  assert.equal(kv.increment(a, "rate", 1, { ttl: 1000 }), 1, "an expired counter restarts");
  // An expired non-number is replaced, not refused.
  kv.set(a, "old", "x", { ttl: 1 });
  clock.advance(1);
  assert.equal(kv.increment(a, "old", 3), 3);
  db.close();
});

Deno.test("kv: increments racing from four worker connections lose nothing", async () => {
  const dir = await Deno.makeTempDir({ prefix: "fazt-kv-" });
  try {
    const path = `${dir}/data.db`;
    const db = openDatabase(path);
    const appId = new AppStore(db).createVersion("c", [], { keep: 1 }).app.id;
    const source = `
      import { openDatabase } from "${new URL("./open_database.ts", import.meta.url)}";
      import { KvStore } from "${new URL("./app_kv.ts", import.meta.url)}";
      self.onmessage = () => {
        const db = openDatabase(${JSON.stringify(path)});
        const kv = new KvStore(db);
        for (let i = 0; i < 250; i++) kv.increment(${appId}, "n", 2);
        db.close();
        self.postMessage("done");
      };`;
    const url = URL.createObjectURL(new Blob([source], { type: "text/javascript" }));
    const workers = Array.from({ length: 4 }, () => new Worker(url, { type: "module" }));
    await Promise.all(workers.map((w) =>
      new Promise((resolve, reject) => {
        w.onmessage = resolve;
        w.onerror = reject;
        w.postMessage("go");
      })
    ));
    workers.forEach((w) => w.terminate());
    URL.revokeObjectURL(url);
    assert.equal(new KvStore(db).get(appId, "n"), 2000);
    db.close();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("kv: list pages by key with cursors, no duplicates or gaps", () => {
  const { db, kv, a } = setup();
  const keys = Array.from({ length: 250 }, (_, i) => `k${String(i).padStart(3, "0")}`);
  for (const key of [...keys].reverse()) kv.set(a, key, key.length);
  const seen: string[] = [];
  let cursor: string | undefined;
  let pages = 0;
  do {
    const page = kv.list(a, { limit: 100, cursor });
    seen.push(...page.items.map((i) => i.key));
    cursor = page.cursor ?? undefined;
    pages++;
  } while (cursor);
  assert.deepEqual(seen, keys);
  assert.equal(pages, 3);
  assert.equal(kv.list(a).items.length, 100, "default limit");
  assert.equal(kv.list(a, { limit: 5000 }).items.length, 250, "limit is capped at 1000");
  const exact = kv.list(a, { limit: 250 });
  assert.equal(exact.cursor, null, "no empty last page");
  db.close();
});

Deno.test("kv: prefix matches literally, including % _ and non-BMP characters", () => {
  const { db, kv, a } = setup();
  for (const key of ["a%b", "a%c", "axb", "a_1", "ab", "a", "b", "a\u{1F600}", "a\uffff"]) {
    kv.set(a, key, key);
  }
  assert.deepEqual(kv.list(a, { prefix: "a%" }).items.map((i) => i.key), ["a%b", "a%c"]);
  assert.deepEqual(kv.list(a, { prefix: "a_" }).items.map((i) => i.key), ["a_1"]);
  assert.deepEqual(
    kv.list(a, { prefix: "a" }).items.map((i) => i.key),
    ["a", "a%b", "a%c", "a_1", "ab", "axb", "a\uffff", "a\u{1F600}"],
  );
  const page1 = kv.list(a, { prefix: "a", limit: 3 });
  const page2 = kv.list(a, { prefix: "a", limit: 10, cursor: page1.cursor! });
  assert.equal(page1.items.length + page2.items.length, 8);
  assert.equal(page2.cursor, null);
  db.close();
});

Deno.test("kv: injection-looking keys and values are stored literally", () => {
  const { db, kv, a } = setup();
  const evil = "'; DROP TABLE app_kv; --";
  kv.set(a, evil, { q: '" OR 1=1 --', [evil]: evil });
  assert.deepEqual(kv.get(a, evil), { q: '" OR 1=1 --', [evil]: evil });
  assert.deepEqual(kv.list(a, { prefix: "'" }).items.map((i) => i.key), [evil]);
  assert.equal(kv.increment(a, "x' OR '1'='1"), 1);
  assert.equal(rows(db), 2);
  db.close();
});

Deno.test("kv: apps are isolated and deleting an app deletes its keys", () => {
  const { db, apps, kv, a, b } = setup();
  kv.set(a, "same", "from a");
  kv.set(b, "same", "from b");
  kv.increment(a, "n");
  assert.equal(kv.get(a, "same"), "from a");
  assert.equal(kv.get(b, "same"), "from b");
  assert.equal(kv.get(b, "n"), undefined);
  assert.deepEqual(kv.list(b).items.map((i) => i.key), ["same"]);
  assert.equal(kv.delete(b, "n"), false);
  assert.equal(kv.delete(b, "same"), true);
  assert.equal(kv.get(a, "same"), "from a");
  assert.ok(apps.delete("alpha"));
  assert.equal(rows(db), 0);
  db.close();
});

Deno.test("app storage: a database from migration 2 upgrades and its apps get every store", async () => {
  const dir = await Deno.makeTempDir({ prefix: "fazt-app-mig-" });
  try {
    const path = `${dir}/data.db`;
    const old = openDatabase(path, { migrateTo: 2 });
    // Written as that schema holds it (today's AppStore writes columns added later).
    old.run(
      "INSERT INTO apps (name, live_version, created_at, updated_at) VALUES ('legacy', 1, 0, 0)",
    );
    const appId = old.get<{ id: number }>("SELECT id FROM apps WHERE name = 'legacy'")!.id;
    old.run(
      "INSERT INTO versions (app_id, number, file_count, bytes, created_at) VALUES (?, 1, 0, 0, 0)",
      appId,
    );
    old.close();
    const storage = Storage.open(path);
    assert.equal(schemaVersion(storage.db), LATEST_MIGRATION);
    storage.kv.set(appId, "k", 1);
    storage.docs.insert(appId, "c", { id: "d" });
    storage.blobs.put(appId, "b", new Uint8Array([1]));
    storage.env.set(appId, "E", "v");
    storage.logs.append(appId, "info", "hello");
    assert.equal(storage.kv.get(appId, "k"), 1);
    assert.ok(storage.apps.delete("legacy"));
    for (const table of ["app_kv", "app_docs", "app_blobs", "app_env", "app_logs"]) {
      const n = storage.db.get<{ n: number }>(`SELECT COUNT(*) AS n FROM ${table}`)!.n;
      assert.equal(n, 0, `${table} rows go with their app`);
    }
    storage.close();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
