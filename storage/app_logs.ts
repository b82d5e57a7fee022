import type { Database } from "./database.ts";
import { checkAppId, checkLimit } from "./input_checks.ts";
import { forApp, invalid } from "./storage_error.ts";

export type LogLevel = "debug" | "info" | "warn" | "error";

export interface LogEntry {
  id: number;
  level: LogLevel;
  message: string;
  created_at: number;
}

export interface NewLogEntry {
  appId: number;
  level: LogLevel;
  message: string;
  at: number;
}

export interface LogRecentOptions {
  limit?: number;
  /** Only entries with a larger id: pass the last id seen to follow the tail. */
  after?: number;
}

export interface LogStoreOptions {
  /** Newest entries kept per app. */
  maxPerApp?: number;
  /** Appends per app between prunes; 1 keeps the bound exact at every moment. */
  pruneEvery?: number;
}

const LEVELS: readonly string[] = ["debug", "info", "warn", "error"];
const MAX_MESSAGE_BYTES = 8 * 1024;

/**
 * A bounded log per app. Pruning costs an index walk of `maxPerApp` rows, so
 * it runs every `pruneEvery` appends of an app rather than on each one: an
 * app holds at most `maxPerApp + pruneEvery - 1` rows between prunes.
 */
export class LogStore {
  #db: Database;
  #maxPerApp: number;
  #pruneEvery: number;
  /** Appends since the last prune, per app, in this process. */
  #pending = new Map<number, number>();

  constructor(db: Database, opts: LogStoreOptions = {}) {
    this.#db = db;
    this.#maxPerApp = opts.maxPerApp ?? 1000;
    this.#pruneEvery = opts.pruneEvery ?? Math.max(1, Math.floor(this.#maxPerApp / 10));
    for (const n of [this.#maxPerApp, this.#pruneEvery]) {
      if (!Number.isSafeInteger(n) || n < 1) throw new RangeError("log bounds must be positive");
    }
  }

  /** Returns the entry's id; messages longer than 8 KiB of UTF-8 are cut. */
  append(appId: number, level: LogLevel, message: string, at: number = Date.now()): number {
    return this.#db.transaction(() => {
      const id = this.#insert({ appId, level, message, at });
      this.#counted(appId, 1);
      return id;
    });
  }

  appendMany(entries: NewLogEntry[]): void {
    if (!Array.isArray(entries)) throw invalid("entries", "entries must be an array");
    // A standby's copy is replaced at each refresh: its apps' log lines are not kept.
    if (this.#db.readOnly) return;
    this.#db.transaction(() => {
      const perApp = new Map<number, number>();
      for (const entry of entries) {
        this.#insert(entry);
        perApp.set(entry.appId, (perApp.get(entry.appId) ?? 0) + 1);
      }
      for (const [appId, count] of perApp) this.#counted(appId, count);
    });
  }

  /**
   * The newest `limit` entries, or with `after` the oldest `limit` entries
   * after that id; either way ordered oldest to newest.
   */
  recent(appId: number, opts: LogRecentOptions = {}): LogEntry[] {
    checkAppId(appId);
    const limit = checkLimit(opts.limit);
    const columns = "id, level, message, created_at";
    let rows: LogEntry[];
    if (opts.after === undefined) {
      rows = this.#db.all<LogEntry>(
        `SELECT * FROM (SELECT ${columns} FROM app_logs WHERE app_id = ? ORDER BY id DESC LIMIT ?)
         ORDER BY id`,
        appId,
        limit,
      );
    } else {
      if (!Number.isSafeInteger(opts.after)) throw invalid("after", "after must be an entry id");
      rows = this.#db.all<LogEntry>(
        `SELECT ${columns} FROM app_logs WHERE app_id = ? AND id > ? ORDER BY id LIMIT ?`,
        appId,
        opts.after,
        limit,
      );
    }
    // Plain objects, not SQLite's null-prototype rows: these go to app code.
    return rows.map((r) => ({ ...r }));
  }

  /**
   * Error lines per app id since `since` (ms), for apps that have any. Reads
   * at most every app's bounded log once.
   */
  errorCounts(since: number): Map<number, number> {
    const rows = this.#db.all<{ app_id: number; n: number }>(
      `SELECT app_id, COUNT(*) AS n FROM app_logs
       WHERE level = 'error' AND created_at >= ? GROUP BY app_id`,
      since,
    );
    return new Map(rows.map((r) => [r.app_id, r.n]));
  }

  /** Deletes all but the newest `maxPerApp` entries of one app. */
  prune(appId: number): number {
    checkAppId(appId);
    this.#pending.set(appId, 0);
    return this.#db.run(
      `DELETE FROM app_logs WHERE app_id = ?1 AND id <= (
         SELECT id FROM app_logs WHERE app_id = ?1 ORDER BY id DESC LIMIT 1 OFFSET ?2)`,
      appId,
      this.#maxPerApp,
    ).changes;
  }

  #insert(entry: NewLogEntry): number {
    const { appId, level, message, at } = entry;
    checkAppId(appId);
    if (!LEVELS.includes(level)) throw invalid("level", "level must be debug, info, warn or error");
    if (typeof message !== "string") throw invalid("message", "message must be a string");
    if (typeof at !== "number" || !Number.isFinite(at)) throw invalid("at", "at must be a time");
    return forApp(() =>
      this.#db.run(
        "INSERT INTO app_logs (app_id, level, message, created_at) VALUES (?, ?, ?, ?)",
        appId,
        level,
        truncate(message),
        Math.floor(at),
      )
    ).lastId;
  }

  /** Prunes when the app's count is due, and on its first append here (after a restart). */
  #counted(appId: number, added: number): void {
    const pending = this.#pending.get(appId);
    const total = (pending ?? 0) + added;
    if (pending === undefined || total >= this.#pruneEvery) this.prune(appId);
    else this.#pending.set(appId, total);
  }
}

/** Cuts at a character boundary; lone surrogates become U+FFFD as SQLite would store them. */
function truncate(message: string): string {
  const text = message.toWellFormed();
  if (text.length * 3 <= MAX_MESSAGE_BYTES) return text;
  const buffer = new Uint8Array(MAX_MESSAGE_BYTES);
  const { read } = new TextEncoder().encodeInto(text, buffer);
  return text.slice(0, read);
}
