/**
 * Putting a backup in place of a node's database file, only when the backup
 * is sound and no process has the database open.
 * @module
 */
import { DatabaseSync } from "node:sqlite";
import {
  BackupError,
  checkDatabaseFile,
  compactTime,
  type DatabaseFileInfo,
  forgetReplica,
} from "./backup.ts";

export interface RestoreResult extends DatabaseFileInfo {
  /** Where the database that was replaced is kept (absent when there was none). */
  replaced?: string;
}

const SIDE_FILES = ["-wal", "-shm", "-journal"];

/**
 * Replaces the database at `target` with the backup at `backup`.
 *
 * The backup (and a `-wal` beside it, if it has one) is copied next to the
 * target and checked there, so what is checked is exactly what goes live:
 * it must be a fazt database, intact, with a schema this program knows.
 *
 * A running node keeps its database open, and an open WAL connection holds
 * a shared lock on the file for as long as it lives; so the target is
 * opened with `locking_mode = EXCLUSIVE` and `BEGIN EXCLUSIVE`, which only
 * succeeds when no other connection exists in any process (and whatever
 * died without closing left no lock: the OS drops it). That connection
 * folds the old WAL into the old file and keeps every other process out
 * while the files move: the old database is kept, whole, as
 * `<target>.replaced-<time>`, and no `-wal` or `-shm` of it is left where the
 * restored file would pick it up (SQLite would replay an old WAL over it).
 */
export function restoreDatabase(
  backup: string,
  target: string,
  opts: { now?: Date } = {},
): RestoreResult {
  const stamp = compactTime(opts.now ?? new Date());
  const incoming = `${target}.restoring-${stamp}`;
  const made = makeParent(target);
  let done = false;
  try {
    copyIn(backup, incoming);
    const info = checkDatabaseFile(incoming);
    foldWal(incoming);
    const lock = lockExclusively(target);
    try {
      let replaced: string | undefined;
      if (exists(target)) {
        replaced = `${target}.replaced-${stamp}`;
        Deno.renameSync(target, replaced);
      }
      for (const side of SIDE_FILES) {
        if (!exists(target + side)) continue;
        // Only when the old database could not be opened (damaged): keep its
        // side files with it rather than lose what its WAL held.
        if (replaced && lock === undefined) Deno.renameSync(target + side, replaced + side);
        else Deno.removeSync(target + side);
      }
      Deno.renameSync(incoming, target);
      done = true;
      return { ...info, bytes: Deno.statSync(target).size, replaced };
    } finally {
      lock?.close();
    }
  } finally {
    for (const side of ["", ...SIDE_FILES]) removeIfThere(incoming + side);
    // A refusal leaves no trace, not even the folder it made for the target.
    if (!done && made) Deno.removeSync(made, { recursive: true });
  }
}

/** Makes the target's folder (mode 0700); the topmost folder it made, if any. */
function makeParent(target: string): string | undefined {
  const slash = Math.max(target.lastIndexOf("/"), target.lastIndexOf("\\"));
  if (slash <= 0) return undefined;
  const parent = target.slice(0, slash);
  let missing: string | undefined;
  for (let dir = parent; dir && !exists(dir);) {
    missing = dir;
    const up = Math.max(dir.lastIndexOf("/"), dir.lastIndexOf("\\"));
    dir = up > 0 ? dir.slice(0, up) : "";
  }
  if (missing) Deno.mkdirSync(parent, { recursive: true, mode: 0o700 });
  return missing;
}

/** Copies the backup (and its WAL, which holds its latest commits) with mode 0600. */
function copyIn(backup: string, incoming: string): void {
  Deno.writeFileSync(incoming, new Uint8Array(), { createNew: true, mode: 0o600 });
  if (Deno.build.os !== "windows") Deno.chmodSync(incoming, 0o600);
  Deno.copyFileSync(backup, incoming);
  let walBytes = 0;
  try {
    walBytes = Deno.statSync(`${backup}-wal`).size;
  } catch {
    // No WAL beside it: the usual case (fazt's backups are single files).
  }
  if (walBytes > 0) {
    Deno.writeFileSync(`${incoming}-wal`, new Uint8Array(), { createNew: true, mode: 0o600 });
    Deno.copyFileSync(`${backup}-wal`, `${incoming}-wal`);
  }
}

/** Makes the checked copy one self-contained file (its WAL written into it). */
function foldWal(path: string): void {
  const db = new DatabaseSync(path);
  try {
    db.exec("PRAGMA journal_mode = DELETE");
  } finally {
    db.close();
  }
}

/**
 * The target opened so that no other connection can exist while it is held,
 * with its WAL folded into the file; `undefined` when there is no target,
 * or when it cannot be read at all (damaged: no node can be using it).
 */
function lockExclusively(target: string): DatabaseSync | undefined {
  if (!exists(target)) return undefined;
  // A second in case another short-lived process (a CLI command) has it open.
  const db = new DatabaseSync(target, { timeout: 1000 });
  try {
    db.exec("PRAGMA locking_mode = EXCLUSIVE");
    db.exec("BEGIN EXCLUSIVE");
    db.exec("COMMIT");
  } catch (err) {
    db.close();
    if (isLocked(err)) {
      throw new BackupError(
        "DATABASE_IN_USE",
        "the database is open in another process (is a node running on it?): stop it first",
      );
    }
    return undefined;
  }
  try {
    db.exec("PRAGMA journal_mode = DELETE");
  } catch {
    // A WAL that cannot be folded in stays beside the replaced file (see above).
    db.close();
    return undefined;
  }
  return db;
}

/**
 * Throws `DATABASE_IN_USE` when another process has the database at `path`
 * open (a running node, or its Litestream); nothing when there is no file.
 * The file is left as it was.
 */
export function assertNotInUse(path: string): void {
  if (!exists(path)) return;
  const db = new DatabaseSync(path, { timeout: 1000 });
  try {
    db.exec("PRAGMA locking_mode = EXCLUSIVE");
    db.exec("BEGIN EXCLUSIVE");
    db.exec("COMMIT");
  } catch (err) {
    if (isLocked(err)) {
      throw new BackupError(
        "DATABASE_IN_USE",
        "the database is open in another process (is a node running on it?): stop it first",
      );
    }
    throw err;
  } finally {
    db.close();
  }
}

/**
 * Turns replication off in the database file at `path` and forgets the
 * replica's credentials (`forgetReplica`): a restored copy must not start
 * writing to the replica its original writes to. (Read without migrating:
 * it is checked and migrated when it is put in place and opened.)
 */
export function detachReplica(path: string): void {
  const raw = new DatabaseSync(path, { timeout: 5000 });
  try {
    forgetReplica(raw);
  } finally {
    raw.close();
  }
}

/**
 * SQLITE_BUSY (5) or SQLITE_LOCKED (6): another connection has the file.
 * node:sqlite's `exec` errors carry only the message.
 */
function isLocked(err: unknown): boolean {
  const code = (err as { errcode?: number }).errcode;
  if (code !== undefined) return code === 5 || code === 6;
  return /database (table )?is locked|database is busy/i.test(String((err as Error)?.message));
}

function exists(path: string): boolean {
  try {
    Deno.statSync(path);
    return true;
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return false;
    throw err;
  }
}

function removeIfThere(path: string): void {
  try {
    Deno.removeSync(path);
  } catch (err) {
    if (!(err instanceof Deno.errors.NotFound)) throw err;
  }
}
