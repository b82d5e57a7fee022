import assert from "node:assert/strict";
import { backupFileName, checkDatabaseFile, listBackups, Storage } from "../storage/mod.ts";
import { waitFor } from "../tests/deadline.ts";
import { BackupScheduler } from "./backup_scheduler.ts";

const DAY = 86_400_000;

async function withDb(fn: (dir: string, dbPath: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "fazt-scheduler-" });
  const dbPath = `${dir}/data.db`;
  Storage.open(dbPath).close();
  try {
    await fn(dir, dbPath);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("scheduler: off by default, nothing made, no warning", async () => {
  await withDb(async (dir, dbPath) => {
    const s = new BackupScheduler({
      dbPath,
      settings: { backup_interval: "off", backup_keep: 7, backup_dir: "auto" },
      log: () => {},
    });
    s.start();
    assert.equal(s.dir, `${dir}/backups`);
    assert.deepEqual(s.status(), {
      interval: "off",
      keep: 7,
      next_at: null,
      running: false,
      last: null,
      last_ok_at: null,
      warning: null,
    });
    await s.close();
    assert.deepEqual(listBackups(s.dir), []);
  });
});

Deno.test("scheduler: picks up the folder's newest backup, warns when it is too old, then catches up", async () => {
  await withDb(async (dir, dbPath) => {
    let now = Date.UTC(2026, 10, 29, 12);
    const old = now - 3 * DAY;
    Deno.mkdirSync(`${dir}/backups`);
    Deno.writeTextFileSync(`${dir}/backups/${backupFileName(new Date(old))}`, "an old one");
    const logs: string[] = [];
    const s = new BackupScheduler({
      dbPath,
      settings: { backup_interval: "1d", backup_keep: 1, backup_dir: "auto" },
      log: (m) => logs.push(m),
      now: () => now,
    });
    s.start();
    const before = s.status();
    assert.equal(before.interval, "1d");
    assert.equal(before.last?.at, old);
    assert.equal(before.last_ok_at, old);
    assert.equal(before.next_at, old + DAY, "overdue: due at once");
    assert.match(before.warning ?? "", /older than twice the interval/);
    // The overdue backup runs at once (the timer is already armed).
    const made = await waitFor(() => s.status().last?.at === now && s.status().last, "the backup");
    assert.equal(made.ok, true, JSON.stringify(made));
    assert.equal(made.file, backupFileName(new Date(now)));
    const after = s.status();
    assert.equal(after.warning, null);
    assert.equal(after.next_at, now + DAY);
    assert.deepEqual(listBackups(s.dir).map((b) => b.name), [made.file], "the old one pruned");
    checkDatabaseFile(`${s.dir}/${made.file}`);
    // A day and a half later with no backup made (the node was suspended): not yet a warning.
    now += 1.5 * DAY;
    assert.equal(s.status().warning, null);
    now += DAY;
    assert.match(s.status().warning ?? "", /older than twice/);
    await s.close();
    assert.ok(logs.some((l) => /removed 1 older/.test(l)), logs.join("\n"));
  });
});

Deno.test("scheduler: a failure is recorded without paths and warned about", async () => {
  await withDb(async (dir, dbPath) => {
    // A file where the folder should be: it can never be made.
    Deno.writeTextFileSync(`${dir}/blocker`, "");
    const logs: string[] = [];
    const s = new BackupScheduler({
      dbPath,
      settings: { backup_interval: "1h", backup_keep: 3, backup_dir: `${dir}/blocker/backups` },
      log: (m) => logs.push(m),
    });
    const run = await s.runScheduled();
    assert.equal(run.ok, false);
    assert.equal(run.file, null);
    assert.equal(run.error, "the backup folder could not be made");
    assert.match(s.status().warning ?? "", /last scheduled backup failed/);
    assert.ok(logs.some((l) => l.startsWith("backup: failed")), logs.join("\n"));
    await s.close();
  });
});

Deno.test("scheduler: a download snapshot is checked, unlisted, and gone once discarded", async () => {
  await withDb(async (dir, dbPath) => {
    const s = new BackupScheduler({
      dbPath,
      settings: { backup_interval: "off", backup_keep: 3, backup_dir: "auto" },
      log: () => {},
    });
    const snap = await s.snapshotForDownload();
    const bytes = new Uint8Array(snap.bytes);
    let at = 0;
    while (at < bytes.length) {
      const n = await snap.file.read(bytes.subarray(at));
      if (n === null) break;
      at += n;
    }
    snap.discard();
    snap.discard();
    assert.equal(at, snap.bytes);
    Deno.writeFileSync(`${dir}/copy.db`, bytes);
    checkDatabaseFile(`${dir}/copy.db`);
    assert.match(snap.name, /^fazt-\d{8}T\d{6}\.\d{3}Z\.db$/);
    const left = [...Deno.readDirSync(dir)].map((e) => e.name)
      .filter((n) => !n.startsWith("data.db") && n !== "copy.db");
    assert.deepEqual(left, [], "nothing left beside the database, no backup folder made");
    await s.close();
  });
});

Deno.test("scheduler: a download's copy left by a crash is cleaned up at start", async () => {
  await withDb(async (dir, dbPath) => {
    const stale = `${dir}/.fazt-download-${crypto.randomUUID()}.partial`;
    const fresh = `${dir}/.fazt-download-${crypto.randomUUID()}.partial`;
    const mine = `${dir}/notes.partial`;
    for (const f of [stale, fresh, mine]) Deno.writeTextFileSync(f, "x");
    const old = new Date(Date.now() - 2 * DAY);
    Deno.utimeSync(stale, old, old);
    Deno.utimeSync(mine, old, old);
    const s = new BackupScheduler({
      dbPath,
      settings: { backup_interval: "off", backup_keep: 3, backup_dir: "auto" },
      log: () => {},
    });
    s.start();
    await s.close();
    const names = [...Deno.readDirSync(dir)].map((e) => e.name);
    assert.ok(!names.includes(stale.slice(dir.length + 1)), "the dead copy is gone");
    assert.ok(names.includes(fresh.slice(dir.length + 1)), "one that may be under way is kept");
    assert.ok(names.includes("notes.partial"), "files fazt did not make are kept");
  });
});
