import { randomToken, safeEqual, sha256Hex } from "../lib/secrets.ts";
import type { Database } from "./database.ts";

export const SCOPES = ["read", "deploy", "admin"] as const;
export type Scope = typeof SCOPES[number];

export function isScope(value: unknown): value is Scope {
  return SCOPES.includes(value as Scope);
}

/** `read` ⊂ `deploy` ⊂ `admin`. */
export function scopeAllows(held: Scope, needed: Scope): boolean {
  return SCOPES.indexOf(held) >= SCOPES.indexOf(needed);
}

export interface TokenInfo {
  id: number;
  name: string;
  scope: Scope;
  created_at: number;
  last_used_at: number | null;
}

const TOKEN_RE = /^fazt_(\d{1,15})_([A-Za-z0-9_-]{43})$/;

/**
 * API tokens look like `fazt_<id>_<secret>`. Only a SHA-256 of the secret is
 * stored; the id finds the row so the secret is compared in constant time
 * instead of being used as a lookup key.
 */
export class TokenStore {
  constructor(private db: Database) {}

  create(name: string, scope: Scope): { token: string; info: TokenInfo } {
    const secret = randomToken(32);
    const now = Date.now();
    const { lastId } = this.db.run(
      "INSERT INTO tokens (name, scope, secret_hash, created_at) VALUES (?, ?, ?, ?)",
      name,
      scope,
      sha256Hex(secret),
      now,
    );
    return {
      token: `fazt_${lastId}_${secret}`,
      info: { id: lastId, name, scope, created_at: now, last_used_at: null },
    };
  }

  /** The token's record when it is valid, else `undefined`. */
  verify(token: string): TokenInfo | undefined {
    const m = TOKEN_RE.exec(token);
    if (!m) return undefined;
    const row = this.db.get<TokenInfo & { secret_hash: string }>(
      "SELECT id, name, scope, created_at, last_used_at, secret_hash FROM tokens WHERE id = ?",
      Number(m[1]),
    );
    if (!row || !safeEqual(sha256Hex(m[2]), row.secret_hash)) return undefined;
    const now = Date.now();
    // One write a minute at most per token: a busy client must not turn
    // every read into a write.
    // (Not on a standby's read-only copy.)
    if (!this.db.readOnly && (!row.last_used_at || now - row.last_used_at > 60_000)) {
      this.db.run("UPDATE tokens SET last_used_at = ? WHERE id = ?", now, row.id);
    }
    const { secret_hash: _, ...info } = row;
    return info;
  }

  list(): TokenInfo[] {
    return this.db.all<TokenInfo>(
      "SELECT id, name, scope, created_at, last_used_at FROM tokens ORDER BY id",
    );
  }

  revoke(id: number): boolean {
    return this.db.run("DELETE FROM tokens WHERE id = ?", id).changes > 0;
  }
}
