/**
 * Opening the file: apart from `database.ts` because it runs the migrations,
 * and the migrations take a `Database` (one module holding both made a circle).
 * @module
 */
import { DatabaseSync } from "node:sqlite";
import { Database } from "./database.ts";
import { migrate, schemaVersion } from "./migrations.ts";

export interface OpenOptions {
  /** Apply migrations up to this number only (tests of the upgrade path). */
  migrateTo?: number;
}

/**
 * Opens (creating if needed) the database file with mode 0600, sets the
 * pragmas fazt relies on and applies pending migrations.
 */
export function openDatabase(path: string, options: OpenOptions = {}): Database {
  if (path !== ":memory:") ensureFile(path);
  const db = new Database(path, connect(path));
  migrate(db, options.migrateTo);
  if (path !== ":memory:") restrictSidecars(path);
  if (schemaVersion(db) >= 1) applySizeCap(db);
  return db;
}

/**
 * `db_max_mb`, read here rather than by the server: the cap holds per
 * connection, and every connection the node opens (the analytics writer's
 * too) comes through this function.
 */
function applySizeCap(db: Database): void {
  const row = db.get<{ value: string }>("SELECT value FROM settings WHERE key = 'db_max_mb'");
  const mb = Number(row?.value ?? 0);
  if (Number.isInteger(mb) && mb > 0) db.limitSize(mb * 1024 * 1024);
}

function connect(path: string): DatabaseSync {
  const raw = new DatabaseSync(path, { timeout: 5000 });
  raw.exec("PRAGMA journal_mode = WAL");
  raw.exec("PRAGMA synchronous = NORMAL");
  raw.exec("PRAGMA foreign_keys = ON");
  raw.exec("PRAGMA busy_timeout = 5000");
  return raw;
}

/**
 * Puts the checked database file `incoming` in place of `db`'s file and
 * reopens `db` on it (a warm standby's refresh): every store keeps working,
 * on the new contents. The old file's WAL goes with its connection. When
 * the swap fails, `db` is reopened on its old file and the error thrown.
 */
export function replaceDatabaseFile(db: Database, incoming: string): void {
  db.reopen(() => {
    for (const side of ["-wal", "-shm"]) {
      try {
        Deno.removeSync(db.path + side);
      } catch (err) {
        if (!(err instanceof Deno.errors.NotFound)) throw err;
      }
    }
    Deno.renameSync(incoming, db.path);
    return connect(db.path);
  }, () => connect(db.path));
  migrate(db);
  restrictSidecars(db.path);
}

/** The WAL and shared-memory files hold the same data as the database. */
function restrictSidecars(path: string): void {
  if (Deno.build.os === "windows") return;
  for (const suffix of ["-wal", "-shm"]) {
    try {
      Deno.chmodSync(path + suffix, 0o600);
    } catch (err) {
      if (!(err instanceof Deno.errors.NotFound)) throw err;
    }
  }
}

function ensureFile(path: string): void {
  const dir = path.replace(/[\\/][^\\/]*$/, "");
  if (dir && dir !== path) Deno.mkdirSync(dir, { recursive: true, mode: 0o700 });
  try {
    Deno.statSync(path);
  } catch (err) {
    if (!(err instanceof Deno.errors.NotFound)) throw err;
    Deno.writeFileSync(path, new Uint8Array(), { mode: 0o600 });
  }
  if (Deno.build.os !== "windows") Deno.chmodSync(path, 0o600);
}
