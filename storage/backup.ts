/**
 * Backups of the database file: consistent snapshots taken while the node
 * serves, checks of a file that claims to be a fazt database, and the
 * folder scheduled backups go to.
 *
 * A snapshot is SQLite's online backup (node:sqlite's `backup()`) from a
 * read-only connection of its own, every page in one step: one read
 * transaction, so writers carry on (WAL), the copy is the database exactly
 * as of one commit, and it never starts over however busy the writers are
 * (a backup in several steps restarts whenever another connection writes).
 * Nothing here checkpoints the live file: that stays the node's business,
 * or Litestream's while it replicates (a TRUNCATE or RESTART checkpoint
 * from a second writer would stall against it). The copy is made on a
 * Worker thread, so a large database does not stop the serving thread.
 * (`VACUUM INTO` would compact the copy, but it attaches a database, and
 * Deno allows no ATTACH to a process without every permission.)
 * @module
 */
import { DatabaseSync } from "node:sqlite";
import { descriptorHeadroom } from "../lib/descriptors.ts";
import { Database } from "./database.ts";
import { LATEST_MIGRATION } from "./migrations.ts";
import { type Settings, SettingsStore } from "./settings.ts";

/** Why a file is not a usable fazt database, or why a snapshot failed. */
export type BackupErrorCode =
  | "NOT_A_DATABASE"
  | "NOT_FAZT_DATABASE"
  | "INTEGRITY_FAILED"
  | "NEWER_SCHEMA"
  | "DATABASE_IN_USE"
  | "BACKUP_FAILED";

/** A refusal or failure of a backup or restore; the message names no path. */
export class BackupError extends Error {
  override readonly name = "BackupError";

  constructor(readonly code: BackupErrorCode, message: string) {
    super(message);
  }
}

/** What a checked database file holds. */
export interface DatabaseFileInfo {
  /** Its schema version (`PRAGMA user_version`). */
  schema: number;
  bytes: number;
}

type Check = { ok: true; schema: number } | {
  ok: false;
  code: BackupErrorCode;
  message: string;
};

/**
 * The check itself, with nothing from outside its parameters: it also runs
 * stringified inside the snapshot Worker (see `SNAPSHOT_WORKER`).
 */
function checkFile(
  Sqlite: typeof DatabaseSync,
  path: string,
  latest: number,
  quick: boolean,
): Check {
  const header = new Uint8Array(16);
  const file = Deno.openSync(path, { read: true });
  let read: number | null;
  try {
    read = file.readSync(header);
  } finally {
    file.close();
  }
  if (read !== 16 || new TextDecoder().decode(header) !== "SQLite format 3\0") {
    return { ok: false, code: "NOT_A_DATABASE", message: "it is not a SQLite database" };
  }
  let db: DatabaseSync | undefined;
  try {
    db = new Sqlite(path, { readOnly: true });
    const rows = db.prepare(quick ? "PRAGMA quick_check" : "PRAGMA integrity_check").all();
    const report = rows.map((r) => String(Object.values(r)[0])).join("\n");
    if (report !== "ok") {
      const lines = report.split("\n").filter((l) => l && !l.startsWith("***"));
      const more = lines.length > 3 ? ` (and ${lines.length - 3} more)` : "";
      return {
        ok: false,
        code: "INTEGRITY_FAILED",
        message: `it fails SQLite's integrity check: ${lines.slice(0, 3).join("; ")}${more}`,
      };
    }
    const schema = Number(db.prepare("PRAGMA user_version").get()!.user_version);
    const tables = new Set(
      db.prepare("SELECT name FROM sqlite_schema WHERE type = 'table'").all().map((r) => r.name),
    );
    if (schema < 1 || !["settings", "owner", "tokens", "peers"].every((t) => tables.has(t))) {
      return { ok: false, code: "NOT_FAZT_DATABASE", message: "it is not a fazt database" };
    }
    if (schema > latest) {
      return {
        ok: false,
        code: "NEWER_SCHEMA",
        message: `it is from a newer fazt (schema ${schema}; this program knows up to ${latest})`,
      };
    }
    return { ok: true, schema };
  } catch (err) {
    // SQLITE_CORRUPT (11) and SQLITE_NOTADB (26): damaged past reading.
    // (node:sqlite's `exec` errors carry only the message.)
    const message = String((err as Error)?.message);
    const code = (err as { errcode?: number }).errcode ??
      (/not a database/.test(message) ? 26 : /malformed|corrupt/.test(message) ? 11 : 0);
    if (code === 11 || code === 26) {
      return {
        ok: false,
        code: code === 26 ? "NOT_A_DATABASE" : "INTEGRITY_FAILED",
        message: code === 26
          ? "it is not a SQLite database"
          : "it fails SQLite's integrity check: the file is damaged",
      };
    }
    throw err;
  } finally {
    db?.close();
  }
}

/**
 * Checks that `path` is a fazt database this program can open: SQLite,
 * intact (`PRAGMA integrity_check`, or the faster `quick_check`), with
 * fazt's tables and a schema no newer than this program's. Throws a
 * `BackupError` saying which it is not.
 */
export function checkDatabaseFile(path: string, opts: { quick?: boolean } = {}): DatabaseFileInfo {
  const result = checkFile(DatabaseSync, path, LATEST_MIGRATION, opts.quick ?? false);
  if (!result.ok) throw new BackupError(result.code, result.message);
  return { schema: result.schema, bytes: Deno.statSync(path).size };
}

/**
 * Turns replication off in a copy of the database and takes the replica's
 * credentials out of it, leaving no trace of them in the file: a backup or
 * restored copy must neither carry them nor write to the replica its
 * original writes to. The settings table is written again from scratch with
 * `secure_delete` on, so SQLite zeroes the old rows and the free space of its
 * pages (where earlier values of a credential linger) instead of leaving
 * them in the file; the file's free pages are overwritten with zeros too.
 * Absent rows read as the defaults: `replica_url` `none`, no credentials. A
 * file without a settings table is left alone (the check refuses it). With
 * nothing from outside its parameters: it also runs stringified inside the
 * snapshot Worker.
 */
export function forgetReplica(db: DatabaseSync): void {
  const hasSettings = db.prepare(
    "SELECT 1 AS x FROM sqlite_schema WHERE type = 'table' AND name = 'settings'",
  ).get();
  if (!hasSettings) return;
  db.exec("PRAGMA secure_delete = ON");
  db.exec("BEGIN IMMEDIATE");
  try {
    const kept = db.prepare(
      "SELECT key, value FROM settings WHERE key NOT IN " +
        "('replica_url', 'replica_secret', 'replica_access_key_id')",
    ).all();
    db.exec("DELETE FROM settings");
    const insert = db.prepare("INSERT INTO settings (key, value) VALUES (?, ?)");
    for (const row of kept) insert.run(row.key as string, row.value as string);
    // Pages freed long ago (a table a migration rebuilt, a settings table
    // that was once longer) still hold what they held: they are taken up by
    // zeros and freed again, which secure_delete zeroes too.
    const free = Number(db.prepare("PRAGMA freelist_count").get()!.freelist_count);
    if (free > 0) {
      const pageSize = Number(db.prepare("PRAGMA page_size").get()!.page_size);
      db.exec("CREATE TABLE fazt_scrub (b BLOB)");
      const fill = db.prepare("INSERT INTO fazt_scrub (b) VALUES (zeroblob(?))");
      for (let left = free; left > 0; left -= 4096) fill.run(Math.min(left, 4096) * pageSize);
      db.exec("DROP TABLE fazt_scrub");
    }
    db.exec("COMMIT");
  } catch (err) {
    db.exec("ROLLBACK");
    throw err;
  }
}

/** The snapshot: copy, forget the replica, then check, in the Worker, on connections of its own. */
function snapshotMain(
  sqlite: typeof import("node:sqlite"),
  check: typeof checkFile,
  forget: typeof forgetReplica,
  latest: number,
) {
  const scope = self as unknown as {
    onmessage: (e: MessageEvent<{ source: string; dest: string }>) => void;
    postMessage(v: unknown): void;
  };
  scope.onmessage = async ({ data: { source, dest } }) => {
    try {
      // Read-only: it never writes to, and never checkpoints, the live file.
      const db = new sqlite.DatabaseSync(source, { readOnly: true, timeout: 10_000 });
      try {
        await sqlite.backup(db, dest, { rate: -1 });
      } finally {
        db.close();
      }
      // The pages carry the live file's WAL flag: one self-contained file instead.
      const copy = new sqlite.DatabaseSync(dest);
      try {
        copy.exec("PRAGMA journal_mode = DELETE");
        // A backup never carries the replica's credentials (docs/scale.md).
        forget(copy);
      } finally {
        copy.close();
      }
      scope.postMessage(check(sqlite.DatabaseSync, dest, latest, false));
    } catch (err) {
      scope.postMessage({ ok: false, code: "BACKUP_FAILED", message: String(err) });
    }
  };
}

const SNAPSHOT_WORKER = `import * as sqlite from "node:sqlite";\n` +
  `(${snapshotMain})(sqlite, ${checkFile}, ${forgetReplica}, ${LATEST_MIGRATION});`;

let workerUrl: string | undefined;

/**
 * Writes a consistent copy of the database at `source` to `dest` (which
 * must not exist) while other connections read and write it, with
 * replication off and no replica credentials in it (`forgetReplica`), and
 * checks the copy with `PRAGMA integrity_check`. `dest` is created with mode 0600
 * before a byte is written. On failure or abort nothing is left at `dest`;
 * the error is a `BackupError` whose message is safe to show (SQLite's own
 * words, which can name files, go to `detail` for the log).
 */
export async function snapshotDatabase(
  source: string,
  dest: string,
  opts: { signal?: AbortSignal } = {},
): Promise<DatabaseFileInfo> {
  opts.signal?.throwIfAborted();
  if (!descriptorHeadroom()) throw new SnapshotFailed("out of file descriptors");
  Deno.writeFileSync(dest, new Uint8Array(), { createNew: true, mode: 0o600 });
  if (Deno.build.os !== "windows") Deno.chmodSync(dest, 0o600);
  workerUrl ??= URL.createObjectURL(new Blob([SNAPSHOT_WORKER], { type: "text/javascript" }));
  const worker = new Worker(workerUrl, { type: "module", name: "fazt-backup" });
  let abort: (() => void) | undefined;
  try {
    const result = await new Promise<Check>((resolve, reject) => {
      abort = () => reject(opts.signal!.reason);
      opts.signal?.addEventListener("abort", abort, { once: true });
      worker.onmessage = (e: MessageEvent<Check>) => resolve(e.data);
      worker.onerror = (e) => {
        e.preventDefault();
        reject(new Error(e.message));
      };
      worker.postMessage({ source, dest });
    });
    if (!result.ok) {
      throw result.code === "BACKUP_FAILED"
        ? new SnapshotFailed(result.message)
        : new BackupError(result.code, `the snapshot is not usable: ${result.message}`);
    }
    restrictSidecars(source);
    return { schema: result.schema, bytes: Deno.statSync(dest).size };
  } catch (err) {
    removeQuietly(dest);
    if (err instanceof BackupError) throw err;
    if (opts.signal?.aborted) throw opts.signal.reason;
    throw new SnapshotFailed(err instanceof Error ? err.message : String(err));
  } finally {
    if (abort) opts.signal?.removeEventListener("abort", abort);
    // A VACUUM already under way runs to its end in native code whatever
    // happens here; its output went to a file that is now removed.
    worker.terminate();
  }
}

/** `BACKUP_FAILED`, with SQLite's own message (which may name files) kept apart. */
export class SnapshotFailed extends BackupError {
  constructor(readonly detail: string) {
    super("BACKUP_FAILED", `the snapshot failed: ${plainReason(detail)}`);
  }
}

/** SQLite's reason without file names: "database or disk is full", "unable to open…". */
function plainReason(detail: string): string {
  if (/disk is full|SQLITE_FULL|No space/i.test(detail)) return "the disk is full";
  if (/unable to open|cannot open|No such file|not found/i.test(detail)) {
    return "the database file could not be opened";
  }
  if (/not a database/i.test(detail)) return "the database file is not a SQLite database";
  if (/locked|busy/i.test(detail)) return "the database stayed locked";
  if (/permission|readonly|access/i.test(detail)) return "permission denied";
  if (/file descriptors|too many open files/i.test(detail)) {
    return "the node is out of file descriptors; try again";
  }
  return "see the node's log";
}

/**
 * A read-only connection to a database no one else has open creates its
 * `-wal` and `-shm` with the default mode: they get the database's 0600.
 */
function restrictSidecars(path: string): void {
  if (Deno.build.os === "windows") return;
  for (const side of ["-wal", "-shm"]) {
    try {
      Deno.chmodSync(path + side, 0o600);
    } catch {
      // Not there, or not ours to change.
    }
  }
}

function removeQuietly(path: string): void {
  try {
    Deno.removeSync(path);
  } catch {
    // Already gone.
  }
}

// The backup folder.

/** `fazt-20261129T115700.123Z.db`: a backup's file name says when it was taken (UTC). */
export const BACKUP_FILE = /^fazt-(\d{8}T\d{6}\.\d{3}Z)\.db$/;

/** The file name of a backup taken at `at`. */
export function backupFileName(at: Date): string {
  return `fazt-${compactTime(at)}.db`;
}

/** `20261129T115700.123Z` */
export function compactTime(at: Date): string {
  return at.toISOString().replace(/[-:]/g, "");
}

/** When the backup named `name` was taken, from its name (ms), or `undefined`. */
export function backupTime(name: string): number | undefined {
  const m = BACKUP_FILE.exec(name);
  if (!m) return undefined;
  const t = m[1];
  return Date.parse(
    `${t.slice(0, 4)}-${t.slice(4, 6)}-${t.slice(6, 8)}T${t.slice(9, 11)}:${t.slice(11, 13)}:` +
      t.slice(13),
  );
}

/** One backup in the folder. */
export interface BackupFile {
  name: string;
  path: string;
  /** When it was taken, from its name. */
  taken_at: number;
  bytes: number;
}

/** The backups in `dir`, newest first; none when the folder does not exist. */
export function listBackups(dir: string): BackupFile[] {
  const out: BackupFile[] = [];
  let entries: Deno.DirEntry[];
  try {
    entries = [...Deno.readDirSync(dir)];
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return out;
    throw err;
  }
  for (const e of entries) {
    const taken = e.isFile ? backupTime(e.name) : undefined;
    if (taken === undefined) continue;
    const path = `${dir}/${e.name}`;
    try {
      out.push({ name: e.name, path, taken_at: taken, bytes: Deno.statSync(path).size });
    } catch {
      // Deleted while listing.
    }
  }
  return out.sort((a, b) => b.taken_at - a.taken_at || (a.name < b.name ? 1 : -1));
}

/**
 * Deletes all but the newest `keep` backups in `dir` (only files named as
 * backups), and unfinished copies (`*.partial`) older than a day, left by a
 * process that died mid-copy. Returns the names deleted.
 */
export function pruneBackups(dir: string, keep: number, now = Date.now()): string[] {
  const gone: string[] = [];
  for (const b of listBackups(dir).slice(Math.max(keep, 0))) {
    try {
      Deno.removeSync(b.path);
      gone.push(b.name);
    } catch (err) {
      if (!(err instanceof Deno.errors.NotFound)) throw err;
    }
  }
  removeStalePartials(dir, /\.partial$/, now);
  return gone;
}

/**
 * Deletes unfinished copies (named as `pattern` says) older than a day in
 * `dir`: left by a process that died mid-copy. Younger ones may be under way.
 */
export function removeStalePartials(dir: string, pattern: RegExp, now = Date.now()): void {
  try {
    for (const e of Deno.readDirSync(dir)) {
      if (!e.isFile || !pattern.test(e.name)) continue;
      const path = `${dir}/${e.name}`;
      const mtime = Deno.statSync(path).mtime?.getTime() ?? now;
      if (now - mtime > 86_400_000) removeQuietly(path);
    }
  } catch (err) {
    if (!(err instanceof Deno.errors.NotFound)) throw err;
  }
}

/** Where backups go: `backup_dir`, or with `auto` a `backups` folder beside the database. */
export function backupDirFor(dbPath: string, setting: string): string {
  if (setting !== "auto") return setting.replace(/[\\/]+$/, "") || "/";
  const slash = Math.max(dbPath.lastIndexOf("/"), dbPath.lastIndexOf("\\"));
  return `${slash === -1 ? "." : dbPath.slice(0, slash)}/backups`;
}

/**
 * The settings stored in the database file at `path`, read on a read-only
 * connection: a backup must not migrate (or otherwise write) what it copies.
 */
export function readStoredSettings(path: string): Settings {
  const raw = new DatabaseSync(path, { readOnly: true, timeout: 5000 });
  try {
    return new SettingsStore(new Database(path, raw)).load();
  } catch (err) {
    if (/no such table|not a database/.test(String((err as Error)?.message))) {
      throw new BackupError("NOT_FAZT_DATABASE", "it is not a fazt database");
    }
    throw err;
  } finally {
    raw.close();
  }
}
