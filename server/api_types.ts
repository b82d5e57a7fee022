/**
 * The shape of every answer of fazt's HTTP API, declared once: the `data` of
 * each route's `{"data": …}` envelope, by route as in `ROUTES`. The CLI, the
 * MCP tools and the dashboard read answers as these types; the server
 * exports them as `Api` from `server/mod.ts`.
 *
 * Types only, and nothing imported but types from `lib/envelope.ts`: the
 * dashboard (a browser bundle) imports this file directly. Times are ms
 * since the epoch; sizes are bytes.
 * @module
 */
import type { Envelope, ErrorBody } from "../lib/envelope.ts";

export type { Envelope, ErrorBody };

/** A token's or a route's level: `read` ⊂ `deploy` ⊂ `admin`. */
export type Scope = "read" | "deploy" | "admin";

/** A page of a listing; pass `cursor` back for the next one (`null` on the last). */
export interface Page<T> {
  items: T[];
  cursor: string | null;
}

// System.

/** `GET /health` (plain JSON, no envelope). */
export interface Health {
  status: "ok";
  version: string;
  uptime_s: number;
}

/** `GET /api/system` */
export interface System {
  version: string;
  os: string;
  arch: string;
  /** Deno's version. */
  deno: string;
  pid: number;
  uptime_s: number;
  memory: {
    rss_bytes: number;
    heap_used_bytes: number;
    /**
     * Times free memory went back to the system since start, when requests
     * stopped (`malloc_trim`); `null` where it cannot (no FFI, not glibc).
     */
    idle_trims: number | null;
  };
  database: {
    size_bytes: number;
    /**
     * The WAL's checkpoints on a thread of their own, which takes them over
     * from the serving thread under steady writes; `null` in memory.
     */
    checkpoint_thread: { active: boolean; runs: number } | null;
  };
  /** How many apps. */
  apps: number;
  /** Hot files held in memory. */
  cache: { files: number; bytes: number; max_bytes: number };
  /** Analytics events refused since start because the buffer was full. */
  dropped_events: number;
  analytics: {
    enabled: boolean;
    buffered_events: number;
    written_events: number;
    /** Since start: over their app's daily cap (`analytics_app_daily_events`), counted, not stored. */
    not_stored_events: number;
    /** Since start: tracking calls refused by a rate limit (429, or a pixel counting nothing). */
    refused_events: number;
  };
  /**
   * Whether forwarding headers are believed, and what reached the admin host
   * this run that was not (then every client has the proxy's address).
   */
  proxy: { trust_proxy: boolean; ignored_forwarding: IgnoredForwarding | null };
  /** Scheduled backups; `null` when the database is in memory (nothing to back up). */
  backup: BackupStatus | null;
  /** Continuous replication; `null` when the database is in memory. */
  replication: ReplicationStatus | null;
  /** Set when this node is a warm standby (`fazt standby`): what it follows. */
  standby: StandbyStatus | null;
}

/**
 * Continuous replication with Litestream (`GET /api/replication`, and in
 * `GET /api/system`). No credential is ever part of it: only whether each
 * is set.
 */
export interface ReplicationStatus {
  enabled: boolean;
  /**
   * `off`; `starting` (Litestream runs, nothing shipped yet); `replicating`;
   * `failing` (Litestream runs, but its last attempt failed: an unreachable
   * replica is retried every sync interval); `waiting` (Litestream is not
   * running: it is restarted at `retry_at`).
   */
  state: "off" | "starting" | "replicating" | "failing" | "waiting";
  /** The replica (`file:///…`, `sftp://user@host:port/…`, `s3://bucket/…`); `null` when off. */
  url: string | null;
  type: "file" | "sftp" | "s3" | null;
  /** How often new writes are shipped (`1s`): about what losing the machine loses. */
  sync_interval: string;
  retention: string;
  credentials: { access_key_id: boolean; secret: boolean; key_path: boolean };
  litestream: { path: string | null; version: string | null; pid: number | null };
  /** Litestream's copy of the database (`generation/index:offset`), as of its last sync. */
  local_position: string | null;
  /** How far the replica holds that copy. */
  replica_position: string | null;
  /** Every write committed before this time is on the replica. */
  replicated_through: number | null;
  /** When something was last written to the replica. */
  synced_at: number | null;
  /** How long the oldest write not yet on the replica has waited (0 when none). */
  lag_ms: number;
  /** `replica_lag_warn_s`: more lag than this is a warning. */
  lag_warn_s: number;
  last_error: { at: number; message: string } | null;
  /** Times Litestream was restarted after it stopped. */
  restarts: number;
  /** When the next start is due (state `waiting`). */
  retry_at: number | null;
  /** Why the owner should look: not replicating, failing, or too far behind. */
  warning: string | null;
}

/** A warm standby's progress (in `GET /api/system` on a standby). */
export interface StandbyStatus {
  /** The replica it restores from. */
  from: string;
  /** How often it restores (`standby_interval`). */
  interval: string;
  /** When its copy was last replaced. */
  refreshed_at: number | null;
  /** When the copy's newest restore was asked for the replica's latest state. */
  next_at: number | null;
  refreshes: number;
  last_error: { at: number; message: string } | null;
  /** `following`, or `promoting` once a promotion has begun. */
  state: "following" | "promoting";
}

/** `POST /api/standby/promote` (202): the standby stops following and becomes a primary. */
export interface PromoteStarted {
  promoting: true;
  /** The replica the new primary replicates to. */
  to: string;
}

/** Forwarding headers the admin host saw and did not believe, since the node started. */
export interface IgnoredForwarding {
  /** The header seen last: `x-forwarded-for`, `forwarded` or `x-real-ip`. */
  header: string;
  /** Whether the proxy (the socket's peer) was on loopback. */
  from_loopback: boolean;
  /** Requests that carried one. */
  requests: number;
  last_seen_at: number;
}

/** The backup schedule and how it went (in `GET /api/system`). */
export interface BackupStatus {
  /** `off`, or how often a backup is made (`24h`). */
  interval: string;
  /** How many backups are kept. */
  keep: number;
  /** When the next scheduled backup is due; `null` when off. */
  next_at: number | null;
  /** A backup (scheduled or a download) is being made now. */
  running: boolean;
  /** The last scheduled backup (or, after a restart, the newest file in the backup folder). */
  last: BackupRun | null;
  /** When the last backup that succeeded was made. */
  last_ok_at: number | null;
  /** Why the owner should look: the last backup failed, or is older than twice the interval. */
  warning: string | null;
}

/** One backup attempt. */
export interface BackupRun {
  at: number;
  /** The file's name in the backup folder (no path). */
  file: string | null;
  size_bytes: number | null;
  ok: boolean;
  /** Why it failed. */
  error: string | null;
}

/** `GET /api/system/requests`: this run's requests per minute over the last hour. */
export interface RequestRate {
  last_minute: number;
  this_minute: number;
  /** 60 minutes, oldest first; `t` is the minute's start. */
  per_minute: { t: number; n: number }[];
}

/** `GET /api/upgrade` */
export interface UpgradeInfo {
  version: string;
  form: "source" | "bundle" | "binary" | "embedded" | "unknown";
  os: string;
  arch: string;
  can_upgrade: boolean;
  /** Why not, when `can_upgrade` is false. */
  reason?: string;
  signature_required: boolean;
}

/** `GET /api/upgrade/release`: what the release feed offers this node. */
export interface ReleaseInfo {
  version: string;
  form: string;
  target: string;
  feed: string;
  available: string;
  date: string;
  size: number;
  runtime: string;
  upgrade_available: boolean;
  can_upgrade: boolean;
  reason?: string;
}

/** `POST /api/upgrade`: 202 `restarting`, or 200 when the program is this version. */
export interface UpgradeStarted {
  action: "restarting" | "already_current";
  from: string;
  to: string;
}

/** `POST /api/system/restart`: 202, the node stops and starts again after this answer. */
export interface RestartStarted {
  action: "restarting";
}

// Analytics.

/** One entry of a top list. */
export interface TopEntry {
  value: string;
  count: number;
}

/** A top-list entry of one app. */
export interface AppTopEntry {
  app: string;
  value: string;
  count: number;
}

export interface Counts {
  views: number;
  visitors: number;
  events: number;
}

/** `GET /api/stats` */
export interface Stats {
  app: string | null;
  from: number;
  to: number;
  interval: "hour" | "day";
  totals: Counts;
  /** Every bucket from `from` to `to`, empty ones included. */
  series: ({ t: number } & Counts)[];
  top: Record<
    "paths" | "referrers" | "browsers" | "oses" | "devices" | "events" | "sources",
    TopEntry[]
  >;
  /**
   * Top lists with the app of each entry, from each app's own counts: over
   * every app, `top.paths` adds up `/` of all of them, `by_app.paths` keeps
   * them apart. `not_found`: paths of the apps' files that answered 404 to
   * people (not bots), not counted as views.
   */
  by_app: Record<"paths" | "not_found", AppTopEntry[]>;
  /**
   * Events over the daily cap (`analytics_app_daily_events`) on the UTC days
   * the range touches: counted here, never stored, so in no other figure.
   */
  not_stored: number;
  // The original v0.9 fields.
  total_events_today: number;
  total_events_week: number;
  total_events_month: number;
  total_events_all_time: number;
  events_by_source_type: Record<string, number>;
  top_domains: { domain: string; count: number }[];
  top_tags: { tag: string; count: number }[];
  /** The last 24 hours; `timestamp` is `YYYY-MM-DD HH:00` (UTC). */
  events_timeline: { timestamp: string; count: number }[];
  total_unique_domains: number;
  total_redirect_clicks: number;
}

/** `GET /api/stats/realtime`: visitors of the last 5 minutes and the page each is on. */
export interface Realtime {
  app: string | null;
  since: number;
  visitors: number;
  pages: { path: string; visitors: number }[];
}

/** A named event with its properties, newest first in `EventStats.recent`. */
export interface RecentEvent {
  at: number;
  app: string;
  name: string;
  path: string;
  referrer: string;
  browser: string;
  os: string;
  device: string;
  props: unknown;
}

/** `GET /api/stats/events` */
export interface EventStats {
  app: string | null;
  /** Only this event name, or all. */
  name: string | null;
  from: number;
  to: number;
  interval: "hour" | "day";
  total: number;
  series: { t: number; count: number }[];
  names: { name: string; count: number }[];
  recent: RecentEvent[];
}

// Apps.

/** `POST /api/deploy` (201) */
export interface Deployed {
  app: string;
  version: number;
  files: number;
  bytes: number;
  /** False for a draft (`?draft=1`). */
  live: boolean;
  url: string;
  /** The version's own host, where a draft can be seen before it is promoted. */
  preview_url: string;
}

/** One entry of `GET /api/apps`. */
export interface AppSummary {
  name: string;
  live_version: number | null;
  /** Files and bytes of the live version. */
  files: number;
  bytes: number;
  /** How many versions are kept. */
  versions: number;
  last_deploy_at: number | null;
  created_at: number;
  updated_at: number;
  url: string;
  /** Whether the live version runs server code (`api/`). */
  server_code: boolean;
  /** Lines the app logged at level `error` in the last hour. */
  errors_last_hour: number;
  /** Drafts waiting: versions never live, newer than the live one. */
  drafts: number;
  /** Page views counted today and the six days before (analytics). */
  views_7d: number;
}

/** One version in `AppDetail.versions`, newest first. */
export interface AppVersion {
  number: number;
  files: number;
  bytes: number;
  /** The token name that deployed it. */
  deployed_by: string | null;
  created_at: number;
  live: boolean;
  /**
   * What the version is: `live` now, `previous` (was live, from `live_from`
   * until `live_until`) or `draft` (never live).
   */
  state: VersionState;
  /** When it last became live; null for a draft. */
  live_from: number | null;
  /** When it last stopped being live; null while live and for a draft. */
  live_until: number | null;
}

/** `AppVersion.state`. */
export type VersionState = "live" | "previous" | "draft";

/** The live version's `manifest.json`, in the API's snake_case. */
export interface AppManifest {
  net: string[];
  routes: string[];
  static_first: boolean;
  timeout_ms: number | null;
  memory_mb: number | null;
  indexes: Record<string, string[]>;
  /** Paths with no file answer `index.html` (a single-page app). */
  spa: boolean;
}

/** `GET /api/apps/:name` */
export interface AppDetail {
  name: string;
  live_version: number | null;
  created_at: number;
  updated_at: number;
  url: string;
  versions: AppVersion[];
  server: { code: boolean; manifest: AppManifest | null };
  /** What the app stores, and the limits it runs under now. */
  usage: AppUsage;
  limits: Record<AppLimitName, number>;
}

/** Bytes an app stores: what `max_storage_bytes` bounds is `stored_bytes`. */
export interface AppUsage {
  kv_bytes: number;
  docs_bytes: number;
  blobs_bytes: number;
  stored_bytes: number;
}

/** The limits an app runs under; 0 means no limit. */
export type AppLimitName =
  | "max_storage_bytes"
  | "max_rps"
  | "max_burst"
  | "max_concurrent"
  | "max_websockets";

/** One limit in `AppLimits.limits`: the node's default is the setting `app_<name>`. */
export interface AppLimit {
  value: number;
  default: number;
  /** Set for this app (`PUT /api/apps/:name/limits`), not the default. */
  overridden: boolean;
  min: number;
  max: number;
}

/** `GET` and `PUT /api/apps/:name/limits` */
export interface AppLimits {
  app: string;
  limits: Record<AppLimitName, AppLimit>;
  usage: AppUsage;
}

/** `DELETE /api/apps/:name` */
export interface AppDeleted {
  app: string;
  deleted: true;
}

/** `POST /api/apps/:name/rollback` */
export interface LiveChanged {
  app: string;
  live_version: number;
  previous_version: number | null;
}

/** `POST /api/apps/:name/promote` */
export interface Promoted extends LiveChanged {
  url: string;
}

/** One file in `FileList.files`. */
export interface FileEntry {
  path: string;
  size: number;
  /** SHA-256 of the content, hex. */
  hash: string;
  content_type: string;
}

/** `GET /api/apps/:name/files` */
export interface FileList {
  app: string;
  version: number;
  files: FileEntry[];
}

/** `GET /api/apps/:name/files/*path`: UTF-8 text as is, anything else as base64. */
export interface FileContent extends FileEntry {
  app: string;
  version: number;
  encoding: "utf-8" | "base64";
  content: string;
}

/** `GET` and `PUT /api/apps/:name/env`: names only, never values. */
export interface EnvVar {
  name: string;
  updated_at: number;
}

/** One run of a scheduled job, as `GET …/crons` and `POST …/crons/:job/run` show it. */
export interface CronRun {
  id: number;
  job: string;
  /** `retry`: a step of the job's backoff after a failed run. */
  trigger: "schedule" | "manual" | "retry";
  started_at: number;
  duration_ms: number | null;
  outcome: "running" | "ok" | "error" | "timeout";
  error: string | null;
  /** Lines the app logged while the run was in progress. */
  logs: { level: string; message: string; at: number }[];
}

/** One scheduled job of an app. */
export interface CronJob {
  name: string;
  schedule: string;
  /** null: UTC. */
  tz: string | null;
  /** `manifest` (`crons`, run by `scheduled`) or `code` (`Deno.cron`). */
  source: "manifest" | "code";
  next_run: number | null;
  running: boolean;
  last_run: CronRun | null;
}

/** `GET /api/apps/:name/crons`. */
export interface CronList {
  jobs: CronJob[];
  /** Newest first, across jobs. */
  runs: CronRun[];
}

/** `GET /api/apps/:name/logs` (oldest first), and each `data:` of `…/logs/stream`. */
export interface LogEntry {
  id: number;
  level: "debug" | "info" | "warn" | "error";
  message: string;
  created_at: number;
}

// HTTPS and custom domains.

/** One name the node serves, and its certificate (never its key). */
export interface Certificate {
  name: string;
  /** `domain` (the node's own, serving `root`), `admin`, an `app`'s host, or a `custom` domain. */
  kind: "domain" | "admin" | "app" | "custom";
  /** The app served on it (`null` on the admin host). */
  app: string | null;
  /**
   * `valid`; `renewing` (valid, renewal due: 30 days before expiry);
   * `pending` (none yet, or one from another ACME directory); `expired`.
   */
  status: "valid" | "renewing" | "pending" | "expired";
  issuer: string | null;
  serial: string | null;
  not_before: number | null;
  /** When it expires. */
  not_after: number | null;
  renew_at: number | null;
  /** Failed issuances in a row, and the last one's error. */
  failures: number;
  last_error: string | null;
  last_attempt_at: number | null;
  /** When it is tried next (`null` when HTTPS is off). */
  next_attempt_at: number | null;
}

/** `GET /api/certificates` */
export interface Certificates {
  /** Whether this run gets and serves certificates (the `https` setting). */
  https: boolean;
  /** The ACME directory they come from. */
  directory: string;
  certificates: Certificate[];
}

/** `GET /api/apps/{name}/domains`: a custom domain serving the app. */
export interface CustomDomain {
  /** ASCII (IDNA), lower case: what the `Host` header carries. */
  name: string;
  /** The same name as people write it (`bücher.example`). */
  unicode: string;
  app: string;
  created_at: number;
  /** Its certificate's state. */
  certificate: Certificate | null;
}

/** `POST /api/apps/{name}/domains` with `{"name": "shop.example.com"}` */
export interface DomainAdded {
  domain: CustomDomain;
  /** `false` when the domain already served this app. */
  created: boolean;
}

/** `DELETE /api/apps/{name}/domains/{domain}` */
export interface DomainRemoved {
  app: string;
  name: string;
  removed: true;
}

// An app's own data (read and delete only).

/** `GET /api/apps/:name/kv` gives a `Page` of these. */
export interface KvEntry {
  key: string;
  value: unknown;
  expires_at: number | null;
}

/** `GET /api/apps/:name/denokv`: an entry of the app's `Deno.openKv()`, as text. */
export interface DenoKvEntry {
  /** As Deno prints it: `["links", "kv"]`. */
  key: string;
  /** A preview, at most 200 characters. */
  value: string;
  versionstamp: string;
  expires_at: number | null;
}

/** `DELETE /api/apps/:name/kv/*key` and `…/blobs/*key` */
export interface KeyDeleted {
  key: string;
  deleted: true;
}

/** `GET /api/apps/:name/docs` */
export interface Collection {
  collection: string;
  count: number;
}

/** A document of `GET /api/apps/:name/docs/:collection` (a `Page` of these). */
export type Doc = { id: string } & Record<string, unknown>;

/** `PUT /api/apps/:name/kv/*key`: the value as now stored. */
export interface KvReplaced {
  key: string;
  value: unknown;
}

/** `PUT /api/apps/:name/docs/:collection/:id`: the document as now stored. */
export interface DocReplaced {
  collection: string;
  id: string;
  doc: Doc;
}

/** `DELETE /api/apps/:name/docs/:collection/:id` */
export interface DocDeleted {
  collection: string;
  id: string;
  deleted: true;
}

/** `GET /api/apps/:name/blobs` gives a `Page` of these (the bytes: `…/blobs/*key`). */
export interface BlobInfo {
  key: string;
  size: number;
  content_type: string;
  updated_at: number;
}

// Tokens, sessions, settings, peers.

/** `GET /api/tokens` (secrets are never listed) */
export interface Token {
  id: number;
  name: string;
  scope: Scope;
  created_at: number;
  last_used_at: number | null;
}

/** `POST /api/tokens` (201): the secret is in this answer only. */
export interface NewToken extends Token {
  token: string;
}

/** `DELETE /api/tokens/:id` */
export interface TokenRevoked {
  id: number;
  revoked: true;
}

/** `POST /api/auth/login` (sets the session cookie) */
export interface LoggedIn {
  username: string;
  expires_at: number;
}

/** `POST /api/auth/logout`: whether a session was ended. */
export interface LoggedOut {
  logged_out: boolean;
}

/** `GET /api/auth/me`: a signed-in owner, or a token. */
export type Me =
  | { kind: "session"; name: string; username: string; scope: "admin"; expires_at: number }
  | { kind: "token"; name: string; scope: Scope; id: number };

/** `GET /api/auth/sessions`: signed-in browsers. */
export interface Session {
  /** A short public handle, to revoke by. */
  id: string;
  created_at: number;
  last_seen_at: number;
  expires_at: number;
  user_agent: string | null;
  /** The caller's own session. */
  current: boolean;
}

/** `DELETE /api/auth/sessions/:id` */
export interface SessionRevoked {
  id: string;
  revoked: true;
}

/** `GET /api/settings`: one setting as this run uses it. */
export interface Setting {
  key: string;
  /** The value this run uses (flags may override the stored one). */
  value: string | number;
  stored_value: string | number;
  default: string | number;
  /** Whether the stored value differs from the default. */
  stored: boolean;
  /** This run's value comes from a command-line flag, not the stored one. */
  from_flag: boolean;
  /** The stored value differs from this run's and applies at the next start. */
  pending: boolean;
  kind: "string" | "int";
  /** For `int` settings. */
  min?: number;
  max?: number;
}

/** `PUT /api/settings`: settings apply at the next start. */
export interface SettingsSaved {
  settings: Setting[];
  restart_required: true;
}

/** `GET /api/peers` (never a peer's token) */
export interface PeerInfo {
  name: string;
  url: string;
  is_default: boolean;
  last_seen_at: number | null;
  version: string | null;
  created_at: number;
}

/** `DELETE /api/peers/:name` */
export interface PeerRemoved {
  removed: string;
}

/** `GET /api/peers/status`: each peer's `/health`, checked live. */
export interface PeerStatus extends PeerInfo {
  reachable: boolean;
  latency_ms: number | null;
  /** Why not reachable. */
  error: string | null;
}

/** `GET /.well-known/mcp.json` (plain JSON, no envelope) */
export interface McpDiscovery {
  name: "fazt";
  version: string;
  description: string;
  transport: { type: "streamable-http"; url: string };
  authentication: {
    type: "bearer";
    header: string;
    how: string;
    scopes: Record<Scope, string>;
  };
  stdio: { command: string; args: string[] };
  tools: { name: string; scope: Scope; description: string }[];
  resources: string[];
  docs: string;
}

/** The `data` of each enveloped route's success answer, by `"METHOD path"` as in `ROUTES`. */
export interface ApiData {
  "GET /api/system": System;
  "GET /api/upgrade": UpgradeInfo;
  "POST /api/upgrade": UpgradeStarted;
  "GET /api/upgrade/release": ReleaseInfo;
  "GET /api/stats": Stats;
  "GET /api/stats/realtime": Realtime;
  "GET /api/stats/events": EventStats;
  "POST /api/deploy": Deployed;
  "GET /api/apps": AppSummary[];
  "GET /api/apps/:name": AppDetail;
  "DELETE /api/apps/:name": AppDeleted;
  "POST /api/apps/:name/rollback": LiveChanged;
  "POST /api/apps/:name/promote": Promoted;
  "GET /api/apps/:name/files": FileList;
  "GET /api/apps/:name/files/*path": FileContent;
  "GET /api/apps/:name/limits": AppLimits;
  "PUT /api/apps/:name/limits": AppLimits;
  "GET /api/apps/:name/env": EnvVar[];
  "PUT /api/apps/:name/env": EnvVar[];
  "GET /api/apps/:name/crons": CronList;
  "POST /api/apps/:name/crons/:job/run": CronRun;
  "GET /api/apps/:name/logs": LogEntry[];
  "GET /api/apps/:name/kv": Page<KvEntry>;
  "PUT /api/apps/:name/kv/*key": KvReplaced;
  "DELETE /api/apps/:name/kv/*key": KeyDeleted;
  "GET /api/apps/:name/denokv": Page<DenoKvEntry>;
  "GET /api/apps/:name/docs": Collection[];
  "GET /api/apps/:name/docs/:collection": Page<Doc>;
  "PUT /api/apps/:name/docs/:collection/:id": DocReplaced;
  "DELETE /api/apps/:name/docs/:collection/:id": DocDeleted;
  "GET /api/apps/:name/blobs": Page<BlobInfo>;
  "DELETE /api/apps/:name/blobs/*key": KeyDeleted;
  "GET /api/tokens": Token[];
  "POST /api/tokens": NewToken;
  "DELETE /api/tokens/:id": TokenRevoked;
  "POST /api/auth/login": LoggedIn;
  "POST /api/auth/logout": LoggedOut;
  "GET /api/auth/me": Me;
  "GET /api/auth/sessions": Session[];
  "DELETE /api/auth/sessions/:id": SessionRevoked;
  "GET /api/settings": Setting[];
  "PUT /api/settings": SettingsSaved;
  "GET /api/system/requests": RequestRate;
  "POST /api/system/restart": RestartStarted;
  "GET /api/peers": PeerInfo[];
  "POST /api/peers": PeerInfo;
  "DELETE /api/peers/:name": PeerRemoved;
  "GET /api/peers/status": PeerStatus[];
  "GET /api/replication": ReplicationStatus;
  "PUT /api/replication": ReplicationStatus;
  "DELETE /api/replication": ReplicationStatus;
  "POST /api/standby/promote": PromoteStarted;
  "GET /api/certificates": Certificates;
  "GET /api/apps/:name/domains": CustomDomain[];
  "POST /api/apps/:name/domains": DomainAdded;
  "DELETE /api/apps/:name/domains/:domain": DomainRemoved;
}

/** Routes that answer something other than the envelope, and what. */
export interface PlainAnswers {
  "GET /health": Health;
  /** Server-Sent Events: `event: log` with a `LogEntry` as `data:`. */
  "GET /api/apps/:name/logs/stream": "text/event-stream";
  /** A consistent snapshot of the database, checked, as a download. */
  "GET /api/backup": "application/vnd.sqlite3";
  /** The blob's bytes, as a download. */
  "GET /api/apps/:name/blobs/*key": "application/octet-stream";
  /** MCP's JSON-RPC. */
  "POST /mcp": "application/json";
  "GET /.well-known/mcp.json": McpDiscovery;
  "GET /llms.txt": "text/plain";
}
