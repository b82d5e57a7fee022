import type { Database } from "./database.ts";
import { releaseUrlProblem } from "../lib/release_url.ts";
import { parseDuration } from "../lib/duration.ts";

const MiB = 1024 * 1024;

/** Every setting, its default and its accepted range. */
export const SETTING_DEFS = {
  domain: { kind: "string", default: "localhost" },
  port: { kind: "int", default: 4698, min: 0, max: 65535 },
  host: { kind: "string", default: "0.0.0.0" },
  max_versions: { kind: "int", default: 10, min: 1, max: 1000 },
  max_files: { kind: "int", default: 10_000, min: 1, max: 1_000_000 },
  max_upload_bytes: { kind: "int", default: 100 * MiB, min: 1024, max: 4096 * MiB },
  max_unpacked_bytes: { kind: "int", default: 100 * MiB, min: 1024, max: 4096 * MiB },
  max_zip_ratio: { kind: "int", default: 200, min: 2, max: 100_000 },
  cache_bytes: { kind: "int", default: 64 * MiB, min: 0, max: 16384 * MiB },
  app_timeout_ms: { kind: "int", default: 10_000, min: 10, max: 3_600_000 },
  app_timeout_max_ms: { kind: "int", default: 60_000, min: 10, max: 3_600_000 },
  app_memory_mb: { kind: "int", default: 128, min: 16, max: 65_536 },
  app_memory_max_mb: { kind: "int", default: 1024, min: 16, max: 65_536 },
  app_queue_limit: { kind: "int", default: 256, min: 1, max: 100_000 },
  app_max_workers: { kind: "int", default: 4, min: 0, max: 64 },
  app_max_body_bytes: { kind: "int", default: 10 * MiB, min: 1024, max: 4096 * MiB },
  app_max_response_bytes: { kind: "int", default: 50 * MiB, min: 1024, max: 4096 * MiB },
  app_idle_ms: { kind: "int", default: 300_000, min: 1000, max: 86_400_000 },
  app_host_slots: { kind: "int", default: 8, min: 1, max: 64 },
  app_stream_max_ms: { kind: "int", default: 3_600_000, min: 1000, max: 86_400_000 },
  app_preview_max: { kind: "int", default: 2, min: 0, max: 16 },
  // Dashboard sessions: idle hours before a session ends (each use pushes it
  // back), and a hard cap in days however active it is.
  session_idle_hours: { kind: "int", default: 168, min: 1, max: 8760 },
  session_max_days: { kind: "int", default: 30, min: 1, max: 365 },
  // 1: trust X-Forwarded-For/-Proto from a reverse proxy on loopback (for the
  // login rate limit's client address and the Secure cookie flag).
  trust_proxy: { kind: "int", default: 0, min: 0, max: 1 },
  // Failed token authentications (a bad, malformed or revoked Bearer token)
  // per client address: this many in a window of this many seconds, then
  // 429 until the window ends. Counted in memory, per run.
  token_failures_max: { kind: "int", default: 100, min: 1, max: 1_000_000 },
  token_failures_window_s: { kind: "int", default: 600, min: 1, max: 86_400 },
  // Analytics: 1 counts page views and accepts tracking calls; raw events are
  // kept this many days (rollups for good); 1 skips requests with DNT: 1 or
  // Sec-GPC: 1; events held in memory between writes (more are dropped).
  analytics_enabled: { kind: "int", default: 1, min: 0, max: 1 },
  analytics_retention_days: { kind: "int", default: 30, min: 1, max: 3650 },
  analytics_honor_dnt: { kind: "int", default: 0, min: 0, max: 1 },
  analytics_buffer_events: { kind: "int", default: 50_000, min: 10, max: 10_000_000 },
  // Upgrades: "none", or the Ed25519 public key (hex) whose signature every
  // uploaded program must carry.
  upgrade_public_key: {
    kind: "string",
    default: "none",
    pattern: /^(none|[0-9a-f]{64})$/,
    hint: "'none' or a 64-character hex Ed25519 public key",
  },
  // Releases: where `fazt upgrade` and `POST /api/upgrade {"from": "feed"}`
  // look ("none", or the URL of a release.json; "{version}" in it becomes
  // the version asked for, else "latest"), and the Ed25519 key (hex) their
  // signatures must verify with: "builtin" is fazt's release key. The key
  // changes only locally (self-built releases, tests), never over HTTP.
  release_feed: {
    kind: "string",
    default: "none",
    keepCase: true,
    pattern: /^(none|https?:\/\/\S+)$/,
    hint: "'none' or the https:// URL of a release.json",
    check: (v: string): string | undefined => v === "none" ? undefined : releaseUrlProblem(v),
  },
  release_public_key: {
    kind: "string",
    default: "builtin",
    pattern: /^(builtin|[0-9a-f]{64})$/,
    hint: "'builtin' or a 64-character hex Ed25519 public key",
  },
  // Scheduled backups: how often ("off", or a whole number of s, m, h or d;
  // a backup still running when the next is due is not doubled), how many
  // to keep (older ones are deleted), and where ("auto": a `backups` folder
  // beside the database, else an absolute path).
  backup_interval: {
    kind: "string",
    default: "off",
    pattern: /^(off|\d{1,9}[smhd])$/,
    hint: "'off' or a duration such as 30m, 24h or 7d",
    check: (v: string): string | undefined => v === "off" ? undefined : intervalProblem(v),
  },
  backup_keep: { kind: "int", default: 7, min: 1, max: 1000 },
  backup_dir: {
    kind: "string",
    default: "auto",
    keepCase: true,
    pattern: /^(auto|\/.*|[A-Za-z]:[\\/].*)$/,
    hint: "'auto' (a backups folder beside the database) or an absolute path",
  },
} as const;

/** Backups at most once a second (tests use that) and at least once a year. */
function intervalProblem(value: string): string | undefined {
  const ms = parseDuration(value)!;
  return ms >= 1000 && ms <= 366 * 86_400_000 ? undefined : "must be from 1s to 366d";
}

type Defs = typeof SETTING_DEFS;
export type SettingKey = keyof Defs;
export type Settings = {
  -readonly [K in SettingKey]: Defs[K]["kind"] extends "int" ? number : string;
};

export class SettingError extends Error {
  constructor(readonly key: string, readonly constraint: string, message: string) {
    super(message);
  }
}

export function isSettingKey(key: string): key is SettingKey {
  return Object.hasOwn(SETTING_DEFS, key);
}

/** Checks and normalises one value; throws `SettingError` when it is out of range. */
export function parseSetting(key: string, raw: unknown): string | number {
  if (!isSettingKey(key)) throw new SettingError(key, "known", `unknown setting "${key}"`);
  const def = SETTING_DEFS[key];
  if (def.kind === "string") {
    const trimmed = String(raw ?? "").trim();
    const value = "keepCase" in def ? trimmed : trimmed.toLowerCase();
    if (!value) throw new SettingError(key, "required", `${key} must not be empty`);
    if ("pattern" in def && !def.pattern.test(value)) {
      throw new SettingError(key, "format", `${key} must be ${def.hint}`);
    }
    const problem = "check" in def ? def.check(value) : undefined;
    if (problem) throw new SettingError(key, "format", `${key}: ${problem}`);
    return value;
  }
  const value = typeof raw === "number" ? raw : Number(String(raw).trim());
  if (!Number.isInteger(value) || value < def.min || value > def.max) {
    throw new SettingError(
      key,
      "range",
      `${key} must be a whole number from ${def.min} to ${def.max}`,
    );
  }
  return value;
}

/** The settings table: stored values over built-in defaults. */
export class SettingsStore {
  constructor(private db: Database) {}

  /** All settings, with `overrides` (e.g. command-line flags) applied on top. */
  load(overrides: Partial<Record<SettingKey, unknown>> = {}): Settings {
    const out: Record<string, string | number> = {};
    for (const [key, def] of Object.entries(SETTING_DEFS)) out[key] = def.default;
    for (
      const row of this.db.all<{ key: string; value: string }>("SELECT key, value FROM settings")
    ) {
      if (isSettingKey(row.key)) out[row.key] = parseSetting(row.key, row.value);
    }
    for (const [key, value] of Object.entries(overrides)) {
      if (value !== undefined) out[key] = parseSetting(key, value);
    }
    return out as Settings;
  }

  set(key: string, value: unknown): void {
    const parsed = parseSetting(key, value);
    this.db.run(
      "INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
      key,
      String(parsed),
    );
  }
}
