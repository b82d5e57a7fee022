import type { Database } from "./database.ts";
import { releaseUrlProblem } from "../lib/release_url.ts";
import { parseDuration } from "../lib/duration.ts";
import { replicaUrlProblem } from "../lib/replica_url.ts";
import { litestreamDurationMs } from "../lib/litestream_config.ts";

const MiB = 1024 * 1024;

/** Every setting, its default and its accepted range. */
export const SETTING_DEFS = {
  domain: { kind: "string", default: "localhost" },
  port: { kind: "int", default: 4698, min: 0, max: 65535 },
  // "::": every address, IPv6 and IPv4 (one dual-stack socket where the
  // system has it, IPv4 alone where IPv6 is off).
  host: { kind: "string", default: "::" },
  max_versions: { kind: "int", default: 10, min: 1, max: 1000 },
  max_files: { kind: "int", default: 10_000, min: 1, max: 1_000_000 },
  max_upload_bytes: { kind: "int", default: 100 * MiB, min: 1024, max: 4096 * MiB },
  max_unpacked_bytes: { kind: "int", default: 100 * MiB, min: 1024, max: 4096 * MiB },
  max_zip_ratio: { kind: "int", default: 200, min: 2, max: 100_000 },
  // Deployed files up to this size get gzip and brotli variants (made whole,
  // in memory); larger ones are stored and served as they are.
  compress_max_bytes: { kind: "int", default: 8 * MiB, min: 0, max: 256 * MiB },
  // Distinct document fields one app may index (over its kept versions).
  app_max_indexes: { kind: "int", default: 32, min: 0, max: 1000 },
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
  // WebSockets: the largest message either way (a client's larger one closes
  // it with 1009). How many an app holds open is `app_max_websockets` (below).
  app_ws_max_message_bytes: { kind: "int", default: MiB, min: 125, max: 64 * MiB },
  // Runs of each scheduled job kept in its history.
  cron_runs_kept: { kind: "int", default: 100, min: 1, max: 10_000 },
  // Requests queue for one app about this long at most: while even its
  // quickest answers take longer than this, new requests (past a floor of
  // 32 in flight) get a fast 503 APP_BUSY. 0: only app_queue_limit bounds
  // the queue.
  app_queue_ms: { kind: "int", default: 500, min: 0, max: 60_000 },
  // Apps per host process. A process costs ~40 MiB before any Worker and a
  // slot nothing until an app needs it (Workers start as apps arrive), so
  // 16 run 50 small apps in 4 processes (808 MB with the node) where 8
  // needed 8 (1,034 MB); the price is more neighbours restarted, once, when
  // one app's loop or memory stops their process.
  app_host_slots: { kind: "int", default: 16, min: 1, max: 64 },
  app_stream_max_ms: { kind: "int", default: 3_600_000, min: 1000, max: 86_400_000 },
  app_preview_max: { kind: "int", default: 2, min: 0, max: 16 },
  // Quotas: node-wide defaults of each app's limits (`fazt app limits APP
  // --set` overrides one app's, at once; these apply after a restart).
  // Bytes an app stores in KV, documents and blobs together; requests a
  // second to its server code (a token bucket holding `app_max_burst`, 0:
  // one second's worth); requests in flight to it at once; open WebSockets
  // (past it, 503 APP_WEBSOCKET_LIMIT). 0 means no limit.
  app_max_storage_bytes: { kind: "int", default: 1024 * MiB, min: 0, max: 1024 * 1024 * MiB },
  app_max_rps: { kind: "int", default: 0, min: 0, max: 1_000_000 },
  app_max_burst: { kind: "int", default: 0, min: 0, max: 10_000_000 },
  app_max_concurrent: { kind: "int", default: 0, min: 0, max: 100_000 },
  app_max_websockets: { kind: "int", default: 1000, min: 0, max: 1_000_000 },
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
  // Connections (the front door): open connections in all (lowered at start
  // to fit under the descriptor limit) and per client address (IPv6: per
  // /64). A new connection must send its request headers (a TLS client must
  // also finish its handshake) within header_timeout_ms; a keep-alive
  // connection with nothing in flight is closed after idle_timeout_ms; a
  // request body with no byte for body_stall_timeout_ms gets 408 and its
  // connection is closed.
  max_connections: { kind: "int", default: 4096, min: 16, max: 1_000_000 },
  max_connections_per_ip: { kind: "int", default: 64, min: 1, max: 1_000_000 },
  header_timeout_ms: { kind: "int", default: 10_000, min: 100, max: 600_000 },
  idle_timeout_ms: { kind: "int", default: 60_000, min: 100, max: 3_600_000 },
  body_stall_timeout_ms: { kind: "int", default: 30_000, min: 100, max: 3_600_000 },
  // Load shedding: past this many requests being answered at once, or while
  // the event loop runs this many ms late (0: never), new requests get a
  // fast 503 OVERLOADED with Retry-After.
  max_requests_in_flight: { kind: "int", default: 1024, min: 1, max: 1_000_000 },
  overload_lag_ms: { kind: "int", default: 500, min: 0, max: 60_000 },
  // SIGTERM/SIGINT: how long requests in flight (app code included) may take
  // to finish before the node stops anyway.
  shutdown_grace_ms: { kind: "int", default: 10_000, min: 0, max: 600_000 },
  // Analytics: 1 counts page views and accepts tracking calls; raw events are
  // kept this many days (rollups for good); 1 skips requests with DNT: 1 or
  // Sec-GPC: 1; events held in memory between writes (more are dropped).
  analytics_enabled: { kind: "int", default: 1, min: 0, max: 1 },
  analytics_retention_days: { kind: "int", default: 30, min: 1, max: 3650 },
  analytics_honor_dnt: { kind: "int", default: 0, min: 0, max: 1 },
  analytics_buffer_events: { kind: "int", default: 50_000, min: 10, max: 10_000_000 },
  // Tracking calls (`/_fazt/track`, the pixels): a token bucket per client
  // address (an IPv6 /64 counts as one) and one per app, refilled at `_rate`
  // events a second up to `_burst`; 0 as a rate means no limit.
  analytics_client_rate: { kind: "int", default: 20, min: 0, max: 1_000_000 },
  analytics_client_burst: { kind: "int", default: 200, min: 1, max: 10_000_000 },
  analytics_app_rate: { kind: "int", default: 1000, min: 0, max: 10_000_000 },
  analytics_app_burst: { kind: "int", default: 20_000, min: 1, max: 100_000_000 },
  // Raw events stored per app and UTC day (page views and tracking calls);
  // more are counted as not stored, never written. 0: no cap.
  analytics_app_daily_events: { kind: "int", default: 100_000, min: 0, max: 1_000_000_000 },
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
  // HTTPS: 1 gets certificates over ACME (HTTP-01 on http_port) for the
  // domain, admin.<domain>, every app and every custom domain, and serves
  // them on https_port. The ACME server (any directory URL: Let's Encrypt's
  // production by default, its staging, a company CA), the contact address
  // it is given ("none": no address), and a PEM file of extra CA
  // certificates to trust for the ACME server's own TLS ("none": the
  // system's). acme_ca_file changes only locally.
  https: { kind: "int", default: 0, min: 0, max: 1 },
  http_port: { kind: "int", default: 80, min: 0, max: 65535 },
  https_port: { kind: "int", default: 443, min: 0, max: 65535 },
  acme_directory: {
    kind: "string",
    default: "https://acme-v02.api.letsencrypt.org/directory",
    keepCase: true,
    pattern: /^https:\/\/[^\s/?#]+(\/\S*)?$/,
    hint: "the https:// URL of an ACME directory",
  },
  acme_email: {
    kind: "string",
    default: "none",
    keepCase: true,
    pattern: /^(none|[^\s@]{1,64}@[^\s@]{1,255}\.[^\s@]+)$/,
    hint: "'none' or an email address",
  },
  acme_ca_file: {
    kind: "string",
    default: "none",
    keepCase: true,
    pattern: /^(none|\/.+|[A-Za-z]:[\\/].+)$/,
    hint: "'none' or the absolute path of a PEM file",
  },
  // Custom domains the node takes, all apps together.
  max_custom_domains: { kind: "int", default: 500, min: 0, max: 100_000 },
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
  // Continuous replication with Litestream (`fazt replicate`): where to
  // ("none", or file:///path, sftp://user@host:port/path, s3://bucket/path?
  // endpoint=…&region=…), how often new writes are shipped (what losing the
  // machine can lose), how long the replica keeps history for restores to a
  // point in time, and how far behind (seconds) counts as a warning.
  replica_url: {
    kind: "string",
    default: "none",
    keepCase: true,
    pattern: /^(none|(file|sftp|s3):\/\/\S+)$/,
    hint: "'none' or a file:///path, sftp://user@host:port/path or s3://bucket/path URL",
    check: (v: string): string | undefined => v === "none" ? undefined : replicaUrlProblem(v),
  },
  replica_sync_interval: {
    kind: "string",
    default: "1s",
    pattern: /^\d{1,6}(ms|s|m|h)$/,
    hint: "a duration such as 500ms, 1s or 10s",
    check: (v: string): string | undefined => durationProblem(v, 100, 3_600_000, "100ms to 1h"),
  },
  replica_retention: {
    kind: "string",
    default: "24h",
    pattern: /^\d{1,6}(m|h)$/,
    hint: "a duration such as 24h or 72h",
    check: (v: string): string | undefined =>
      durationProblem(v, 3_600_000, 8760 * 3_600_000, "1h to 8760h"),
  },
  replica_lag_warn_s: { kind: "int", default: 60, min: 1, max: 86_400 },
  // The replica's credentials: the S3 access key id, and the SFTP password or
  // S3 secret key; an SFTP private key file ("none", or an absolute path).
  // Secret: never shown by the API or `fazt server config`, set only by
  // `fazt replicate enable` (stdin) or PUT /api/replication.
  replica_access_key_id: { kind: "string", default: "", secret: true },
  replica_secret: { kind: "string", default: "", secret: true },
  replica_key_path: {
    kind: "string",
    default: "none",
    keepCase: true,
    pattern: /^(none|\/.*)$/,
    hint: "'none' or the absolute path of an SFTP private key",
  },
  // Which Litestream to run: "auto" (PATH, then npm's global folders) or an
  // absolute path. Changeable only on the node itself: it names a program.
  litestream_path: {
    kind: "string",
    default: "auto",
    keepCase: true,
    pattern: /^(auto|\/.*|[A-Za-z]:[\\/].*)$/,
    hint: "'auto' or the absolute path of the litestream binary",
  },
  // A warm standby (`fazt standby`) restores a fresh copy this often.
  standby_interval: {
    kind: "string",
    default: "1m",
    pattern: /^\d{1,9}[smhd]$/,
    hint: "a duration such as 30s, 1m or 1h",
    check: (v: string): string | undefined => intervalProblem(v),
  },
  // The database file's largest size in MiB (0: as large as the disk
  // allows). Past it, deploys and app writes are refused with 507
  // STORAGE_FULL, as on a full disk, while serving goes on. Applied when
  // the node opens the file.
  db_max_mb: { kind: "int", default: 0, min: 0, max: 16_777_216 },
} as const;

/** A Litestream duration between `min` and `max` ms. */
function durationProblem(v: string, min: number, max: number, range: string): string | undefined {
  const ms = litestreamDurationMs(v)!;
  return ms >= min && ms <= max ? undefined : `must be from ${range}`;
}

/** Settings that hold credentials: never shown, never set from a command line. */
export function isSecretSetting(key: string): boolean {
  return isSettingKey(key) && "secret" in SETTING_DEFS[key];
}

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
    // A credential is kept as given, and empty means "none".
    if ("secret" in def) {
      const secret = String(raw ?? "");
      if (secret.length > 4096 || /[\0\r\n]/.test(secret)) {
        throw new SettingError(key, "format", `${key} must be one line of at most 4096 characters`);
      }
      return secret;
    }
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
