/**
 * `fazt replicate enable|disable|status`: continuous replication of a
 * node's database with Litestream. With `--db PATH` they work on the
 * database file (a node not running: before its first start, say); else
 * through the API of the node the connection names (`@NAME`, `--url`, the
 * default peer), where a change applies at once.
 * @module
 */
import type { Command } from "commander";
import {
  findLitestream,
  LitestreamNotFound,
  litestreamVersion,
} from "../../lib/litestream_binary.ts";
import { parseReplicaUrl } from "../../lib/replica_url.ts";
import { type Api, disableChanges, enableChanges } from "../../server/mod.ts";
import {
  assertNotInUse,
  BackupError,
  SettingError,
  type SettingKey,
  type Settings,
  Storage,
} from "../../storage/mod.ts";
import { CliError } from "../cli_error.ts";
import { connect, type ConnectionFlags } from "../connection.ts";
import { formatTime, printJson } from "../output.ts";
import { fileExists, resolveDbPath } from "../paths.ts";
import { type CredentialFlags, credentialOptions, readCredentials } from "../replica_flags.ts";

interface EnableFlags extends ConnectionFlags, CredentialFlags {
  to: string;
  syncInterval?: string;
  retention?: string;
  json?: boolean;
}

/** What `status --db` shows: the stored setup, and whether a node has the file open. */
export interface LocalReplicationStatus {
  enabled: boolean;
  url: string | null;
  type: "file" | "sftp" | "s3" | null;
  sync_interval: string;
  retention: string;
  lag_warn_s: number;
  credentials: { access_key_id: boolean; secret: boolean; key_path: boolean };
  litestream: { path: string | null; version: string | null };
  /** Whether a node (or its Litestream) has the database open now. */
  node_running: boolean;
}

function localOrRemote(flags: ConnectionFlags): "local" | "remote" {
  if (flags.db !== undefined) {
    if (flags.url || flags.token) {
      throw new CliError("use --db (the file) or --url (a node), not both", "VALIDATION_FAILED");
    }
    return "local";
  }
  return "remote";
}

/** The database, refused while a node runs on it (it reads settings only at start). */
function openStopped(db: string | undefined): Storage {
  const path = resolveDbPath(db);
  try {
    assertNotInUse(path);
  } catch (err) {
    if (err instanceof BackupError) {
      throw new CliError(
        `${path} is in use by a running node: change it through its API (@NAME or --url), ` +
          "where the change applies at once",
        err.code,
      );
    }
    throw err;
  }
  return Storage.open(path);
}

function litestreamOrRefuse(setting: string): string {
  try {
    return findLitestream(setting);
  } catch (err) {
    if (err instanceof LitestreamNotFound) throw new CliError(err.message, "LITESTREAM_NOT_FOUND");
    throw err;
  }
}

function validation(err: unknown): never {
  if (err instanceof SettingError) throw new CliError(err.message, "VALIDATION_FAILED");
  throw err;
}

/** Whether a node (or its Litestream) has the file open; ask before opening it here. */
function inUse(dbPath: string): boolean {
  try {
    assertNotInUse(dbPath);
    return false;
  } catch (err) {
    if (err instanceof BackupError) return true;
    throw err;
  }
}

async function localStatus(settings: Settings, running: boolean): Promise<LocalReplicationStatus> {
  let path: string | null = null;
  try {
    path = findLitestream(settings.litestream_path);
  } catch (err) {
    if (!(err instanceof LitestreamNotFound)) throw err;
  }
  const enabled = settings.replica_url !== "none";
  return {
    enabled,
    url: enabled ? settings.replica_url : null,
    type: enabled ? parseReplicaUrl(settings.replica_url).type : null,
    sync_interval: settings.replica_sync_interval,
    retention: settings.replica_retention,
    lag_warn_s: settings.replica_lag_warn_s,
    credentials: {
      access_key_id: settings.replica_access_key_id !== "",
      secret: settings.replica_secret !== "",
      key_path: settings.replica_key_path !== "none",
    },
    litestream: { path, version: path ? await litestreamVersion(path) ?? null : null },
    node_running: running,
  };
}

async function enable(flags: EnableFlags): Promise<void> {
  const mode = localOrRemote(flags);
  const credentials = await readCredentials(flags);
  const request = {
    url: flags.to,
    accessKeyId: credentials.accessKeyId,
    secret: credentials.secret,
    keyPath: credentials.keyPath,
    syncInterval: flags.syncInterval,
    retention: flags.retention,
  };
  if (mode === "remote") {
    const body: Record<string, string> = { url: flags.to };
    if (request.accessKeyId !== undefined) body.access_key_id = request.accessKeyId;
    if (request.secret !== undefined) body.secret = request.secret;
    if (request.keyPath !== undefined) body.key_path = request.keyPath;
    if (request.syncInterval !== undefined) body.sync_interval = request.syncInterval;
    if (request.retention !== undefined) body.retention = request.retention;
    const status = await connect(flags).request<Api.ReplicationStatus>("PUT", "/api/replication", {
      body: JSON.stringify(body),
      type: "application/json",
    });
    if (flags.json) return printJson(status);
    console.log(`replication to ${status.url} is on (state: ${status.state})`);
    if (status.warning) console.log(`warning: ${status.warning}`);
    return;
  }
  let changes: Partial<Record<SettingKey, string | number>>;
  try {
    changes = enableChanges(request);
  } catch (err) {
    validation(err);
  }
  const dbPath = resolveDbPath(flags.db);
  const storage = openStopped(flags.db);
  try {
    litestreamOrRefuse(storage.settings.load().litestream_path);
    storage.db.transaction(() => {
      for (const [key, value] of Object.entries(changes)) storage.settings.set(key, value);
    });
    const status = await localStatus(storage.settings.load(), false);
    if (flags.json) return printJson(status);
    console.log(`replication to ${status.url} is on: it starts with the node`);
    console.log(`  fazt server start --db ${dbPath}`);
  } finally {
    storage.close();
  }
}

async function disable(flags: ConnectionFlags & { json?: boolean }): Promise<void> {
  if (localOrRemote(flags) === "remote") {
    const status = await connect(flags).request<Api.ReplicationStatus>(
      "DELETE",
      "/api/replication",
    );
    if (flags.json) return printJson(status);
    return console.log("replication is off (the replica's credentials are forgotten)");
  }
  const storage = openStopped(flags.db);
  try {
    storage.db.transaction(() => {
      for (const [key, value] of Object.entries(disableChanges())) storage.settings.set(key, value);
    });
    if (flags.json) return printJson(await localStatus(storage.settings.load(), false));
    console.log("replication is off (the replica's credentials are forgotten)");
  } finally {
    storage.close();
  }
}

function when(ms: number | null): string {
  return ms === null ? "never" : `${formatTime(ms)} UTC`;
}

async function status(flags: ConnectionFlags & { json?: boolean }): Promise<void> {
  if (localOrRemote(flags) === "local") {
    const dbPath = resolveDbPath(flags.db);
    if (!fileExists(dbPath)) {
      throw new CliError(`there is no database at ${dbPath}`, "DATABASE_NOT_FOUND");
    }
    const running = inUse(dbPath);
    const storage = Storage.open(dbPath);
    let s: LocalReplicationStatus;
    try {
      s = await localStatus(storage.settings.load(), running);
    } finally {
      storage.close();
    }
    if (flags.json) return printJson(s);
    if (!s.enabled) console.log("replication: off");
    else console.log(`replication: to ${s.url} (ships new writes every ${s.sync_interval})`);
    console.log(`litestream: ${s.litestream.path ?? "not found"} ${s.litestream.version ?? ""}`);
    console.log(
      s.node_running
        ? "a node is running on this database: fazt replicate status (through its API) shows how it goes"
        : "no node is running on this database",
    );
    return;
  }
  const s = await connect(flags).request<Api.ReplicationStatus>("GET", "/api/replication");
  if (flags.json) return printJson(s);
  if (!s.enabled) return console.log("replication: off");
  console.log(`replication: ${s.state}, to ${s.url} (ships new writes every ${s.sync_interval})`);
  console.log(`litestream:  ${s.litestream.version ?? "?"} pid ${s.litestream.pid ?? "-"}`);
  console.log(
    `position:    local ${s.local_position ?? "-"}, replica ${s.replica_position ?? "-"}`,
  );
  console.log(`replicated:  every write before ${when(s.replicated_through)}`);
  console.log(`lag:         ${(s.lag_ms / 1000).toFixed(1)} s (warning past ${s.lag_warn_s} s)`);
  if (s.last_error) console.log(`last error:  ${when(s.last_error.at)}: ${s.last_error.message}`);
  if (s.warning) console.log(`warning: ${s.warning}`);
}

function connectionOptions(cmd: Command): Command {
  return cmd
    .option("--db <path>", "work on this database file (its node stopped)")
    .option("--url <url>", "the node's URL (default: @NAME, $FAZT_URL or the default peer)")
    .option("--token <token>", "an admin token for --url (default $FAZT_TOKEN)")
    .option("--json", "print JSON");
}

export function replicateCommand(program: Command): void {
  const replicate = program.command("replicate").description(
    "continuous replication of the database with Litestream: enable, disable, status",
  );
  connectionOptions(credentialOptions(
    replicate.command("enable")
      .description(
        "replicate to a file:///path, sftp://user@host:port/path or s3://bucket/path?endpoint=…&region=… URL",
      )
      .requiredOption("--to <url>", "the replica"),
  ))
    .option("--sync-interval <d>", "how often new writes are shipped (default 1s)")
    .option("--retention <d>", "how long history is kept for point-in-time restores (default 24h)")
    .action(enable);
  connectionOptions(
    replicate.command("disable").description("stop replicating; forget the replica's credentials"),
  ).action(disable);
  connectionOptions(
    replicate.command("status").description(
      "state, replica position, lag and last error (never credentials)",
    ),
  ).action(status);
}
