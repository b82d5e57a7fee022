/**
 * The store behind an app's `Deno.openKv()`: Deno KV's data model over the
 * app's rows. Keys arrive already encoded (the Worker encodes them with
 * Deno KV's tuple encoding, so byte order is key order and SQLite's BLOB
 * comparison sorts them); values arrive serialised with an encoding tag.
 * Every commit of an app takes the next number of that app's version
 * counter, which becomes the versionstamp of everything it wrote. Queue
 * messages wait in their own table until the app takes them.
 * @module
 */
import type { Database } from "./database.ts";
import { checkAppId } from "./input_checks.ts";
import { forApp, invalid, StorageError } from "./storage_error.ts";

/** How a value's bytes are to be read: V8 serialisation, a `Deno.KvU64`, raw bytes. */
export type KvEncoding = 1 | 2 | 3;
export const KV_ENCODING = { v8: 1, u64: 2, bytes: 3 } as const;

export interface KvEntryRow {
  key: Uint8Array;
  value: Uint8Array;
  encoding: KvEncoding;
  versionstamp: string;
}

export interface KvCheck {
  key: Uint8Array;
  /** `null`: the key must be absent. */
  versionstamp: string | null;
}

export type KvMutation =
  | { type: "set"; key: Uint8Array; value: Uint8Array; encoding: KvEncoding; expireIn?: number }
  | { type: "delete"; key: Uint8Array }
  | { type: "sum" | "min" | "max"; key: Uint8Array; value: Uint8Array };

export interface KvEnqueue {
  payload: Uint8Array;
  delay?: number;
  keysIfUndelivered?: Uint8Array[];
  backoffSchedule?: number[];
}

export type KvCommitResult = { ok: true; versionstamp: string } | { ok: false };

export interface KvMessage {
  id: number;
  payload: Uint8Array;
  attempt: number;
}

/** An app whose queue has a message, as the node's queue waker sees it. */
export interface QueueWakeup {
  appId: number;
  name: string;
  /** Its live version. */
  version: number;
  /** Whether that version listens: true, or undefined while its code has not loaded yet. */
  listens: true | undefined;
  /** When its next message is due, or its oldest lease lapses (ms since the epoch). */
  due: number;
}

export interface DenoKvStoreOptions {
  now?: () => number;
}

/** Deno KV's own limits. */
export const KV_LIMITS = {
  keyBytes: 2048,
  valueBytes: 65536,
  checks: 100,
  mutations: 1000,
  /** Keys and values of one commit together. */
  commitBytes: 800 * 1024,
  listBatch: 1000,
  getMany: 10,
  delayMs: 30 * 24 * 3600 * 1000,
  backoffSteps: 10,
};

/** Deno's default queue retries, in ms. */
export const DEFAULT_BACKOFF = [100, 1000, 5000, 30000, 60000];
/** How long a taken message is the taker's before it is offered again. */
export const LEASE_MS = 60_000;

const LIVE = "(expires_at IS NULL OR expires_at > ?)";

/** A versionstamp: a commit's 8-byte number and a 2-byte index, as 20 hex digits. */
export function versionstampOf(version: number): string {
  return version.toString(16).padStart(16, "0") + "0000";
}

function checkKeyBytes(key: unknown): Uint8Array {
  if (!(key instanceof Uint8Array) || key.length === 0) throw invalid("key", "a key is required");
  if (key.length > KV_LIMITS.keyBytes) {
    throw new StorageError("LIMIT_EXCEEDED", `Key too large (max ${KV_LIMITS.keyBytes} bytes)`);
  }
  return key;
}

function checkValueBytes(value: unknown): Uint8Array {
  if (!(value instanceof Uint8Array)) throw invalid("value", "a value is required");
  if (value.length > KV_LIMITS.valueBytes) {
    throw new StorageError("LIMIT_EXCEEDED", `Value too large (max ${KV_LIMITS.valueBytes} bytes)`);
  }
  return value;
}

const U64_MASK = (1n << 64n) - 1n;

function readU64(bytes: Uint8Array): bigint {
  if (bytes.length !== 8) throw invalid("value", "a KvU64 is 8 bytes");
  return new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0, true);
}

function writeU64(n: bigint): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(8);
  new DataView(out.buffer).setBigUint64(0, n & U64_MASK, true);
  return out;
}

function expiresAt(expireIn: unknown, now: number): number | null {
  if (expireIn === undefined) return null;
  if (typeof expireIn !== "number" || !Number.isFinite(expireIn) || expireIn < 0) {
    throw invalid("expireIn", "expireIn must be a number of milliseconds");
  }
  return now + Math.ceil(expireIn);
}

/** Deno KV per app, in the node's database. */
export class DenoKvStore {
  #db: Database;
  #now: () => number;

  constructor(db: Database, opts: DenoKvStoreOptions = {}) {
    this.#db = db;
    this.#now = opts.now ?? Date.now;
  }

  /** The live entries of `keys`, `null` for each absent one, in the order asked. */
  get(appId: number, keys: Uint8Array[]): (KvEntryRow | null)[] {
    checkAppId(appId);
    const now = this.#now();
    return keys.map((k) => {
      const row = this.#db.get<{ value: Uint8Array; encoding: KvEncoding; version: number }>(
        `SELECT value, encoding, version FROM app_denokv WHERE app_id = ? AND key = ? AND ${LIVE}`,
        appId,
        checkKeyBytes(k),
        now,
      );
      return row
        ? {
          key: k,
          value: row.value,
          encoding: row.encoding,
          versionstamp: versionstampOf(row.version),
        }
        : null;
    });
  }

  /** Live entries with `start <= key < end`, in key order (or reversed), at most `limit`. */
  range(
    appId: number,
    start: Uint8Array,
    end: Uint8Array,
    limit: number,
    reverse: boolean,
  ): KvEntryRow[] {
    checkAppId(appId);
    if (!Number.isInteger(limit) || limit < 1) throw invalid("limit", "limit must be at least 1");
    const rows = this.#db.all<
      { key: Uint8Array; value: Uint8Array; encoding: KvEncoding; version: number }
    >(
      `SELECT key, value, encoding, version FROM app_denokv
       WHERE app_id = ? AND key >= ? AND key < ? AND ${LIVE}
       ORDER BY key ${reverse ? "DESC" : "ASC"} LIMIT ?`,
      appId,
      start,
      end,
      this.#now(),
      Math.min(limit, KV_LIMITS.listBatch),
    );
    return rows.map((r) => ({
      key: r.key,
      value: r.value,
      encoding: r.encoding,
      versionstamp: versionstampOf(r.version),
    }));
  }

  /**
   * An atomic operation: every check holds, then every mutation and message
   * is written under one new versionstamp; or nothing is written and the
   * result is `{ok: false}`. Call it inside a transaction.
   */
  commit(
    appId: number,
    checks: KvCheck[],
    mutations: KvMutation[],
    enqueues: KvEnqueue[],
  ): KvCommitResult {
    checkAppId(appId);
    if (checks.length > KV_LIMITS.checks) {
      throw new StorageError("LIMIT_EXCEEDED", `Too many checks (max ${KV_LIMITS.checks})`);
    }
    if (mutations.length + enqueues.length > KV_LIMITS.mutations) {
      throw new StorageError("LIMIT_EXCEEDED", `Too many mutations (max ${KV_LIMITS.mutations})`);
    }
    for (const m of mutations) {
      checkKeyBytes(m.key);
      if (m.type !== "delete") checkValueBytes(m.value);
      if (m.type !== "set" && m.type !== "delete" && m.value.length !== 8) {
        throw invalid("value", `${m.type} takes a Deno.KvU64`);
      }
    }
    for (const e of enqueues) checkValueBytes(e.payload);
    const total = mutations.reduce(
      (n, m) => n + m.key.length + (m.type === "delete" ? 0 : m.value.length),
      enqueues.reduce((n, e) => n + e.payload.length, 0),
    );
    if (total > KV_LIMITS.commitBytes) {
      throw new StorageError(
        "LIMIT_EXCEEDED",
        `Total mutation size too large (max ${KV_LIMITS.commitBytes} bytes)`,
      );
    }
    const now = this.#now();
    for (const c of checks) {
      const current = this.get(appId, [c.key])[0];
      if ((current?.versionstamp ?? null) !== c.versionstamp) return { ok: false };
    }
    const version = this.#nextVersion(appId);
    for (const m of mutations) this.#apply(appId, m, version, now);
    for (const e of enqueues) this.#enqueue(appId, e, now);
    return { ok: true, versionstamp: versionstampOf(version) };
  }

  #nextVersion(appId: number): number {
    const row = forApp(() =>
      this.#db.get<{ version: number }>(
        `INSERT INTO app_denokv_version (app_id, version) VALUES (?, 1)
         ON CONFLICT (app_id) DO UPDATE SET version = version + 1
         RETURNING version`,
        appId,
      )
    );
    return row!.version;
  }

  #apply(appId: number, m: KvMutation, version: number, now: number): void {
    if (m.type === "delete") {
      this.#db.run("DELETE FROM app_denokv WHERE app_id = ? AND key = ?", appId, m.key);
      return;
    }
    if (m.type === "set") {
      this.#put(appId, m.key, m.value, m.encoding, version, expiresAt(m.expireIn, now));
      return;
    }
    const operand = readU64(m.value);
    const current = this.get(appId, [m.key])[0];
    let next = operand;
    if (current) {
      if (current.encoding !== KV_ENCODING.u64) {
        throw invalid(
          "value",
          `Failed to perform '${m.type}' mutation on a non-U64 value in the database`,
        );
      }
      const had = readU64(current.value);
      next = m.type === "sum"
        ? (had + operand) & U64_MASK
        : m.type === "min"
        ? (had < operand ? had : operand)
        : (had > operand ? had : operand);
    }
    this.#put(appId, m.key, writeU64(next), KV_ENCODING.u64, version, null);
  }

  #put(
    appId: number,
    key: Uint8Array,
    value: Uint8Array,
    encoding: KvEncoding,
    version: number,
    expires: number | null,
  ): void {
    forApp(() =>
      this.#db.run(
        `INSERT INTO app_denokv (app_id, key, value, encoding, version, expires_at)
         VALUES (?, ?, ?, ?, ?, ?)
         ON CONFLICT (app_id, key) DO UPDATE SET value = excluded.value,
           encoding = excluded.encoding, version = excluded.version,
           expires_at = excluded.expires_at`,
        appId,
        key,
        value,
        encoding,
        version,
        expires,
      )
    );
  }

  #enqueue(appId: number, e: KvEnqueue, now: number): void {
    const delay = e.delay ?? 0;
    if (typeof delay !== "number" || !(delay >= 0) || delay > KV_LIMITS.delayMs) {
      throw invalid("delay", "delay must be from 0 to 30 days in milliseconds");
    }
    const backoff = e.backoffSchedule ?? DEFAULT_BACKOFF;
    if (
      !Array.isArray(backoff) || backoff.length > KV_LIMITS.backoffSteps ||
      backoff.some((n) => !Number.isInteger(n) || n < 0 || n > 3600_000)
    ) {
      throw invalid("backoffSchedule", "backoffSchedule must be at most 10 delays in ms");
    }
    const keys = (e.keysIfUndelivered ?? []).map(checkKeyBytes);
    forApp(() =>
      this.#db.run(
        `INSERT INTO app_denokv_queue (app_id, payload, ready_at, backoff, undelivered)
         VALUES (?, ?, ?, ?, ?)`,
        appId,
        e.payload,
        now + Math.ceil(delay),
        JSON.stringify(backoff),
        JSON.stringify(keys.map((k) => k.toBase64())),
      )
    );
  }

  /**
   * Takes the app's next message that is due (or whose taker let its lease
   * lapse), leasing it for `LEASE_MS`; else says when one will be due. A
   * lapsed lease counts as a failed delivery: one that lapses after the
   * last retry of its backoff leaves the message undelivered, as a handler
   * that threw then would.
   */
  take(appId: number): { message: KvMessage } | { next: number | null } {
    checkAppId(appId);
    const now = this.#now();
    for (;;) {
      const due = this.#db.get<{ id: number; lapsed: number; spent: number }>(
        `SELECT id, leased_until IS NOT NULL AS lapsed,
           attempts > json_array_length(backoff) AS spent
         FROM app_denokv_queue WHERE app_id = ? AND coalesce(leased_until, ready_at) <= ?
         ORDER BY coalesce(leased_until, ready_at), id LIMIT 1`,
        appId,
        now,
      );
      if (!due) break;
      // A lease that lapsed is a delivery that failed (its handler never
      // ended, or its app stopped): past the last one, it is undelivered.
      if (due.lapsed && due.spent) {
        this.settle(appId, due.id, false);
        continue;
      }
      const row = this.#db.get<{ id: number; payload: Uint8Array; attempts: number }>(
        `UPDATE app_denokv_queue SET leased_until = ?, attempts = attempts + 1 WHERE id = ?
         RETURNING id, payload, attempts`,
        now + LEASE_MS,
        due.id,
      );
      return { message: { id: row!.id, payload: row!.payload, attempt: row!.attempts } };
    }
    const next = this.#db.get<{ at: number | null }>(
      "SELECT min(coalesce(leased_until, ready_at)) AS at FROM app_denokv_queue WHERE app_id = ?",
      appId,
    );
    return { next: next?.at ?? null };
  }

  /**
   * The app's handler finished message `id`: done, or failed, when it is
   * offered again after the next step of its backoff; past the last step,
   * its payload is written under its `keysIfUndelivered` and it is dropped.
   * Call it inside a transaction. False if the message is not the app's.
   */
  settle(appId: number, id: number, delivered: boolean): boolean {
    checkAppId(appId);
    const row = this.#db.get<
      { payload: Uint8Array; attempts: number; backoff: string; undelivered: string }
    >(
      "SELECT payload, attempts, backoff, undelivered FROM app_denokv_queue WHERE app_id = ? AND id = ?",
      appId,
      id,
    );
    if (!row) return false;
    const backoff: number[] = JSON.parse(row.backoff);
    if (!delivered && row.attempts <= backoff.length) {
      this.#db.run(
        "UPDATE app_denokv_queue SET leased_until = NULL, ready_at = ? WHERE id = ?",
        this.#now() + backoff[row.attempts - 1],
        id,
      );
      return true;
    }
    this.#db.run("DELETE FROM app_denokv_queue WHERE id = ?", id);
    const keys: string[] = JSON.parse(row.undelivered);
    if (!delivered && keys.length) {
      const version = this.#nextVersion(appId);
      for (const k of keys) {
        this.#put(appId, Uint8Array.fromBase64(k), row.payload, KV_ENCODING.v8, version, null);
      }
    }
    return true;
  }

  /**
   * Apps that may listen on their queue and have messages, soonest due
   * first, at most `limit`, leaving out the apps in `skip` (those running).
   * A live version may listen if its code called `listenQueue` when it
   * loaded, or if it has not loaded yet and its code mentions it. Each app
   * costs two index reads, however long its queue.
   */
  wakeups(skip: number[], limit: number): QueueWakeup[] {
    const rows = this.#db.all<
      { appId: number; name: string; version: number; listens: number | null; due: number }
    >(
      `WITH live AS (
         SELECT a.id, a.name, a.live_version AS version, b.listens_queue AS listens
         FROM apps a JOIN builds b ON b.app_id = a.id AND b.version = a.live_version
         WHERE b.build IS NOT NULL AND b.listens_queue IS NOT 0
           AND a.id NOT IN (SELECT value FROM json_each(?1))
       ), next AS (
         SELECT id, name, version, listens,
           (SELECT ready_at FROM app_denokv_queue q
             WHERE q.app_id = live.id AND q.leased_until IS NULL
             ORDER BY ready_at LIMIT 1) AS waiting,
           (SELECT leased_until FROM app_denokv_queue q
             WHERE q.app_id = live.id AND q.leased_until IS NOT NULL
             ORDER BY leased_until LIMIT 1) AS lapsing
         FROM live
       )
       SELECT id AS appId, name, version, listens,
         min(coalesce(waiting, lapsing), coalesce(lapsing, waiting)) AS due
       FROM next
       WHERE coalesce(waiting, lapsing) IS NOT NULL AND (listens = 1 OR EXISTS (
         SELECT 1 FROM builds b WHERE b.app_id = next.id AND b.version = next.version
           AND instr(b.build, 'listenQueue') > 0))
       ORDER BY due, id LIMIT ?2`,
      JSON.stringify(skip),
      Math.max(1, limit),
    );
    return rows.map((r) => ({
      appId: r.appId,
      name: r.name,
      version: r.version,
      listens: r.listens === 1 ? true : undefined,
      due: r.due,
    }));
  }

  /** Whether a message of the app is taken and not yet settled (a handler cut short, if the app stopped). */
  leased(appId: number): boolean {
    checkAppId(appId);
    return this.#db.get(
      "SELECT 1 FROM app_denokv_queue WHERE app_id = ? AND leased_until IS NOT NULL LIMIT 1",
      appId,
    ) !== undefined;
  }

  /** The owner's view: live entries after `after` (or from the first), in key order. */
  page(
    appId: number,
    after: Uint8Array | undefined,
    limit: number,
  ): (KvEntryRow & { expires_at: number | null })[] {
    checkAppId(appId);
    const rows = this.#db.all<{
      key: Uint8Array;
      value: Uint8Array;
      encoding: KvEncoding;
      version: number;
      expires_at: number | null;
    }>(
      `SELECT key, value, encoding, version, expires_at FROM app_denokv
       WHERE app_id = ? AND key > ? AND ${LIVE} ORDER BY key LIMIT ?`,
      appId,
      after ?? new Uint8Array(),
      this.#now(),
      Math.min(Math.max(1, limit), KV_LIMITS.listBatch),
    );
    return rows.map((r) => ({
      key: r.key,
      value: r.value,
      encoding: r.encoding,
      versionstamp: versionstampOf(r.version),
      expires_at: r.expires_at,
    }));
  }

  /** Entries and waiting messages of one app, and their bytes (for the dashboard). */
  usage(appId: number): { entries: number; bytes: number; queued: number } {
    checkAppId(appId);
    const e = this.#db.get<{ n: number; bytes: number | null }>(
      `SELECT count(*) AS n, sum(length(key) + length(value)) AS bytes FROM app_denokv
       WHERE app_id = ? AND ${LIVE}`,
      appId,
      this.#now(),
    )!;
    const q = this.#db.get<{ n: number }>(
      "SELECT count(*) AS n FROM app_denokv_queue WHERE app_id = ?",
      appId,
    )!;
    return { entries: e.n, bytes: e.bytes ?? 0, queued: q.n };
  }

  /** Deletes expired entries of every app; a periodic job calls this. */
  purgeExpired(now: number = this.#now()): number {
    return this.#db.run("DELETE FROM app_denokv WHERE expires_at <= ?", now).changes;
  }
}
