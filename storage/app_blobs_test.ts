import assert from "node:assert/strict";
import { AppStore, BlobStore, type Database, openDatabase } from "./mod.ts";
import { refused } from "./testing.ts";

function setup(maxSize?: number) {
  const db = openDatabase(":memory:");
  const apps = new AppStore(db);
  const a = apps.createVersion("alpha", [], { keep: 10 }).app.id;
  const b = apps.createVersion("beta", [], { keep: 10 }).app.id;
  const blobs = new BlobStore(db, { now: () => 7, maxSize });
  return { db, apps, blobs, a, b };
}

function snapshot(db: Database): string {
  return JSON.stringify(
    db.all("SELECT app_id, key, size, content_type, hex(data) AS d FROM app_blobs ORDER BY key"),
  );
}

const bytes = (...values: number[]) => new Uint8Array(values);

Deno.test("blobs: put, get, head, overwrite and delete", () => {
  const { db, blobs, a } = setup();
  const meta = blobs.put(a, "img/cat.png", bytes(1, 2, 3), { contentType: "image/png" });
  assert.deepEqual(meta, { key: "img/cat.png", size: 3, content_type: "image/png", updated_at: 7 });
  const got = blobs.get(a, "img/cat.png")!;
  assert.ok(got.data instanceof Uint8Array);
  assert.deepEqual([...got.data], [1, 2, 3]);
  assert.deepEqual({ ...got, data: undefined }, { ...meta, data: undefined });
  assert.deepEqual(blobs.head(a, "img/cat.png"), meta);
  assert.equal("data" in blobs.head(a, "img/cat.png")!, false);
  blobs.put(a, "img/cat.png", bytes(9));
  assert.equal(blobs.head(a, "img/cat.png")!.content_type, "application/octet-stream");
  assert.deepEqual([...blobs.get(a, "img/cat.png")!.data], [9]);
  blobs.put(a, "empty", new Uint8Array());
  assert.equal(blobs.get(a, "empty")!.data.byteLength, 0);
  assert.equal(blobs.get(a, "missing"), undefined);
  assert.equal(blobs.head(a, "missing"), undefined);
  assert.equal(blobs.delete(a, "img/cat.png"), true);
  assert.equal(blobs.delete(a, "img/cat.png"), false);
  assert.equal(blobs.get(a, "img/cat.png"), undefined);
  db.close();
});

Deno.test("blobs: refusals change nothing", () => {
  const { db, blobs, a } = setup(10);
  blobs.put(a, "k", bytes(1));
  const before = snapshot(db);
  refused(() => blobs.put(a, "k", new Uint8Array(11)), "LIMIT_EXCEEDED", "data");
  refused(() => blobs.put(a, "", bytes(1)), "VALIDATION_FAILED", "key");
  refused(() => blobs.put(a, "a\0b", bytes(1)), "VALIDATION_FAILED", "key");
  refused(() => blobs.put(a, "x".repeat(1025), bytes(1)), "VALIDATION_FAILED", "key");
  refused(() => blobs.put(a, "k", "text" as unknown as Uint8Array), "VALIDATION_FAILED", "data");
  refused(
    () => blobs.put(a, "k", bytes(2), { contentType: "text/html\r\nSet-Cookie: x=1" }),
    "VALIDATION_FAILED",
    "contentType",
  );
  refused(() => blobs.put(a, "k", bytes(2), { contentType: "" }), "VALIDATION_FAILED");
  refused(() => blobs.put(999, "k", bytes(2)), "NOT_FOUND", "appId");
  refused(() => blobs.get(a, "a\0b"), "VALIDATION_FAILED", "key");
  refused(() => blobs.list(a, { cursor: "!" }), "VALIDATION_FAILED", "cursor");
  assert.equal(snapshot(db), before);
  blobs.put(a, "x".repeat(1024), new Uint8Array(10));
  assert.equal(blobs.head(a, "x".repeat(1024))!.size, 10);
  assert.equal(new BlobStore(db).put(a, "big", new Uint8Array(1024 * 1024)).size, 1024 * 1024);
  db.close();
});

Deno.test("blobs: list pages by key, prefixes match literally", () => {
  const { db, blobs, a } = setup();
  const keys = Array.from({ length: 120 }, (_, i) => `dir/${String(i).padStart(3, "0")}`);
  for (const key of keys) blobs.put(a, key, bytes(keys.indexOf(key) % 256));
  blobs.put(a, "dir%x", bytes(1));
  blobs.put(a, "dis", bytes(1));
  const seen: string[] = [];
  let cursor: string | undefined;
  do {
    const page = blobs.list(a, { prefix: "dir/", limit: 50, cursor });
    assert.ok(page.items.every((i) => !("data" in i)));
    seen.push(...page.items.map((i) => i.key));
    cursor = page.cursor ?? undefined;
  } while (cursor);
  assert.deepEqual(seen, keys);
  assert.deepEqual(blobs.list(a, { prefix: "dir%" }).items.map((i) => i.key), ["dir%x"]);
  assert.equal(blobs.list(a).items.length, 100);
  assert.equal(blobs.list(a, { limit: 1000 }).items.length, 122);
  assert.equal(blobs.list(a, { limit: 1000 }).cursor, null);
  db.close();
});

Deno.test("blobs: injection-looking keys are stored literally", () => {
  const { db, blobs, a } = setup();
  const evil = "'); DELETE FROM app_blobs; --";
  blobs.put(a, evil, bytes(1), { contentType: "text/plain; charset='x'" });
  blobs.put(a, "other", bytes(2));
  assert.equal(blobs.head(a, evil)!.content_type, "text/plain; charset='x'");
  assert.deepEqual(blobs.list(a, { prefix: "'" }).items.map((i) => i.key), [evil]);
  assert.equal(blobs.list(a).items.length, 2);
  db.close();
});

Deno.test("blobs: apps are isolated and deleting an app deletes its blobs", () => {
  const { db, apps, blobs, a, b } = setup();
  blobs.put(a, "same", bytes(1));
  blobs.put(b, "same", bytes(2));
  assert.deepEqual([...blobs.get(a, "same")!.data], [1]);
  assert.deepEqual([...blobs.get(b, "same")!.data], [2]);
  blobs.put(a, "only-a", bytes(3));
  assert.equal(blobs.head(b, "only-a"), undefined);
  assert.equal(blobs.delete(b, "only-a"), false);
  assert.deepEqual(blobs.list(b).items.map((i) => i.key), ["same"]);
  assert.ok(apps.delete("alpha"));
  assert.equal(db.get<{ n: number }>("SELECT COUNT(*) AS n FROM app_blobs")!.n, 1);
  db.close();
});
