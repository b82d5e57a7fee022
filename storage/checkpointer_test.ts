import assert from "node:assert/strict";
import { Checkpointer, openDatabase } from "./mod.ts";
import type { Database } from "./database.ts";

async function tempDb(): Promise<{ db: Database; path: string; cleanup: () => Promise<void> }> {
  const dir = await Deno.makeTempDir({ prefix: "fazt-ckpt-" });
  const path = `${dir}/data.db`;
  const db = openDatabase(path);
  db.exec("CREATE TABLE rows (n INTEGER PRIMARY KEY, data BLOB NOT NULL)");
  return {
    db,
    path,
    cleanup: async () => {
      db.close();
      await Deno.remove(dir, { recursive: true });
    },
  };
}

const autocheckpoint = (db: Database) =>
  db.get<{ wal_autocheckpoint: number }>("PRAGMA wal_autocheckpoint")!.wal_autocheckpoint;

/** Pages of the database file itself: only a checkpoint writes them. */
const filePages = (path: string) => Deno.statSync(path).size / 4096;

const walBytes = (path: string) => Deno.statSync(`${path}-wal`).size;

function commit(db: Database, kib: number): void {
  db.run("INSERT INTO rows (data) VALUES (?)", new Uint8Array(kib * 1024));
}

async function until(what: string, ok: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

Deno.test("steady commits move checkpoints to the thread; idle, they come back", async () => {
  const { db, path, cleanup } = await tempDb();
  const ckpt = new Checkpointer(db, { commitsPerSecond: 20, delayMs: 5, idleMs: 200 });
  try {
    // A few commits are not a steady load: SQLite's own checkpoints stay.
    for (let i = 0; i < 5; i++) commit(db, 1);
    assert.equal(ckpt.active, false);
    assert.equal(autocheckpoint(db), 1000);
    const before = filePages(path);
    // 100 commits of 8 KiB: ~300 WAL pages, fewer than SQLite's 1,000, so
    // only the thread can have copied them into the file.
    for (let i = 0; i < 100; i++) commit(db, 8);
    assert.equal(ckpt.active, true);
    assert.equal(autocheckpoint(db), 0, "the connection's automatic checkpoints are off");
    await until("a checkpoint on the thread", () => ckpt.runs >= 1);
    assert.ok(ckpt.copied >= 200, "the thread copied the pages back");
    assert.ok(filePages(path) >= before + 200, "the pages are in the file");

    // Commits after a checkpoint ask for the next.
    const runs = ckpt.runs;
    for (let i = 0; i < 10; i++) commit(db, 8);
    await until("another checkpoint", () => ckpt.runs > runs);
    await until("the thread stopping once commits stop", () => !ckpt.active, 3000);
    assert.equal(autocheckpoint(db), 1000);
    assert.equal(db.get<{ n: number }>("SELECT count(*) AS n FROM rows")!.n, 115);
    // A new burst starts it again.
    for (let i = 0; i < 30; i++) commit(db, 1);
    assert.equal(ckpt.active, true);
  } finally {
    await ckpt.close();
    await cleanup();
  }
  assert.equal(ckpt.active, false);
});

Deno.test("under commits that never stop, the WAL stays bounded", async () => {
  const { db, path, cleanup } = await tempDb();
  const ckpt = new Checkpointer(db, { commitsPerSecond: 20, delayMs: 20, idleMs: 1000 });
  try {
    // Commits go on while the thread checkpoints, so its checkpoint may not
    // find every frame back in the file; the connection copies the tail
    // after each, so the WAL starts over (in the server, without the tail,
    // it grew by ~13 MB a second under docs.insert load).
    let written = 0;
    const end = Date.now() + 1500;
    while (Date.now() < end) {
      // 5 ms of commits back to back, then the event loop turns (the
      // thread's answers arrive then).
      const burst = performance.now() + 5;
      while (performance.now() < burst) {
        commit(db, 4);
        written += 4096;
      }
      await new Promise((r) => setTimeout(r, 0));
    }
    assert.ok(ckpt.runs >= 3, `${ckpt.runs} checkpoints on the thread`);
    assert.equal(db.checkpoints.PASSIVE, ckpt.runs, "the tail copied after each");
    const wal = walBytes(path);
    assert.ok(wal < written, `the WAL holds ${wal} bytes of the ${written} written`);
  } finally {
    await ckpt.close();
    await cleanup();
  }
});

Deno.test("while Litestream replicates, checkpoints stay its own", async () => {
  const { db, cleanup } = await tempDb();
  const ckpt = new Checkpointer(db, { commitsPerSecond: 10, delayMs: 5, idleMs: 200 });
  try {
    for (let i = 0; i < 20; i++) commit(db, 1);
    assert.equal(ckpt.active, true);
    db.setReplication({ enabled: true, running: true });
    assert.equal(ckpt.active, false, "the thread stops when Litestream starts");
    for (let i = 0; i < 50; i++) commit(db, 1);
    assert.equal(ckpt.active, false);
    assert.equal(autocheckpoint(db), 0);
    // Litestream down: the node checkpoints again, on the thread under load.
    db.setReplication({ enabled: true, running: false });
    assert.equal(autocheckpoint(db), 1000);
    for (let i = 0; i < 20; i++) commit(db, 1);
    assert.equal(ckpt.active, true);
    assert.equal(autocheckpoint(db), 0);
  } finally {
    await ckpt.close();
    await cleanup();
  }
});

Deno.test("once closed, the connection keeps its own checkpoints", async () => {
  const { db, cleanup } = await tempDb();
  const ckpt = new Checkpointer(db, { commitsPerSecond: 10 });
  try {
    for (let i = 0; i < 20; i++) commit(db, 1);
    assert.equal(ckpt.active, true);
    await ckpt.close();
    assert.equal(autocheckpoint(db), 1000);
    for (let i = 0; i < 50; i++) commit(db, 1);
    assert.equal(ckpt.active, false);
  } finally {
    await ckpt.close();
    await cleanup();
  }
});
