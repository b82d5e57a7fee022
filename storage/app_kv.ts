import type { Database } from "./database.ts";
import { checkAppId, checkKey, expiryOf } from "./input_checks.ts";
import { toJson } from "./json_value.ts";
import { forApp, invalid, StorageError } from "./storage_error.ts";
import { keyPage, keyRange } from "./key_page.ts";

export interface KvItem {
  key: string;
  value: unknown;
  expires_at: number | null;
}

export interface KvPage {
  items: KvItem[];
  cursor: string | null;
}

export interface KvSetOptions {
  /** Milliseconds until the key reads as absent. */
  ttl?: number;
}

export interface KvListOptions {
  prefix?: string;
  limit?: number;
  cursor?: string;
}

export interface KvStoreOptions {
  /** The clock expiry is judged by; tests inject one. */
  now?: () => number;
}

const MAX_KEY = 512;
const MAX_VALUE_BYTES = 1024 * 1024;
const LIVE = "(expires_at IS NULL OR expires_at > ?)";

/**
 * A JSON key-value store per app. Expired keys read as absent at once and
 * are removed later by `purgeExpired`, so reads never write.
 */
export class KvStore {
  #db: Database;
  #now: () => number;

  constructor(db: Database, opts: KvStoreOptions = {}) {
    this.#db = db;
    this.#now = opts.now ?? Date.now;
  }

  get(appId: number, key: string): unknown | undefined {
    checkAppId(appId);
    checkKey(key, "key", MAX_KEY);
    const row = this.#db.get<{ value: string }>(
      `SELECT value FROM app_kv WHERE app_id = ? AND key = ? AND ${LIVE}`,
      appId,
      key,
      this.#now(),
    );
    return row ? JSON.parse(row.value) : undefined;
  }

  set(appId: number, key: string, value: unknown, opts: KvSetOptions = {}): void {
    checkAppId(appId);
    checkKey(key, "key", MAX_KEY);
    const text = toJson(value, "value", MAX_VALUE_BYTES);
    const now = this.#now();
    const expiresAt = expiryOf(opts.ttl, now);
    forApp(() =>
      this.#db.run(
        `INSERT INTO app_kv (app_id, key, value, expires_at, updated_at) VALUES (?, ?, ?, ?, ?)
         ON CONFLICT (app_id, key) DO UPDATE SET
           value = excluded.value, expires_at = excluded.expires_at, updated_at = excluded.updated_at`,
        appId,
        key,
        text,
        expiresAt,
        now,
      )
    );
  }

  /**
   * Replaces the value of a live key, keeping its expiry; false when there
   * is no such key (an expired one included): the owner edits, never adds.
   */
  replace(appId: number, key: string, value: unknown): boolean {
    checkAppId(appId);
    checkKey(key, "key", MAX_KEY);
    const text = toJson(value, "value", MAX_VALUE_BYTES);
    const now = this.#now();
    return this.#db.run(
      `UPDATE app_kv SET value = ?, updated_at = ? WHERE app_id = ? AND key = ? AND ${LIVE}`,
      text,
      now,
      appId,
      key,
      now,
    ).changes > 0;
  }

  /** True when a live key was deleted; an expired one is removed but reported absent. */
  delete(appId: number, key: string): boolean {
    checkAppId(appId);
    checkKey(key, "key", MAX_KEY);
    const row = this.#db.get<{ live: number }>(
      `DELETE FROM app_kv WHERE app_id = ? AND key = ? RETURNING ${LIVE} AS live`,
      appId,
      key,
      this.#now(),
    );
    return row?.live === 1;
  }

  /** Live keys in key order; the cursor is the last key returned, encoded. */
  list(appId: number, opts: KvListOptions = {}): KvPage {
    const { limit, where, params } = keyRange(appId, opts, MAX_KEY);
    const rows = this.#db.all<{ key: string; value: string; expires_at: number | null }>(
      `SELECT key, value, expires_at FROM app_kv WHERE ${where} AND ${LIVE} ORDER BY key LIMIT ?`,
      ...params,
      this.#now(),
      limit + 1,
    );
    return keyPage(rows.map((r) => ({ ...r, value: JSON.parse(r.value) })), limit);
  }

  /**
   * Adds `by` in one UPSERT, so concurrent callers never lose an update. A
   * missing or expired key starts at `by` (with `ttl`, if given); a live key
   * keeps its expiry, so a counter's window does not slide.
   */
  increment(appId: number, key: string, by = 1, opts: KvSetOptions = {}): number {
    checkAppId(appId);
    checkKey(key, "key", MAX_KEY);
    if (typeof by !== "number" || !Number.isFinite(by)) throw invalid("by", "by must be a number");
    const now = this.#now();
    const expiresAt = expiryOf(opts.ttl, now);
    // Integers are bound as such so the stored JSON stays "6", not "6.0".
    const amount = Number.isSafeInteger(by) ? BigInt(by) : by;
    const row = forApp(() =>
      this.#db.get<{ value: string }>(
        `INSERT INTO app_kv (app_id, key, value, expires_at, updated_at)
         VALUES (?1, ?2, json_quote(?3), ?4, ?5)
         ON CONFLICT (app_id, key) DO UPDATE SET
           value = CASE WHEN app_kv.expires_at <= ?5 THEN excluded.value
             ELSE json_quote(json_extract(app_kv.value, '$') + ?3) END,
           expires_at = CASE WHEN app_kv.expires_at <= ?5 THEN excluded.expires_at
             ELSE app_kv.expires_at END,
           updated_at = excluded.updated_at
         WHERE app_kv.expires_at <= ?5
           OR (json_type(app_kv.value) IN ('integer', 'real')
             AND abs(json_extract(app_kv.value, '$') + ?3) <= 1.7976931348623157e308)
         RETURNING value`,
        appId,
        key,
        amount,
        expiresAt,
        now,
      )
    );
    if (row) return JSON.parse(row.value);
    // The WHERE refused the update; say why.
    const current = this.get(appId, key);
    if (typeof current === "number") {
      throw new StorageError("LIMIT_EXCEEDED", "the result is too large for a number", "by");
    }
    throw invalid("key", "the value under this key is not a number");
  }

  /** Deletes expired keys of every app; a periodic job calls this. */
  purgeExpired(now: number = this.#now()): number {
    return this.#db.run("DELETE FROM app_kv WHERE expires_at <= ?", now).changes;
  }
}
