import { DatabaseSync, type SQLInputValue } from "node:sqlite";
import { migrate } from "./migrations.ts";

export type Row = Record<string, unknown>;
export type Params = SQLInputValue[];

/**
 * The one SQLite file. Every store in `storage/` goes through this class, so
 * pragmas, statement caching and transactions live in one place.
 */
export class Database {
  readonly path: string;
  #db: DatabaseSync;
  #statements = new Map<string, ReturnType<DatabaseSync["prepare"]>>();
  #depth = 0;

  constructor(path: string, db: DatabaseSync) {
    this.path = path;
    this.#db = db;
  }

  #prepare(sql: string) {
    let stmt = this.#statements.get(sql);
    if (!stmt) {
      stmt = this.#db.prepare(sql);
      // Document queries vary with each filter's shape, so the cache is
      // bounded; the oldest statement goes first.
      if (this.#statements.size >= 1000) {
        this.#statements.delete(this.#statements.keys().next().value!);
      }
      this.#statements.set(sql, stmt);
    }
    return stmt;
  }

  all<T = Row>(sql: string, ...params: Params): T[] {
    return this.#prepare(sql).all(...params) as T[];
  }

  get<T = Row>(sql: string, ...params: Params): T | undefined {
    return this.#prepare(sql).get(...params) as T | undefined;
  }

  run(sql: string, ...params: Params): { changes: number; lastId: number } {
    const r = this.#prepare(sql).run(...params);
    return { changes: Number(r.changes), lastId: Number(r.lastInsertRowid) };
  }

  exec(sql: string): void {
    this.#db.exec(sql);
  }

  /**
   * Runs `fn` inside one write transaction. `BEGIN IMMEDIATE` takes the write
   * lock up front so a second process waits on busy_timeout instead of failing
   * when a read transaction is upgraded. Nested calls join the outer one.
   */
  transaction<T>(fn: () => T): T {
    if (this.#depth > 0) return fn();
    this.#db.exec("BEGIN IMMEDIATE");
    this.#depth++;
    try {
      const result = fn();
      this.#db.exec("COMMIT");
      return result;
    } catch (err) {
      this.#db.exec("ROLLBACK");
      throw err;
    } finally {
      this.#depth--;
    }
  }

  /**
   * Runs `fn` in a savepoint inside the current transaction: if it throws,
   * only its own changes are undone.
   */
  savepoint<T>(fn: () => T): T {
    this.#db.exec("SAVEPOINT fazt_sp");
    try {
      const result = fn();
      this.#db.exec("RELEASE fazt_sp");
      return result;
    } catch (err) {
      this.#db.exec("ROLLBACK TO fazt_sp");
      this.#db.exec("RELEASE fazt_sp");
      throw err;
    }
  }

  close(): void {
    this.#statements.clear();
    if (this.#db.isOpen) this.#db.close();
  }
}

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
  const raw = new DatabaseSync(path, { timeout: 5000 });
  raw.exec("PRAGMA journal_mode = WAL");
  raw.exec("PRAGMA synchronous = NORMAL");
  raw.exec("PRAGMA foreign_keys = ON");
  raw.exec("PRAGMA busy_timeout = 5000");
  const db = new Database(path, raw);
  migrate(db, options.migrateTo);
  if (path !== ":memory:") restrictSidecars(path);
  return db;
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
