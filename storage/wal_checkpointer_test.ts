import assert from "node:assert/strict";
import { waitFor } from "../tests/deadline.ts";
import { openDatabase } from "./open_database.ts";

Deno.test("background checkpoints copy the writer's commits into the file off its thread", async () => {
  const dir = await Deno.makeTempDir();
  const path = `${dir}/data.db`;
  const db = openDatabase(path);
  try {
    db.exec("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT NOT NULL)");
    db.checkpoint("TRUNCATE");
    db.checkpointInBackground();
    // The writer's own checkpoint waits for 4,000 pages, far more than written here.
    assert.equal(
      db.get<{ wal_autocheckpoint: number }>("PRAGMA wal_autocheckpoint")?.wal_autocheckpoint,
      4000,
    );
    const before = Deno.statSync(path).size;
    const row = "x".repeat(1000);
    db.transaction(() => {
      for (let i = 0; i < 500; i++) db.run("INSERT INTO t (v) VALUES (?)", row);
    });
    // Only a checkpoint moves pages from the WAL into the file, and this
    // connection ran none (~130 pages written): the Worker's did.
    await waitFor(() => Deno.statSync(path).size >= before + 500 * 1000, "a background checkpoint");
    assert.ok(db.backgroundCheckpoints >= 1);
    assert.equal(db.get<{ n: number }>("SELECT count(*) AS n FROM t")?.n, 500);
  } finally {
    db.close();
    // The Worker closes its connection on its own thread, after this.
    await waitFor(async () => {
      try {
        await Deno.remove(dir, { recursive: true });
        return true;
      } catch {
        return false;
      }
    }, "the Worker to let go of the file");
  }
});

Deno.test("an in-memory database has no background checkpoints", () => {
  const db = openDatabase(":memory:");
  try {
    db.checkpointInBackground();
    db.exec("CREATE TABLE t (v TEXT)");
    db.run("INSERT INTO t VALUES ('a')");
    assert.equal(db.backgroundCheckpoints, 0);
  } finally {
    db.close();
  }
});
