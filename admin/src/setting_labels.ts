/**
 * How the Settings page names and shows each setting: a label, a sentence on
 * what it does, and its unit (bytes, milliseconds, on/off…). The key itself
 * is still shown, as `fazt server config` knows it.
 */

export type Unit = "bytes" | "ms" | "s" | "mb" | "hours" | "days" | "switch" | "per_s";

export interface SettingLabel {
  label: string;
  help?: string;
  unit?: Unit;
}

const L: Record<string, SettingLabel> = {
  domain: { label: "Domain", help: "The node's name; apps are served on its subdomains." },
  port: { label: "HTTP port", help: "Where the node listens (0 picks a free port)." },
  host: { label: "Listen address", help: "The address the node listens on (:: is every one)." },
  max_versions: {
    label: "Versions kept per app",
    help: "Older ones are pruned; the live one stays.",
  },
  max_files: { label: "Files per deploy" },
  max_upload_bytes: { label: "Upload size", help: "The largest ZIP a deploy may upload." },
  max_unpacked_bytes: { label: "Unpacked size", help: "All files of one deploy, unpacked." },
  max_zip_ratio: { label: "Compression ratio", help: "Refuses archives that inflate more." },
  compress_max_bytes: { label: "Largest file compressed ahead" },
  app_max_indexes: { label: "Document indexes per app" },
  cache_bytes: { label: "File cache", help: "Memory for serving files without reading them." },
  app_timeout_ms: { label: "Request time limit", help: "For server code, unless an app asks." },
  app_timeout_max_ms: { label: "Longest time limit an app may ask for" },
  app_memory_mb: { label: "Memory per app", help: "Unless an app's manifest asks for more." },
  app_memory_max_mb: { label: "Most memory an app may ask for" },
  app_queue_limit: { label: "Queued requests per app" },
  app_max_workers: { label: "Workers an app may start" },
  app_max_body_bytes: { label: "Request body to server code" },
  app_max_response_bytes: { label: "Response from server code" },
  app_idle_ms: { label: "Idle time before an app stops" },
  app_queue_ms: { label: "Longest wait in an app's queue" },
  app_host_slots: { label: "Apps per host process" },
  app_stream_max_ms: { label: "Longest streamed response" },
  app_preview_max: { label: "Draft previews running at once" },
  session_idle_hours: { label: "Sign-in idle limit", help: "Each use pushes it back." },
  session_max_days: { label: "Sign-in lifetime", help: "However active the session is." },
  trust_proxy: {
    label: "Behind a reverse proxy",
    help: "Trust X-Forwarded-For/-Proto from a proxy on this machine.",
  },
  token_failures_max: { label: "Bad tokens before a pause", help: "Per client address." },
  token_failures_window_s: { label: "Bad-token window" },
  max_connections: { label: "Open connections" },
  max_connections_per_ip: { label: "Connections per client" },
  header_timeout_ms: { label: "Time to send request headers" },
  idle_timeout_ms: { label: "Idle keep-alive connection" },
  body_stall_timeout_ms: { label: "Stalled request body" },
  max_requests_in_flight: { label: "Requests in flight" },
  overload_lag_ms: { label: "Event-loop lag before shedding" },
  shutdown_grace_ms: { label: "Grace time at shutdown" },
  analytics_enabled: { label: "Count visits" },
  analytics_retention_days: { label: "Keep raw events" },
  analytics_honor_dnt: { label: "Honour Do Not Track" },
  analytics_buffer_events: { label: "Events buffered before writing" },
  analytics_client_rate: { label: "Events per client" },
  analytics_client_burst: { label: "Burst per client" },
  analytics_app_rate: { label: "Events per app" },
  analytics_app_burst: { label: "Burst per app" },
  analytics_app_daily_events: { label: "Raw events kept per app per day" },
  upgrade_public_key: { label: "Upgrade signing key" },
  release_feed: { label: "Release feed" },
  release_public_key: { label: "Release signing key" },
  https: { label: "HTTPS", help: "Certificates over ACME for the node and its apps." },
  http_port: { label: "HTTP port (with HTTPS on)" },
  https_port: { label: "HTTPS port" },
  acme_directory: { label: "ACME directory", help: "The certificate authority." },
  acme_email: { label: "ACME contact e-mail" },
  acme_ca_file: { label: "CA file for the ACME directory" },
  max_custom_domains: { label: "Custom domains" },
  backup_interval: { label: "Backup every", help: "Empty: no scheduled backups." },
  backup_keep: { label: "Backups kept" },
  backup_dir: { label: "Backup folder" },
  replica_url: { label: "Replica", help: "Where Litestream copies the database." },
  replica_sync_interval: { label: "Replica sync every" },
  replica_retention: { label: "Replica keeps" },
  replica_lag_warn_s: { label: "Warn when the replica lags by" },
  replica_key_path: { label: "Replica SSH key" },
  litestream_path: { label: "Litestream program" },
  standby_interval: { label: "Standby refresh every" },
};

/** Units from the key's suffix, for settings with no entry above. */
function unitOf(key: string, max?: number): Unit | undefined {
  if (max === 1 && /^(https|trust_proxy|analytics_enabled|analytics_honor_dnt)$/.test(key)) {
    return "switch";
  }
  if (key.endsWith("_bytes")) return "bytes";
  if (key.endsWith("_ms")) return "ms";
  if (key.endsWith("_s")) return "s";
  if (key.endsWith("_mb")) return "mb";
  if (key.endsWith("_hours")) return "hours";
  if (key.endsWith("_days")) return "days";
  if (key.endsWith("_rate")) return "per_s";
  return undefined;
}

/** The label, help and unit of a setting (a readable label from its key if none is written). */
export function settingLabel(key: string, max?: number): SettingLabel {
  const known = L[key];
  const label = known?.label ?? key.replaceAll("_", " ").replace(/^./, (c) => c.toUpperCase());
  return { label, help: known?.help, unit: known?.unit ?? unitOf(key, max) };
}

const BINARY = ["bytes", "KiB", "MiB", "GiB", "TiB"];

/** A value as people read it: 1 MiB, 10 s, on. */
export function showValue(value: string | number, unit?: Unit): string {
  if (typeof value !== "number") return value === "" ? "(not set)" : value;
  switch (unit) {
    case "switch":
      return value ? "on" : "off";
    case "bytes": {
      let i = 0;
      let v = value;
      while (v >= 1024 && v % 1024 === 0 && i < BINARY.length - 1) {
        v /= 1024;
        i++;
      }
      return `${v.toLocaleString("en-US")} ${BINARY[i]}`;
    }
    case "ms":
      if (value >= 60_000 && value % 60_000 === 0) return `${value / 60_000} min`;
      if (value >= 1000 && value % 1000 === 0) return `${value / 1000} s`;
      return `${value.toLocaleString("en-US")} ms`;
    case "s":
      return `${value.toLocaleString("en-US")} s`;
    case "mb":
      return `${value.toLocaleString("en-US")} MB`;
    case "hours":
      return `${value.toLocaleString("en-US")} h`;
    case "days":
      return `${value.toLocaleString("en-US")} ${value === 1 ? "day" : "days"}`;
    case "per_s":
      return `${value.toLocaleString("en-US")} per second`;
    default:
      return value.toLocaleString("en-US");
  }
}

/** What the input is counted in (for its label). */
export function unitWord(unit?: Unit): string | undefined {
  return {
    bytes: "bytes",
    ms: "milliseconds",
    s: "seconds",
    mb: "MB",
    hours: "hours",
    days: "days",
    per_s: "per second",
    switch: undefined,
  }[unit ?? "switch"];
}
