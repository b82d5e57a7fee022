import type { Database, HeldWrites } from "./database.ts";

/**
 * Adds a batch's document bytes to the app's usage. The app may have no
 * `app_usage` row yet; an app deleted in the same transaction gets none.
 */
const ADD_DOCS = `INSERT INTO app_usage (app_id, docs_bytes)
  SELECT ?1, ?2 WHERE EXISTS (SELECT 1 FROM apps WHERE id = ?1)
  ON CONFLICT (app_id) DO UPDATE SET docs_bytes = docs_bytes + excluded.docs_bytes`;

/**
 * Bytes of documents inserted in the open transaction that `app_usage` does
 * not count yet. A trigger counted each insert with a statement of its own
 * (migration 11): ~6 of the ~36 µs each insert took in the group-commit
 * writer's batches, which now add each app's inserts with one statement. Held
 * bytes reach `app_usage` before anything reads it (`UsageStore`), before
 * the other document writes (their triggers update the row this may
 * create), and before every COMMIT, SAVEPOINT and RELEASE (`Database.hold`).
 */
export class PendingUsage implements HeldWrites {
  #docs = new Map<number, number>();

  constructor(private db: Database) {}

  /** Counts `bytes` of documents inserted for `appId` in the open transaction. */
  addDocs(appId: number, bytes: number): void {
    this.#docs.set(appId, (this.#docs.get(appId) ?? 0) + bytes);
  }

  flush(): void {
    if (this.#docs.size === 0) return;
    const held = this.#docs;
    this.#docs = new Map();
    for (const [appId, bytes] of held) this.db.run(ADD_DOCS, appId, bytes);
  }

  drop(): void {
    this.#docs.clear();
  }
}

const byDatabase = new WeakMap<Database, PendingUsage>();

/** The connection's one `PendingUsage`: every store that writes or reads usage shares it. */
export function pendingUsage(db: Database): PendingUsage {
  let pending = byDatabase.get(db);
  if (!pending) {
    pending = new PendingUsage(db);
    byDatabase.set(db, pending);
    db.hold(pending);
  }
  return pending;
}
