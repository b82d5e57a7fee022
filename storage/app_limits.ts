import type { Database } from "./database.ts";
import { checkAppId } from "./input_checks.ts";
import { parseSetting, SettingError, type SettingKey, type Settings } from "./settings.ts";

/**
 * The limits one app runs under. Each has a node-wide default, the setting
 * `app_<key>`, and may be overridden per app; 0 means no limit.
 */
export const LIMIT_KEYS = [
  "max_storage_bytes",
  "max_rps",
  "max_burst",
  "max_concurrent",
  "max_websockets",
] as const;

export type LimitKey = typeof LIMIT_KEYS[number];
export type AppLimits = Record<LimitKey, number>;

/** The node-wide setting that is `key`'s default. */
export function limitSetting(key: LimitKey): SettingKey {
  return `app_${key}`;
}

export function isLimitKey(key: string): key is LimitKey {
  return (LIMIT_KEYS as readonly string[]).includes(key);
}

/** The node-wide defaults, from the settings. */
export function defaultLimits(settings: Settings): AppLimits {
  return Object.fromEntries(LIMIT_KEYS.map((k) => [k, settings[limitSetting(k)]])) as AppLimits;
}

/** The owner's per-app overrides of the limit settings. */
export class AppLimitStore {
  constructor(private db: Database) {}

  /** The limits this app has overridden, with their values. */
  overrides(appId: number): Partial<AppLimits> {
    checkAppId(appId);
    const out: Partial<AppLimits> = {};
    const rows = this.db.all<{ key: string; value: number }>(
      "SELECT key, value FROM app_limits WHERE app_id = ?",
      appId,
    );
    for (const row of rows) if (isLimitKey(row.key)) out[row.key] = row.value;
    return out;
  }

  /** The limits the app runs under: its overrides over `defaults`. */
  resolve(appId: number, defaults: AppLimits): AppLimits {
    return { ...defaults, ...this.overrides(appId) };
  }

  /**
   * Sets overrides (`null` goes back to the default). Every key and value
   * is checked (the setting's range) before anything is written; all or none.
   */
  set(appId: number, changes: Record<string, unknown>): void {
    checkAppId(appId);
    const checked: [LimitKey, number | null][] = [];
    for (const [key, raw] of Object.entries(changes)) {
      if (!isLimitKey(key)) {
        throw new SettingError(key, "known", `unknown limit '${key}' (${LIMIT_KEYS.join(", ")})`);
      }
      if (raw === null) {
        checked.push([key, null]);
        continue;
      }
      try {
        checked.push([key, parseSetting(limitSetting(key), raw) as number]);
      } catch (err) {
        if (!(err instanceof SettingError)) throw err;
        throw new SettingError(key, err.constraint, err.message.replace(limitSetting(key), key));
      }
    }
    this.db.transaction(() => {
      for (const [key, value] of checked) {
        if (value === null) {
          this.db.run("DELETE FROM app_limits WHERE app_id = ? AND key = ?", appId, key);
        } else {
          this.db.run(
            `INSERT INTO app_limits (app_id, key, value) VALUES (?, ?, ?)
             ON CONFLICT (app_id, key) DO UPDATE SET value = excluded.value`,
            appId,
            key,
            value,
          );
        }
      }
    });
  }
}
