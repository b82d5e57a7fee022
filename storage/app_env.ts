import type { Database } from "./database.ts";
import { checkAppId } from "./input_checks.ts";
import { utf8Length } from "./json_value.ts";
import { forApp, invalid, StorageError } from "./storage_error.ts";

export interface EnvEntry {
  name: string;
  updated_at: number;
}

export interface EnvStoreOptions {
  now?: () => number;
}

const NAME = /^[A-Z][A-Z0-9_]*$/;
const MAX_NAME = 128;
const MAX_VALUE_BYTES = 64 * 1024;

/**
 * Secrets the owner sets for an app, handed to its code as environment.
 * Listing shows names only, so a value leaves storage only via `values`.
 */
export class EnvStore {
  #db: Database;
  #now: () => number;

  constructor(db: Database, opts: EnvStoreOptions = {}) {
    this.#db = db;
    this.#now = opts.now ?? Date.now;
  }

  set(appId: number, name: string, value: string): void {
    checkAppId(appId);
    checkName(name);
    if (typeof value !== "string" || !value.isWellFormed()) {
      throw invalid("value", "value must be a string");
    }
    if (utf8Length(value) > MAX_VALUE_BYTES) {
      throw new StorageError("LIMIT_EXCEEDED", `value exceeds ${MAX_VALUE_BYTES} bytes`, "value");
    }
    forApp(() =>
      this.#db.run(
        `INSERT INTO app_env (app_id, name, value, updated_at) VALUES (?, ?, ?, ?)
         ON CONFLICT (app_id, name) DO UPDATE SET
           value = excluded.value, updated_at = excluded.updated_at`,
        appId,
        name,
        value,
        this.#now(),
      )
    );
  }

  delete(appId: number, name: string): boolean {
    checkAppId(appId);
    checkName(name);
    return this.#db.run("DELETE FROM app_env WHERE app_id = ? AND name = ?", appId, name)
      .changes > 0;
  }

  list(appId: number): EnvEntry[] {
    checkAppId(appId);
    return this.#db.all<EnvEntry>(
      "SELECT name, updated_at FROM app_env WHERE app_id = ? ORDER BY name",
      appId,
    ).map((r) => ({ ...r }));
  }

  values(appId: number): Record<string, string> {
    checkAppId(appId);
    const rows = this.#db.all<{ name: string; value: string }>(
      "SELECT name, value FROM app_env WHERE app_id = ? ORDER BY name",
      appId,
    );
    return Object.fromEntries(rows.map((r) => [r.name, r.value]));
  }
}

function checkName(name: unknown): void {
  if (typeof name !== "string" || name.length > MAX_NAME || !NAME.test(name)) {
    throw invalid(
      "name",
      "name must be upper case letters, digits and '_', starting with a letter",
    );
  }
}
