import assert from "node:assert/strict";
import { openDatabase, SettingError, Storage } from "./mod.ts";
import { refused } from "./testing.ts";

function setup() {
  const storage = new Storage(openDatabase(":memory:"));
  const a = storage.apps.createVersion("alpha", [], { keep: 10 }).app.id;
  const b = storage.apps.createVersion("beta", [], { keep: 10 }).app.id;
  return { storage, a, b };
}

/** What the triggers keep, worked out from the rows themselves. */
function recount(s: Storage, appId: number) {
  const one = (sql: string) => s.db.get<{ n: number }>(sql, appId)!.n;
  return {
    kv: one(
      "SELECT coalesce(sum(octet_length(key) + octet_length(value)), 0) AS n FROM app_kv WHERE app_id = ?",
    ),
    docs: one(
      `SELECT coalesce(sum(octet_length(collection) + octet_length(id) + octet_length(doc)), 0) AS n
       FROM app_docs WHERE app_id = ?`,
    ),
    blobs: one(
      `SELECT coalesce(sum(octet_length(key) + size + octet_length(content_type)), 0) AS n
       FROM app_blobs WHERE app_id = ?`,
    ),
  };
}

function assertCounted(s: Storage, appId: number): void {
  const u = s.usage.of(appId);
  const r = recount(s, appId);
  assert.deepEqual(
    { kv: u.kv_bytes, docs: u.docs_bytes, blobs: u.blobs_bytes },
    r,
  );
  assert.equal(u.stored_bytes, r.kv + r.docs + r.blobs);
}

Deno.test("usage follows every kind of write, per app, in UTF-8 bytes", () => {
  const { storage: s, a, b } = setup();
  assert.deepEqual(s.usage.of(a), { kv_bytes: 0, docs_bytes: 0, blobs_bytes: 0, stored_bytes: 0 });
  s.kv.set(a, "k", "héllo");
  assert.equal(s.usage.of(a).kv_bytes, 1 + '"héllo"'.length + 1);
  s.kv.set(a, "k", "much longer than before");
  s.kv.increment(a, "n", 5);
  s.kv.increment(a, "n", 1000);
  s.docs.insert(a, "notes", { text: "ünïcode" });
  const doc = s.docs.insert(a, "notes", { text: "x" });
  s.docs.update(a, "notes", { id: doc.id }, { $set: { text: "y".repeat(100) } });
  s.blobs.put(a, "pic", new Uint8Array(1000), { contentType: "image/png" });
  s.blobs.put(a, "pic", new Uint8Array(10));
  s.kv.set(b, "other", 1);
  assertCounted(s, a);
  assertCounted(s, b);
  s.kv.delete(a, "k");
  s.docs.delete(a, "notes", { id: doc.id });
  s.blobs.delete(a, "pic");
  assertCounted(s, a);
  s.kv.set(a, "brief", 1, { ttl: 1 });
  s.kv.purgeExpired(Date.now() + 10);
  assertCounted(s, a);
  // An app's data and its usage go with it.
  s.apps.delete("beta");
  const rows = s.db.get<{ n: number }>("SELECT count(*) AS n FROM app_usage WHERE app_id = ?", b);
  assert.equal(rows!.n, 0);
});

Deno.test("guard refuses a write past the quota and leaves the data as it was", () => {
  const { storage: s, a } = setup();
  s.kv.set(a, "keep", "x".repeat(100));
  const before = s.kv.list(a);
  const used = s.usage.stored(a);
  refused(
    () => s.usage.guard(a, used + 50, () => s.kv.set(a, "big", "y".repeat(100))),
    "QUOTA_EXCEEDED",
  );
  refused(
    () => s.usage.guard(a, used + 50, () => s.blobs.put(a, "b", new Uint8Array(200))),
    "QUOTA_EXCEEDED",
  );
  // A multi-row update refused as a whole: no document half-updated.
  s.docs.insert(a, "c", { id: "1", v: "" });
  s.docs.insert(a, "c", { id: "2", v: "" });
  const docs = s.docs.find(a, "c");
  const at = s.usage.stored(a);
  refused(
    () =>
      s.usage.guard(a, at + 150, () => s.docs.update(a, "c", {}, { $set: { v: "z".repeat(100) } })),
    "QUOTA_EXCEEDED",
  );
  assert.deepEqual(s.docs.find(a, "c"), docs);
  assert.equal(s.usage.stored(a), at);
  assert.deepEqual(s.kv.list(a), before);
  assert.equal(s.blobs.head(a, "b"), undefined);
  // Up to the quota exactly is fine; 0 is no limit.
  const now = s.usage.stored(a);
  s.usage.guard(a, now + 2 + 5, () => s.kv.set(a, "ok", "abc"));
  s.usage.guard(a, 0, () => s.kv.set(a, "free", "x".repeat(10_000)));
});

Deno.test("guard lets an app over its quota shrink, never grow", () => {
  const { storage: s, a } = setup();
  s.kv.set(a, "a", "x".repeat(500));
  const quota = 100;
  s.usage.guard(a, quota, () => s.kv.set(a, "a", "x".repeat(300)));
  s.usage.guard(a, quota, () => s.kv.delete(a, "a"));
  assert.equal(s.usage.stored(a), 0);
  s.usage.guard(a, quota, () => s.kv.set(a, "b", 1));
  refused(() => s.usage.guard(a, quota, () => s.kv.set(a, "c", "x".repeat(200))), "QUOTA_EXCEEDED");
});

Deno.test("guard inside a caller's transaction: the caller undoes the write", () => {
  const { storage: s, a } = setup();
  assert.throws(() =>
    s.db.transaction(() => {
      s.kv.set(a, "first", 1);
      s.usage.guard(a, 20, () => s.kv.set(a, "second", "x".repeat(100)));
    })
  );
  assert.equal(s.kv.get(a, "first"), undefined);
  assert.equal(s.usage.stored(a), 0);
});

Deno.test("limit overrides: checked, all or none, null goes back to the default", () => {
  const { storage: s, a, b } = setup();
  const defaults = {
    max_storage_bytes: 1000,
    max_rps: 0,
    max_burst: 0,
    max_concurrent: 0,
    max_websockets: 10,
  };
  assert.deepEqual(s.limits.resolve(a, defaults), defaults);
  s.limits.set(a, { max_rps: "5", max_storage_bytes: 2048 });
  assert.deepEqual(s.limits.overrides(a), { max_rps: 5, max_storage_bytes: 2048 });
  assert.deepEqual(s.limits.resolve(a, defaults), {
    ...defaults,
    max_rps: 5,
    max_storage_bytes: 2048,
  });
  assert.deepEqual(s.limits.overrides(b), {});
  for (const bad of [{ max_rps: -1 }, { max_rps: 1.5 }, { max_rps: "lots" }, { nope: 1 }]) {
    assert.throws(() => s.limits.set(a, { max_concurrent: 3, ...bad }), SettingError);
  }
  assert.throws(() => s.limits.set(a, { max_rps: -1 }), (err: SettingError) => {
    assert.equal(err.key, "max_rps");
    assert.match(err.message, /^max_rps must be/);
    return true;
  });
  assert.deepEqual(s.limits.overrides(a), { max_rps: 5, max_storage_bytes: 2048 });
  s.limits.set(a, { max_rps: null });
  assert.deepEqual(s.limits.overrides(a), { max_storage_bytes: 2048 });
  s.apps.delete("alpha");
  assert.equal(s.db.get<{ n: number }>("SELECT count(*) AS n FROM app_limits")!.n, 0);
});

Deno.test("migration 11 counts what apps stored before it", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/data.db`;
    const old = new Storage(openDatabase(path, { migrateTo: 10 }));
    // That schema's own SQL: today's store writes columns it does not have.
    old.db.run("INSERT INTO apps (id, name, created_at, updated_at) VALUES (1, 'alpha', 0, 0)");
    old.db.run("INSERT INTO apps (id, name, created_at, updated_at) VALUES (2, 'empty', 0, 0)");
    const a = 1;
    old.db.run(
      "INSERT INTO app_kv (app_id, key, value, updated_at) VALUES (?, 'k', '\"ü\"', 0)",
      a,
    );
    old.db.run(
      "INSERT INTO app_docs (app_id, collection, id, doc, created_at, updated_at) VALUES (?, 'c', 'i', '{}', 0, 0)",
      a,
    );
    old.db.run(
      "INSERT INTO app_blobs (app_id, key, size, content_type, updated_at, data) VALUES (?, 'b', 3, 't', 0, x'010203')",
      a,
    );
    old.close();
    const s = Storage.open(path);
    assert.deepEqual(s.usage.of(a), {
      kv_bytes: 1 + 4,
      docs_bytes: 1 + 1 + 2,
      blobs_bytes: 1 + 3 + 1,
      stored_bytes: 14,
    });
    assertCounted(s, a);
    s.close();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
