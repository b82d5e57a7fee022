import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import { Storage, StorageError } from "./mod.ts";

async function tempDb(): Promise<{ path: string; dir: string }> {
  const dir = await Deno.makeTempDir({ prefix: "fazt-db-" });
  return { dir, path: `${dir}/data.db` };
}

Deno.test("a write past db_max_mb is StorageError FULL, and fits again once rows go", async () => {
  const { dir, path } = await tempDb();
  const setup = Storage.open(path);
  setup.settings.set("db_max_mb", 1);
  const appId = setup.apps.createVersion("full", [], { keep: 1 }).app.id;
  setup.close();
  const storage = Storage.open(path);
  try {
    let err: unknown;
    let i = 0;
    try {
      for (; i < 1000; i++) storage.kv.set(appId, `k${i}`, "x".repeat(16_000));
    } catch (e) {
      err = e;
    }
    assert.ok(err instanceof StorageError, `not a StorageError: ${err}`);
    assert.equal(err.code, "FULL");
    assert.doesNotMatch(err.message, /sqlite|SQL/i);
    assert.ok(i > 10 && i < 1000, `${i} writes fitted`);
    // Reads go on.
    assert.equal(storage.kv.get(appId, "k0"), "x".repeat(16_000));
    for (let j = 0; j < 20; j++) storage.kv.delete(appId, `k${j}`);
    storage.kv.set(appId, "after", "fits");
    assert.equal(storage.kv.get(appId, "after"), "fits");
  } finally {
    storage.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a write while another process holds the lock is StorageError BUSY", async () => {
  const { dir, path } = await tempDb();
  const storage = Storage.open(path);
  const other = new DatabaseSync(path, { timeout: 0 });
  try {
    storage.db.exec("PRAGMA busy_timeout = 50");
    const appId = storage.apps.createVersion("locked", [], { keep: 1 }).app.id;
    other.exec("BEGIN EXCLUSIVE");
    other.exec("INSERT INTO settings (key, value) VALUES ('x', 'y')");
    assert.throws(() => storage.kv.set(appId, "k", "v"), (e: unknown) => {
      assert.ok(e instanceof StorageError);
      assert.equal(e.code, "BUSY");
      return true;
    });
    assert.throws(() => storage.db.transaction(() => storage.kv.set(appId, "k", "v")), {
      code: "BUSY",
    });
    other.exec("ROLLBACK");
    storage.kv.set(appId, "k", "v");
    assert.equal(storage.kv.get(appId, "k"), "v");
  } finally {
    other.close();
    storage.close();
    await Deno.remove(dir, { recursive: true });
  }
});
