import type { Database } from "./database.ts";
import { checkAppId } from "./input_checks.ts";
import { type PendingUsage, pendingUsage } from "./pending_usage.ts";
import { StorageError } from "./storage_error.ts";

/** What one app stores, in bytes (UTF-8 text and blob bytes, keys included). */
export interface AppUsage {
  kv_bytes: number;
  docs_bytes: number;
  blobs_bytes: number;
  /** The three together: what `max_storage_bytes` bounds. */
  stored_bytes: number;
}

const NONE: AppUsage = { kv_bytes: 0, docs_bytes: 0, blobs_bytes: 0, stored_bytes: 0 };

/**
 * Bytes each app stores. Triggers on the app tables keep `app_usage` (see
 * migration 11) and document inserts add theirs once per transaction
 * (`PendingUsage`), so reading an app's usage is one row however much it
 * stores, and a write's own transaction sees the usage it would leave.
 */
export class UsageStore {
  #pending: PendingUsage;

  constructor(private db: Database) {
    this.#pending = pendingUsage(db);
  }

  of(appId: number): AppUsage {
    checkAppId(appId);
    this.#pending.flush();
    const row = this.db.get<Omit<AppUsage, "stored_bytes">>(
      "SELECT kv_bytes, docs_bytes, blobs_bytes FROM app_usage WHERE app_id = ?",
      appId,
    );
    if (!row) return { ...NONE };
    const { kv_bytes, docs_bytes, blobs_bytes } = row;
    return { kv_bytes, docs_bytes, blobs_bytes, stored_bytes: kv_bytes + docs_bytes + blobs_bytes };
  }

  /** Bytes stored, all kinds together. */
  stored(appId: number): number {
    this.#pending.flush();
    const row = this.db.get<{ n: number }>(
      "SELECT kv_bytes + docs_bytes + blobs_bytes AS n FROM app_usage WHERE app_id = ?",
      appId,
    );
    return row?.n ?? 0;
  }

  /**
   * Whether the app stores at most `maxBytes` (0: no limit). After a write,
   * inside its transaction, true means `guard` would have let it through
   * without the read before it; false means only `guard` can tell.
   */
  within(appId: number, maxBytes: number): boolean {
    return maxBytes <= 0 || this.stored(appId) <= maxBytes;
  }

  /**
   * Runs `write` in a transaction (or the caller's) and refuses it with
   * `QUOTA_EXCEEDED` when it grew the app's stored bytes past `maxBytes`:
   * the check sees the write's own effect, so concurrent writes cannot
   * slip past it, and the refusal rolls the write back whole. A write that
   * shrinks an app already over its quota (a limit lowered) goes through.
   * `maxBytes` 0: no limit.
   */
  guard<T>(appId: number, maxBytes: number, write: () => T): T {
    if (maxBytes <= 0) return write();
    return this.db.transaction(() => {
      const before = this.stored(appId);
      const result = write();
      const after = this.stored(appId);
      if (after > maxBytes && after > before) {
        throw new StorageError(
          "QUOTA_EXCEEDED",
          `the app's storage quota is used up (${after} of ${maxBytes} bytes with this write)`,
        );
      }
      return result;
    });
  }
}
