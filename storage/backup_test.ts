import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import {
  backupDirFor,
  BackupError,
  backupFileName,
  backupTime,
  checkDatabaseFile,
  detachReplica,
  LATEST_MIGRATION,
  listBackups,
  pruneBackups,
  readStoredSettings,
  restoreDatabase,
  snapshotDatabase,
  Storage,
} from "./mod.ts";

/** Asserts that `fn` throws a `BackupError` with `code`. */
async function refusedWith(fn: () => unknown, code: string): Promise<BackupError> {
  try {
    await fn();
  } catch (err) {
    assert.ok(err instanceof BackupError, `expected a BackupError, got ${err}`);
    assert.equal(err.code, code, err.message);
    return err;
  }
  throw new assert.AssertionError({ message: `expected a refusal with ${code}` });
}

/** A fazt database with one token, closed. */
function faztDb(path: string, tokenName = "owner"): void {
  const s = Storage.open(path);
  s.tokens.create(tokenName, "admin");
  s.close();
}

/** Read with a connection that cleans up its WAL and shared memory as it closes. */
function tokenNames(path: string): string[] {
  const db = new DatabaseSync(path);
  try {
    return db.prepare("SELECT name FROM tokens ORDER BY id").all().map((r) => String(r.name));
  } finally {
    db.close();
  }
}

function siblings(dir: string): string[] {
  return [...Deno.readDirSync(dir)].map((e) => e.name).sort();
}

/** A copy of a fazt database with its bytes damaged mid-file (SQLite still opens it). */
function damagedDb(path: string): void {
  const s = Storage.open(path);
  s.db.exec("CREATE TABLE filler (id INTEGER PRIMARY KEY, v TEXT); CREATE INDEX fv ON filler (v)");
  s.db.transaction(() => {
    for (let i = 0; i < 2000; i++) {
      s.db.run("INSERT INTO filler (v) VALUES (?)", "x".repeat(200) + i);
    }
  });
  s.close();
  const bytes = Deno.readFileSync(path);
  const middle = Math.floor(bytes.length / 4096 / 2) * 4096;
  bytes.fill(0x41, middle + 100, middle + 3000);
  Deno.writeFileSync(path, bytes);
}

Deno.test("snapshot: a consistent, checked copy while another process writes", async () => {
  const dir = await Deno.makeTempDir({ prefix: "fazt-backup-" });
  const path = `${dir}/data.db`;
  const s = Storage.open(path);
  s.db.exec("CREATE TABLE load (id INTEGER PRIMARY KEY, v BLOB NOT NULL)");
  s.db.transaction(() => {
    for (let i = 0; i < 20_000; i++) s.db.run("INSERT INTO load (v) VALUES (randomblob(512))");
  });
  s.close();
  // The writer commits one row at a time and prints how many it has committed.
  const writer = new Deno.Command(Deno.execPath(), {
    args: [
      "eval",
      `import { DatabaseSync } from "node:sqlite";
       const db = new DatabaseSync(${JSON.stringify(path)}, { timeout: 10000 });
       const ins = db.prepare("INSERT INTO load (v) VALUES (randomblob(512))");
       let n = 20000;
       while (true) {
         ins.run();
         n++;
         if (n % 20 === 0) { console.log(n); await new Promise((r) => setTimeout(r, 0)); }
       }`,
    ],
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  let committed = 0;
  let changed = Promise.withResolvers<void>();
  const reading = (async () => {
    const dec = new TextDecoder();
    let buf = "";
    for await (const chunk of writer.stdout) {
      buf += dec.decode(chunk, { stream: true });
      const lines = buf.split("\n");
      buf = lines.pop()!;
      for (const l of lines) committed = Math.max(committed, Number(l));
      changed.resolve();
      changed = Promise.withResolvers();
    }
  })();
  const wroteAtLeast = async (n: number) => {
    const timeout = setTimeout(
      () => changed.reject(new Error(`writer stuck at ${committed}`)),
      30_000,
    );
    try {
      while (committed < n) await changed.promise;
    } finally {
      clearTimeout(timeout);
    }
  };
  try {
    await wroteAtLeast(20_200);
    const acknowledged = committed;
    const info = await snapshotDatabase(path, `${dir}/snap.db`);
    await wroteAtLeast(committed + 100); // the writer was never stopped
    const snap = new DatabaseSync(`${dir}/snap.db`, { readOnly: true });
    try {
      assert.equal(snap.prepare("PRAGMA integrity_check").get()!.integrity_check, "ok");
      const { n, top } = snap.prepare("SELECT COUNT(*) AS n, MAX(id) AS top FROM load").get() as {
        n: number;
        top: number;
      };
      assert.ok(n >= acknowledged, `rows committed before the snapshot are in it (${n})`);
      assert.equal(top, n, "the copy is one commit's state: no gaps");
      assert.equal(
        snap.prepare("PRAGMA journal_mode").get()!.journal_mode,
        "delete",
        "one self-contained file, no WAL",
      );
    } finally {
      snap.close();
    }
    assert.equal(info.schema, LATEST_MIGRATION);
    assert.equal(info.bytes, Deno.statSync(`${dir}/snap.db`).size);
    if (Deno.build.os !== "windows") {
      assert.equal(Deno.statSync(`${dir}/snap.db`).mode! & 0o777, 0o600);
      for (const side of ["-wal", "-shm"]) {
        assert.equal(Deno.statSync(path + side).mode! & 0o777, 0o600, `the live file's ${side}`);
      }
    }
  } finally {
    writer.kill("SIGKILL");
    await writer.status;
    await reading;
    await Deno.remove(dir, { recursive: true });
  }
});

/** Whether the bytes of `text` occur anywhere in the file at `path`. */
function fileHolds(path: string, text: string): boolean {
  const hay = Deno.readFileSync(path);
  const needle = new TextEncoder().encode(text);
  outer: for (let i = 0; i + needle.length <= hay.length; i++) {
    for (let j = 0; j < needle.length; j++) if (hay[i + j] !== needle[j]) continue outer;
    return true;
  }
  return false;
}

Deno.test("snapshot and detached copy: no replica credentials, not even earlier ones", async () => {
  const dir = await Deno.makeTempDir({ prefix: "fazt-backup-creds-" });
  try {
    const path = `${dir}/data.db`;
    const s = Storage.open(path);
    const credentials: string[] = [];
    // Credentials changed several times, each of another length, other settings in between.
    for (let i = 0; i < 4; i++) {
      const secret = `sk-${i}-${crypto.randomUUID()}`.repeat(i + 1);
      const keyId = `AKID${i}${crypto.randomUUID().replaceAll("-", "")}`.slice(0, 12 + i);
      credentials.push(secret, keyId);
      s.settings.set("replica_url", `file://${dir}/replica-${i}`);
      s.settings.set("replica_secret", secret);
      s.settings.set("replica_access_key_id", keyId);
      s.settings.set("backup_keep", 3 + i);
    }
    s.settings.set("replica_key_path", "/keys/id");
    s.tokens.create("owner", "admin");
    s.close();
    // An older credential in pages freed long ago, as a migration that
    // rebuilt a table leaves them (written without secure_delete).
    const freed = `sk-freed-${crypto.randomUUID()}`;
    credentials.push(freed);
    const raw = new DatabaseSync(path);
    raw.exec("PRAGMA secure_delete = OFF");
    raw.exec("CREATE TABLE settings_old (key TEXT, value TEXT)");
    const old = raw.prepare("INSERT INTO settings_old VALUES ('replica_secret', ?)");
    for (let i = 0; i < 200; i++) old.run(`${freed}-${"x".repeat(i)}`);
    raw.exec("DROP TABLE settings_old");
    raw.exec("PRAGMA wal_checkpoint(TRUNCATE)");
    raw.close();
    assert.ok(fileHolds(path, freed), "the freed pages hold it");

    const info = await snapshotDatabase(path, `${dir}/snap.db`);
    assert.equal(info.bytes, Deno.statSync(`${dir}/snap.db`).size);
    assert.deepEqual(credentials.filter((c) => fileHolds(`${dir}/snap.db`, c)), []);
    const snap = Storage.open(`${dir}/snap.db`);
    try {
      const settings = snap.settings.load();
      assert.equal(settings.replica_url, "none", "replication is off in the copy");
      assert.equal(settings.replica_secret, "");
      assert.equal(settings.replica_access_key_id, "");
      assert.equal(settings.backup_keep, 6, "every other setting is kept");
      assert.equal(settings.replica_key_path, "/keys/id", "a key's path is no credential");
      assert.deepEqual(snap.tokens.list().map((t) => t.name), ["owner"]);
    } finally {
      snap.close();
    }
    assert.equal(checkDatabaseFile(`${dir}/snap.db`).schema, LATEST_MIGRATION);

    // A restore's copy is detached the same way.
    Deno.copyFileSync(path, `${dir}/copy.db`);
    detachReplica(`${dir}/copy.db`);
    assert.deepEqual(credentials.filter((c) => fileHolds(`${dir}/copy.db`, c)), []);
    assert.equal(readStoredSettings(`${dir}/copy.db`).replica_url, "none");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("snapshot: failures leave nothing behind and say why without paths", async () => {
  const dir = await Deno.makeTempDir({ prefix: "fazt-backup-" });
  try {
    const err = await refusedWith(
      () => snapshotDatabase(`${dir}/missing.db`, `${dir}/out.db`),
      "BACKUP_FAILED",
    );
    assert.doesNotMatch(err.message, new RegExp(dir.replace(/[/\\]/g, ".")));
    assert.deepEqual(siblings(dir), []);
    Deno.writeTextFileSync(`${dir}/text.db`, "hello, not a database at all".repeat(100));
    await refusedWith(() => snapshotDatabase(`${dir}/text.db`, `${dir}/out.db`), "BACKUP_FAILED");
    assert.deepEqual(siblings(dir), ["text.db"]);
    faztDb(`${dir}/data.db`);
    Deno.writeTextFileSync(`${dir}/taken.db`, "x");
    await assert.rejects(
      () => snapshotDatabase(`${dir}/data.db`, `${dir}/taken.db`),
      Deno.errors.AlreadyExists,
    );
    assert.equal(Deno.readTextFileSync(`${dir}/taken.db`), "x", "an existing file is not touched");
    const abort = new AbortController();
    abort.abort(new Error("stopping"));
    await assert.rejects(
      () => snapshotDatabase(`${dir}/data.db`, `${dir}/out.db`, { signal: abort.signal }),
      /stopping/,
    );
    assert.ok(!siblings(dir).includes("out.db"));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("check: refuses what is not a sound fazt database this program knows", async () => {
  const dir = await Deno.makeTempDir({ prefix: "fazt-backup-" });
  try {
    faztDb(`${dir}/good.db`);
    assert.equal(checkDatabaseFile(`${dir}/good.db`).schema, LATEST_MIGRATION);
    assert.equal(checkDatabaseFile(`${dir}/good.db`, { quick: true }).schema, LATEST_MIGRATION);

    Deno.writeFileSync(`${dir}/empty.db`, new Uint8Array());
    await refusedWith(() => checkDatabaseFile(`${dir}/empty.db`), "NOT_A_DATABASE");
    Deno.writeTextFileSync(`${dir}/text.db`, "PK\u0003\u0004 a zip, not a database".repeat(50));
    await refusedWith(() => checkDatabaseFile(`${dir}/text.db`), "NOT_A_DATABASE");

    const other = new DatabaseSync(`${dir}/other.db`);
    other.exec("CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT); PRAGMA user_version = 3");
    other.close();
    await refusedWith(() => checkDatabaseFile(`${dir}/other.db`), "NOT_FAZT_DATABASE");

    faztDb(`${dir}/newer.db`);
    const newer = new DatabaseSync(`${dir}/newer.db`);
    newer.exec(`PRAGMA user_version = ${LATEST_MIGRATION + 1}`);
    newer.close();
    const err = await refusedWith(() => checkDatabaseFile(`${dir}/newer.db`), "NEWER_SCHEMA");
    assert.match(err.message, new RegExp(`schema ${LATEST_MIGRATION + 1}`));

    damagedDb(`${dir}/damaged.db`);
    await refusedWith(() => checkDatabaseFile(`${dir}/damaged.db`), "INTEGRITY_FAILED");
    await refusedWith(
      () => checkDatabaseFile(`${dir}/damaged.db`, { quick: true }),
      "INTEGRITY_FAILED",
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("restore: puts the backup in place and keeps the replaced database whole", async () => {
  const dir = await Deno.makeTempDir({ prefix: "fazt-restore-" });
  try {
    const target = `${dir}/node/data.db`;
    faztDb(`${dir}/backup-source.db`, "from-backup");
    await snapshotDatabase(`${dir}/backup-source.db`, `${dir}/backup.db`);
    // The live database died mid-run: its last commits are only in its WAL.
    Deno.mkdirSync(`${dir}/node`);
    faztDb(target, "old");
    const crash = await new Deno.Command(Deno.execPath(), {
      args: [
        "eval",
        `import { DatabaseSync } from "node:sqlite";
         const db = new DatabaseSync(${JSON.stringify(target)});
         db.exec("PRAGMA wal_autocheckpoint = 0");
         db.prepare("INSERT INTO tokens (name, scope, secret_hash, created_at) VALUES ('only-in-wal', 'read', 'x', 0)").run();
         Deno.exit(0);`,
      ],
    }).output();
    assert.equal(crash.code, 0);
    assert.ok(Deno.statSync(`${target}-wal`).size > 0, "the old database has a WAL with data");

    const now = new Date(Date.UTC(2026, 10, 29, 11, 57, 0, 123));
    const result = restoreDatabase(`${dir}/backup.db`, target, { now });
    assert.equal(result.replaced, `${target}.replaced-20261129T115700.123Z`);
    assert.equal(result.schema, LATEST_MIGRATION);
    assert.deepEqual(tokenNames(target), ["from-backup"]);
    assert.deepEqual(tokenNames(result.replaced!), ["old", "only-in-wal"], "the WAL came along");
    assert.deepEqual(siblings(`${dir}/node`), ["data.db", "data.db.replaced-20261129T115700.123Z"]);
    if (Deno.build.os !== "windows") assert.equal(Deno.statSync(target).mode! & 0o777, 0o600);
    // The node opens it as usual.
    const s = Storage.open(target);
    assert.deepEqual(s.tokens.list().map((t) => t.name), ["from-backup"]);
    s.close();

    // Onto a path with no database yet.
    const fresh = restoreDatabase(`${dir}/backup.db`, `${dir}/new/place/data.db`);
    assert.equal(fresh.replaced, undefined);
    assert.deepEqual(tokenNames(`${dir}/new/place/data.db`), ["from-backup"]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("restore: a backup's own WAL is part of it", async () => {
  const dir = await Deno.makeTempDir({ prefix: "fazt-restore-" });
  try {
    // A file copied with its -wal from a stopped-uncleanly node.
    faztDb(`${dir}/src.db`, "base");
    const crash = await new Deno.Command(Deno.execPath(), {
      args: [
        "eval",
        `import { DatabaseSync } from "node:sqlite";
         const db = new DatabaseSync(${JSON.stringify(`${dir}/src.db`)});
         db.exec("PRAGMA wal_autocheckpoint = 0");
         db.prepare("INSERT INTO tokens (name, scope, secret_hash, created_at) VALUES ('late', 'read', 'x', 0)").run();
         Deno.exit(0);`,
      ],
    }).output();
    assert.equal(crash.code, 0);
    restoreDatabase(`${dir}/src.db`, `${dir}/data.db`);
    assert.deepEqual(tokenNames(`${dir}/data.db`), ["base", "late"]);
    assert.ok(!siblings(dir).some((n) => n.startsWith("data.db.restoring")), "no leftovers");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("restore: each refusal leaves the database and the folder as they were", async () => {
  const dir = await Deno.makeTempDir({ prefix: "fazt-restore-" });
  try {
    const target = `${dir}/data.db`;
    faztDb(target, "current");
    const bad = `${dir}/bad`;
    Deno.mkdirSync(bad);
    Deno.writeTextFileSync(`${bad}/text.db`, "not a database".repeat(100));
    const other = new DatabaseSync(`${bad}/other.db`);
    other.exec("CREATE TABLE notes (id INTEGER PRIMARY KEY)");
    other.close();
    faztDb(`${bad}/newer.db`);
    const newer = new DatabaseSync(`${bad}/newer.db`);
    newer.exec(`PRAGMA user_version = ${LATEST_MIGRATION + 1}`);
    newer.close();
    damagedDb(`${bad}/damaged.db`);
    const before = siblings(dir);
    for (
      const [file, code] of [
        ["text.db", "NOT_A_DATABASE"],
        ["other.db", "NOT_FAZT_DATABASE"],
        ["newer.db", "NEWER_SCHEMA"],
        ["damaged.db", "INTEGRITY_FAILED"],
      ]
    ) {
      await refusedWith(() => restoreDatabase(`${bad}/${file}`, target), code);
      assert.deepEqual(siblings(dir), before, `${file}: nothing left behind`);
      assert.deepEqual(tokenNames(target), ["current"], `${file}: the database is untouched`);
    }
    assert.throws(() => restoreDatabase(`${bad}/missing.db`, target), Deno.errors.NotFound);
    assert.deepEqual(siblings(dir), before);
    await refusedWith(
      () => restoreDatabase(`${bad}/text.db`, `${dir}/new/deep/data.db`),
      "NOT_A_DATABASE",
    );
    assert.deepEqual(siblings(dir), before, "not even the folder made for the target");

    // Open in this process (a node started in-process holds it like this).
    faztDb(`${dir}/good.db`, "good");
    const node = Storage.open(target);
    try {
      await refusedWith(() => restoreDatabase(`${dir}/good.db`, target), "DATABASE_IN_USE");
      assert.deepEqual(node.tokens.list().map((t) => t.name), ["current"]);
    } finally {
      node.close();
    }
    // Open in another process that stays idle.
    const holder = new Deno.Command(Deno.execPath(), {
      args: [
        "eval",
        `import { DatabaseSync } from "node:sqlite";
         const db = new DatabaseSync(${JSON.stringify(target)});
         db.prepare("SELECT COUNT(*) FROM tokens").get();
         console.log("open");
         setInterval(() => {}, 60_000);`,
      ],
      stdout: "piped",
    }).spawn();
    try {
      const reader = holder.stdout.getReader();
      const { value } = await reader.read();
      assert.match(new TextDecoder().decode(value), /open/);
      reader.releaseLock();
      await refusedWith(() => restoreDatabase(`${dir}/good.db`, target), "DATABASE_IN_USE");
      assert.deepEqual(tokenNames(target), ["current"]);
    } finally {
      holder.kill("SIGKILL");
      await holder.status;
      await holder.stdout.cancel();
    }
    // Once it is gone (even killed), the restore goes through.
    assert.equal(restoreDatabase(`${dir}/good.db`, target).replaced !== undefined, true);
    assert.deepEqual(tokenNames(target), ["good"]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("backup folder: names carry the time, pruning keeps the newest", async () => {
  const dir = await Deno.makeTempDir({ prefix: "fazt-backups-" });
  try {
    const t0 = Date.UTC(2026, 0, 1, 0, 0, 0, 5);
    assert.equal(backupFileName(new Date(t0)), "fazt-20260101T000000.005Z.db");
    assert.equal(backupTime("fazt-20260101T000000.005Z.db"), t0);
    assert.equal(backupTime("fazt-20260101.db"), undefined);
    assert.deepEqual(listBackups(`${dir}/missing`), []);
    for (let i = 0; i < 5; i++) {
      Deno.writeTextFileSync(
        `${dir}/${backupFileName(new Date(t0 + i * 3_600_000))}`,
        "x".repeat(i),
      );
    }
    Deno.writeTextFileSync(`${dir}/notes.txt`, "mine");
    Deno.writeTextFileSync(`${dir}/data.db`, "mine too");
    Deno.writeTextFileSync(`${dir}/fresh.partial`, "being written");
    Deno.writeTextFileSync(`${dir}/stale.partial`, "left by a crash");
    Deno.utimeSync(`${dir}/stale.partial`, new Date(t0), new Date(t0));
    const listed = listBackups(dir);
    assert.deepEqual(listed.map((b) => b.taken_at), [4, 3, 2, 1, 0].map((i) => t0 + i * 3_600_000));
    assert.deepEqual(listed.map((b) => b.bytes), [4, 3, 2, 1, 0]);
    const gone = pruneBackups(dir, 2, Date.now());
    assert.deepEqual(gone, listed.slice(2).map((b) => b.name));
    assert.deepEqual(listBackups(dir).map((b) => b.name), listed.slice(0, 2).map((b) => b.name));
    assert.ok(siblings(dir).includes("notes.txt") && siblings(dir).includes("data.db"));
    assert.ok(siblings(dir).includes("fresh.partial"), "a copy under way is left alone");
    assert.ok(!siblings(dir).includes("stale.partial"), "a dead copy is cleaned up");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("backup folder: auto is a backups folder beside the database", () => {
  assert.equal(backupDirFor("/var/lib/fazt/data.db", "auto"), "/var/lib/fazt/backups");
  assert.equal(backupDirFor("data.db", "auto"), "./backups");
  assert.equal(backupDirFor("/data.db", "auto"), "/backups");
  assert.equal(backupDirFor("/var/lib/fazt/data.db", "/srv/backups/"), "/srv/backups");
});
