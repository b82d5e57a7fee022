import { randomToken, sha256Hex } from "../lib/secrets.ts";
import type { Database } from "./database.ts";

/** A signed-in browser of the owner; the cookie value itself is never stored. */
export interface SessionInfo {
  /** Short public handle (a prefix of the stored hash), safe to list and revoke by. */
  id: string;
  created_at: number;
  last_seen_at: number;
  /** When the session ends unless it is used again (sliding). */
  expires_at: number;
  user_agent: string | null;
}

export interface SessionLifetime {
  /** Idle time after which an unused session ends; each use pushes it back. */
  idleMs: number;
  /** Hard cap from creation, however active the session is. */
  maxMs: number;
}

interface SessionRow {
  id_hash: string;
  created_at: number;
  last_seen_at: number;
  expires_at: number;
  user_agent: string | null;
}

const COOKIE_VALUE = /^[A-Za-z0-9_-]{43}$/;
/** A session's expiry is written at most this often, so reads stay reads. */
const SLIDE_EVERY_MS = 60_000;

function info(row: SessionRow): SessionInfo {
  return {
    id: row.id_hash.slice(0, 16),
    created_at: row.created_at,
    last_seen_at: row.last_seen_at,
    expires_at: row.expires_at,
    user_agent: row.user_agent,
  };
}

/**
 * Owner sessions for the dashboard, kept in SQLite so they survive restarts.
 * The browser holds 32 random bytes; only their SHA-256 is stored, so a copy
 * of the database does not let anyone sign in.
 */
export class SessionStore {
  #db: Database;
  #now: () => number;

  constructor(db: Database, opts: { now?: () => number } = {}) {
    this.#db = db;
    this.#now = opts.now ?? Date.now;
  }

  /** Starts a session; returns the secret for the cookie (shown to the browser only). */
  create(life: SessionLifetime, userAgent?: string | null): { secret: string; info: SessionInfo } {
    const secret = randomToken(32);
    const now = this.#now();
    const row: SessionRow = {
      id_hash: sha256Hex(secret),
      created_at: now,
      last_seen_at: now,
      expires_at: Math.min(now + life.idleMs, now + life.maxMs),
      user_agent: userAgent ? userAgent.slice(0, 300) : null,
    };
    this.#db.run(
      `INSERT INTO sessions (id_hash, created_at, last_seen_at, expires_at, user_agent)
       VALUES (?, ?, ?, ?, ?)`,
      row.id_hash,
      row.created_at,
      row.last_seen_at,
      row.expires_at,
      row.user_agent,
    );
    this.#purgeExpired(now);
    return { secret, info: info(row) };
  }

  /**
   * The live session for a cookie value, with its expiry pushed back (sliding,
   * never past the hard cap); `undefined` when unknown or expired.
   */
  touch(secret: string, life: SessionLifetime): SessionInfo | undefined {
    if (!COOKIE_VALUE.test(secret)) return undefined;
    const hash = sha256Hex(secret);
    const row = this.#db.get<SessionRow>(
      "SELECT id_hash, created_at, last_seen_at, expires_at, user_agent FROM sessions WHERE id_hash = ?",
      hash,
    );
    const now = this.#now();
    if (!row) return undefined;
    if (row.expires_at <= now) {
      if (!this.#db.readOnly) this.#db.run("DELETE FROM sessions WHERE id_hash = ?", hash);
      return undefined;
    }
    // A standby's read-only copy does not slide sessions.
    if (now - row.last_seen_at >= SLIDE_EVERY_MS && !this.#db.readOnly) {
      row.last_seen_at = now;
      row.expires_at = Math.min(now + life.idleMs, row.created_at + life.maxMs);
      this.#db.run(
        "UPDATE sessions SET last_seen_at = ?, expires_at = ? WHERE id_hash = ?",
        row.last_seen_at,
        row.expires_at,
        hash,
      );
    }
    return info(row);
  }

  /** Ends the session of a cookie value (logout); true when there was one. */
  delete(secret: string): boolean {
    if (!COOKIE_VALUE.test(secret)) return false;
    return this.#db.run("DELETE FROM sessions WHERE id_hash = ?", sha256Hex(secret)).changes > 0;
  }

  /** Ends a session by its public handle (sign out another device). */
  revoke(id: string): boolean {
    if (!/^[0-9a-f]{16}$/.test(id)) return false;
    return this.#db.run(
      "DELETE FROM sessions WHERE id_hash >= ? AND id_hash < ?",
      id,
      id + "g",
    ).changes > 0;
  }

  /** Live sessions, most recently used first. */
  list(): SessionInfo[] {
    return this.#db.all<SessionRow>(
      `SELECT id_hash, created_at, last_seen_at, expires_at, user_agent FROM sessions
       WHERE expires_at > ? ORDER BY last_seen_at DESC`,
      this.#now(),
    ).map(info);
  }

  /** Ends every session (e.g. after the owner's password changes). */
  deleteAll(): number {
    return this.#db.run("DELETE FROM sessions").changes;
  }

  #purgeExpired(now: number): void {
    this.#db.run("DELETE FROM sessions WHERE expires_at <= ?", now);
  }
}

/** The answer of `LoginAttemptStore.reserve`. */
export type Reservation =
  /** `attempts`: how many are counted in the window, this one included. */
  | { ok: true; attempts: number }
  /** `waitMs`: until the window ends and the address may try again. */
  | { ok: false; waitMs: number };

/**
 * Login attempts per client address, in fixed windows that start at the
 * first one: each attempt is counted before its password is checked and a
 * success clears the count. Kept in SQLite so a restart does not reset it.
 */
export class LoginAttemptStore {
  #db: Database;
  #now: () => number;

  constructor(db: Database, opts: { now?: () => number } = {}) {
    this.#db = db;
    this.#now = opts.now ?? Date.now;
  }

  /**
   * When `ip` has used up its `max` failures in the current window, the
   * milliseconds until it may try again; otherwise 0.
   */
  blockedFor(ip: string, max: number, windowMs: number): number {
    const row = this.#db.get<{ failures: number; window_start: number }>(
      "SELECT failures, window_start FROM login_attempts WHERE ip = ?",
      ip,
    );
    if (!row) return 0;
    const ends = row.window_start + windowMs;
    const now = this.#now();
    if (ends <= now || row.failures < max) return 0;
    return ends - now;
  }

  /**
   * Takes one attempt for `ip` before its password is checked: refused (with
   * the milliseconds until it may try again) when `max` attempts are already
   * counted in the window, else counted at once. Counting up front, in one
   * transaction, is what stops concurrent guesses that all arrive before the
   * first one's slow password check has failed.
   */
  reserve(ip: string, max: number, windowMs: number): Reservation {
    const now = this.#now();
    return this.#db.transaction(() => {
      this.#dropEnded(now, windowMs);
      const row = this.#db.get<{ failures: number; window_start: number }>(
        "SELECT failures, window_start FROM login_attempts WHERE ip = ?",
        ip,
      );
      if (row && row.failures >= max) {
        return { ok: false, waitMs: row.window_start + windowMs - now };
      }
      return { ok: true, attempts: this.#count(ip, now) };
    });
  }

  /** Gives back a reserved attempt that never got to a password check (a malformed request). */
  release(ip: string): void {
    this.#db.run(
      "UPDATE login_attempts SET failures = failures - 1 WHERE ip = ? AND failures > 0",
      ip,
    );
  }

  /** Counts one failure; returns the failures in the current window. */
  fail(ip: string, windowMs: number): number {
    const now = this.#now();
    return this.#db.transaction(() => {
      this.#dropEnded(now, windowMs);
      return this.#count(ip, now);
    });
  }

  /** A successful login clears the address's count. */
  reset(ip: string): void {
    this.#db.run("DELETE FROM login_attempts WHERE ip = ?", ip);
  }

  /** Forgets every address whose window has ended. */
  #dropEnded(now: number, windowMs: number): void {
    this.#db.run("DELETE FROM login_attempts WHERE window_start <= ?", now - windowMs);
  }

  /** Counts one for `ip` (starting its window now if it has none); returns its count. */
  #count(ip: string, now: number): number {
    return this.#db.get<{ failures: number }>(
      `INSERT INTO login_attempts (ip, failures, window_start) VALUES (?, 1, ?)
       ON CONFLICT (ip) DO UPDATE SET failures = failures + 1
       RETURNING failures`,
      ip,
      now,
    )!.failures;
  }
}
