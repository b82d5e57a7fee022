import type { DatabaseSync, SQLInputValue } from "node:sqlite";
import { StorageError } from "./storage_error.ts";

export type Row = Record<string, unknown>;
export type Params = SQLInputValue[];

/** SQLite's checkpoint modes; all but PASSIVE wait for readers (Litestream is one). */
export type CheckpointMode = "PASSIVE" | "FULL" | "RESTART" | "TRUNCATE";

/** SQLite's default: a PASSIVE checkpoint after a commit that leaves this many WAL pages. */
const AUTOCHECKPOINT_PAGES = 1000;
/** Without replication, a WAL that grew past this is cut back to it when it starts over. */
const WAL_SIZE_LIMIT = 64 * 1024 * 1024;

/** Any checkpoint that is not PASSIVE, written as SQL. */
const BLOCKING_CHECKPOINT = /wal_checkpoint\s*\(\s*'?(full|restart|truncate)/i;
const WRITE_SQL = /^\s*(insert|update|delete|replace)\b/i;

/**
 * Writes a store keeps in memory while a transaction is open and sends to
 * SQLite in one statement later (see `Database.hold`).
 */
export interface HeldWrites {
  /** Sends what is held to SQLite, inside the open transaction. */
  flush(): void;
  /** Forgets what is held: the scope it was written in was rolled back. */
  drop(): void;
}

/** What a connection tells its checkpointer (see `Database.attachCheckpointer`). */
export interface CheckpointListener {
  /** The connection committed at `at` (ms). */
  committed(at: number): void;
  /** Checkpoints are not the node's for now (Litestream runs): stop the thread. */
  stand(): void;
  /** The connection was reopened on another file: a running thread follows it. */
  reopened(): void;
}

/**
 * The one SQLite file. Every store in `storage/` goes through this class, so
 * pragmas, statement caching and transactions live in one place.
 */
export class Database {
  readonly path: string;
  #db: DatabaseSync;
  #statements = new Map<string, ReturnType<DatabaseSync["prepare"]>>();
  #depth = 0;
  #replicated = false;
  #readOnly = false;
  #held: HeldWrites[] = [];
  #litestreamRuns = false;
  #checkpointsElsewhere = false;
  #checkpointer: CheckpointListener | undefined;
  /** Checkpoints this connection ran, by mode (what the replication tests look at). */
  readonly checkpoints: Record<CheckpointMode, number> = {
    PASSIVE: 0,
    FULL: 0,
    RESTART: 0,
    TRUNCATE: 0,
  };
  /** Called after each commit this connection makes (replication measures its lag by it). */
  onWrite?: (at: number) => void;

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
    this.#guard(sql);
    try {
      const rows = this.#prepare(sql).all(...params) as T[];
      if (this.#depth === 0 && this.#listened() && WRITE_SQL.test(sql)) this.#committed();
      return rows;
    } catch (err) {
      throw this.#translate(err);
    }
  }

  get<T = Row>(sql: string, ...params: Params): T | undefined {
    this.#guard(sql);
    try {
      const row = this.#prepare(sql).get(...params) as T | undefined;
      if (this.#depth === 0 && this.#listened() && WRITE_SQL.test(sql)) this.#committed();
      return row;
    } catch (err) {
      throw this.#translate(err);
    }
  }

  run(sql: string, ...params: Params): { changes: number; lastId: number } {
    this.#guard(sql);
    try {
      const r = this.#prepare(sql).run(...params);
      if (this.#depth === 0) this.#committed();
      return { changes: Number(r.changes), lastId: Number(r.lastInsertRowid) };
    } catch (err) {
      throw this.#translate(err);
    }
  }

  exec(sql: string): void {
    this.#guard(sql);
    try {
      this.#db.exec(sql);
    } catch (err) {
      throw this.#translate(err);
    }
  }

  /**
   * Runs a checkpoint unless it would fight Litestream: while the database
   * is replicated only PASSIVE ones run (the others wait for every reader,
   * and Litestream always reads: the writer stalls for its busy timeout and
   * Litestream logs "database is locked"). Returns whether it ran.
   */
  checkpoint(mode: CheckpointMode): boolean {
    if (this.#replicated && mode !== "PASSIVE") return false;
    this.#db.prepare(`PRAGMA wal_checkpoint(${mode})`).get();
    this.checkpoints[mode]++;
    return true;
  }

  /**
   * Who keeps the WAL in check. While replication is on, checkpoints are
   * Litestream's (it checkpoints itself, between its copies): the node
   * never runs a blocking one, and while Litestream runs SQLite's automatic
   * PASSIVE checkpoints stop too, as Litestream advises for busy writers.
   * Without replication, or while Litestream is down, the automatic ones
   * run, and with replication off a WAL that grew large is cut back.
   */
  setReplication(state: { enabled: boolean; running: boolean }): void {
    this.#replicated = state.enabled;
    this.#litestreamRuns = state.enabled && state.running;
    if (this.#litestreamRuns) this.#checkpointer?.stand();
    if (!this.#db.isOpen) return;
    this.#autocheckpoint();
    this.#db.exec(`PRAGMA journal_size_limit = ${state.enabled ? -1 : WAL_SIZE_LIMIT}`);
  }

  /**
   * Hands this connection's commits to a `Checkpointer`, which may take
   * the checkpoints to a thread of its own (`checkpointElsewhere`).
   */
  attachCheckpointer(checkpointer: CheckpointListener): void {
    this.#checkpointer = checkpointer;
  }

  /** SQLite's automatic checkpoints off (true) while another thread runs them. */
  checkpointElsewhere(on: boolean): void {
    this.#checkpointsElsewhere = on;
    if (this.#db.isOpen) this.#autocheckpoint();
  }

  #autocheckpoint(): void {
    const auto = this.#litestreamRuns || this.#checkpointsElsewhere ? 0 : AUTOCHECKPOINT_PAGES;
    this.#db.exec(`PRAGMA wal_autocheckpoint = ${auto}`);
  }

  #listened(): boolean {
    return this.onWrite !== undefined || this.#checkpointer !== undefined;
  }

  #committed(): void {
    if (!this.#listened()) return;
    const at = Date.now();
    this.onWrite?.(at);
    // While Litestream replicates, checkpoints are its own.
    if (!this.#litestreamRuns) this.#checkpointer?.committed(at);
  }

  /** Whether replication is on (blocking checkpoints are refused). */
  get replicated(): boolean {
    return this.#replicated;
  }

  /**
   * A warm standby's copy: SQLite refuses every change (`query_only`), and
   * a store's write fails with `StorageError("STANDBY")`. Stores skip the
   * bookkeeping writes of reads (a token's last use) while it is set.
   */
  get readOnly(): boolean {
    return this.#readOnly;
  }

  set readOnly(on: boolean) {
    this.#db.exec(`PRAGMA query_only = ${on ? "ON" : "OFF"}`);
    this.#readOnly = on;
  }

  #guard(sql: string): void {
    if (this.#replicated && BLOCKING_CHECKPOINT.test(sql)) {
      throw new Error(
        "refused a blocking checkpoint while the database is replicated: use checkpoint()",
      );
    }
  }

  /**
   * SQLite's refusals that say something about the node rather than the
   * query, as `StorageError`s that callers can answer without SQL text:
   * SQLITE_READONLY under `query_only` (the standby refusing a write),
   * SQLITE_FULL (the disk, or the `db_max_mb` cap) and SQLITE_BUSY/LOCKED
   * (another process held the lock past the busy timeout).
   */
  #translate(err: unknown): unknown {
    if (err instanceof StorageError) return err;
    const code = ((err as { errcode?: number }).errcode ?? -1) & 0xff;
    const text = String(err);
    if (
      this.#readOnly && (code === 8 || /attempt to write a readonly database/i.test(text))
    ) {
      return new StorageError("STANDBY", "this node is a standby: it serves a read-only copy");
    }
    if (code === 13 || /database or disk is full/i.test(text)) {
      return new StorageError("FULL", "the database is full: no space is left for this write");
    }
    if (code === 5 || code === 6 || /database (table )?is locked/i.test(text)) {
      return new StorageError("BUSY", "the database is locked by another process: try again");
    }
    return err;
  }

  /**
   * Caps the file at `bytes` (rounded up to whole pages; 0 lifts the cap):
   * writes past it fail as `StorageError("FULL")`, exactly as a full disk
   * does. SQLite never sets the cap below the pages already in use, and
   * it holds for this connection only.
   */
  limitSize(bytes: number): void {
    const page = Number(this.#db.prepare("PRAGMA page_size").get()?.page_size ?? 4096);
    const pages = bytes > 0 ? Math.ceil(bytes / page) : 0xfffffffe;
    this.#db.prepare(`PRAGMA max_page_count = ${pages}`).get();
  }

  /**
   * Registers writes a store holds back: flushed before each COMMIT,
   * SAVEPOINT and RELEASE, so every scope a rollback can undo starts and
   * ends with nothing held, and dropped when a rollback undoes the scope
   * they were written in.
   */
  hold(held: HeldWrites): void {
    this.#held.push(held);
  }

  #flushHeld(): void {
    for (const h of this.#held) h.flush();
  }

  #dropHeld(): void {
    for (const h of this.#held) h.drop();
  }

  /**
   * A transaction-control statement, prepared once: `exec` parses its SQL
   * every time, which was a third of the group-commit writer's time.
   */
  #control(sql: string): void {
    this.#prepare(sql).run();
  }

  /**
   * Runs `fn` inside one write transaction. `BEGIN IMMEDIATE` takes the write
   * lock up front so a second process waits on busy_timeout instead of failing
   * when a read transaction is upgraded. Nested calls join the outer one.
   */
  transaction<T>(fn: () => T): T {
    if (this.#depth > 0) return fn();
    try {
      this.#control("BEGIN IMMEDIATE");
    } catch (err) {
      throw this.#translate(err);
    }
    this.#depth++;
    try {
      const result = fn();
      this.#flushHeld();
      this.#control("COMMIT");
      this.#committed();
      return result;
    } catch (err) {
      this.#dropHeld();
      if (this.#db.isTransaction) this.#control("ROLLBACK");
      throw this.#translate(err);
    } finally {
      this.#depth--;
    }
  }

  /**
   * Runs `fn` in a savepoint inside the current transaction: if it throws,
   * only its own changes are undone.
   */
  savepoint<T>(fn: () => T): T {
    this.#flushHeld();
    this.#control("SAVEPOINT fazt_sp");
    try {
      const result = fn();
      this.#flushHeld();
      this.#control("RELEASE fazt_sp");
      return result;
    } catch (err) {
      this.#dropHeld();
      // SQLITE_FULL, BUSY, IOERR and NOMEM may roll the whole transaction
      // back: then there is no savepoint to return to, and the caller must
      // not go on as if its transaction were still open (see `inTransaction`).
      if (!this.#db.isTransaction) throw this.#translate(err);
      this.#control("ROLLBACK TO fazt_sp");
      this.#control("RELEASE fazt_sp");
      throw err;
    }
  }

  /**
   * Whether a transaction is open. Inside `transaction(fn)` it turns false
   * when SQLite rolled the transaction back on its own (a full disk): what
   * `fn` writes after that would commit on its own, outside it.
   */
  get inTransaction(): boolean {
    return this.#db.isTransaction;
  }

  /**
   * Closes the connection and opens the one `open` gives (after it has put
   * another file in place); with `fallback`'s connection if `open` throws.
   * Settings of the old connection (`readOnly`, replication) start over.
   */
  reopen(open: () => DatabaseSync, fallback: () => DatabaseSync): void {
    if (this.#depth > 0) throw new Error("cannot reopen the database inside a transaction");
    this.#statements.clear();
    if (this.#db.isOpen) this.#db.close();
    this.#readOnly = false;
    this.#replicated = false;
    this.#litestreamRuns = false;
    this.#checkpointer?.reopened();
    try {
      this.#db = open();
    } catch (err) {
      this.#db = fallback();
      throw err;
    }
  }

  close(): void {
    this.#statements.clear();
    if (this.#db.isOpen) this.#db.close();
  }
}
