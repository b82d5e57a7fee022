import type { DatabaseSync, SQLInputValue } from "node:sqlite";

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
    this.#control("BEGIN IMMEDIATE");
    this.#depth++;
    try {
      const result = fn();
      this.#control("COMMIT");
      return result;
    } catch (err) {
      if (this.#db.isTransaction) this.#control("ROLLBACK");
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
    this.#control("SAVEPOINT fazt_sp");
    try {
      const result = fn();
      this.#control("RELEASE fazt_sp");
      return result;
    } catch (err) {
      this.#control("ROLLBACK TO fazt_sp");
      this.#control("RELEASE fazt_sp");
      throw err;
    }
  }

  close(): void {
    this.#statements.clear();
    if (this.#db.isOpen) this.#db.close();
  }
}
