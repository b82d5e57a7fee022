/**
 * Continuous replication: the node runs Litestream beside itself and keeps
 * it running.
 *
 * Litestream is started with a configuration generated from the settings
 * (credentials included) in a private temporary folder: the folder is 0700,
 * the file 0600 and deleted as soon as Litestream has read it (its first log
 * line); the folder, with Litestream's log, goes when it stops. Its command
 * line carries only that file's name. It is restarted with backoff when it stops, stopped
 * (with a final sync) when the node stops, and it stops by itself, after a
 * final sync, within a second when the node dies without stopping it
 * (`-exec` of a child that exits with the node's process). Its JSON log says how far the replica has
 * got (`ReplicaProgress`); errors go to the node's log with every credential
 * taken out.
 *
 * Checkpoints: while replication is on, the node runs no blocking
 * checkpoint, and while Litestream runs SQLite's automatic ones stop too
 * (`Database.setReplication`).
 * @module
 */
import type { Database, Settings } from "../storage/mod.ts";
import { parseReplicaUrl, type ReplicaTarget } from "../lib/replica_url.ts";
import { litestreamConfig } from "../lib/litestream_config.ts";
import { findLitestream, LitestreamNotFound, litestreamVersion } from "../lib/litestream_binary.ts";
import { formatPosition, parseLitestreamLine, ReplicaProgress } from "../lib/replica_progress.ts";
import type * as Api from "./api_types.ts";

/** The settings replication reads. */
export type ReplicationSettings = Pick<
  Settings,
  | "replica_url"
  | "replica_sync_interval"
  | "replica_retention"
  | "replica_lag_warn_s"
  | "replica_access_key_id"
  | "replica_secret"
  | "replica_key_path"
  | "litestream_path"
>;

export interface ReplicatorOptions {
  dbPath: string;
  db: Database;
  settings: ReplicationSettings;
  log: (message: string) => void;
  /** The clock (tests). */
  now?: () => number;
}

/** Backoff between restarts: 1 s doubling to a minute; back to 1 s after a minute of running. */
const FIRST_RETRY_MS = 1000;
const MAX_RETRY_MS = 60_000;
const STABLE_MS = 60_000;
/** How long Litestream gets for its final sync when the node stops. */
const STOP_GRACE_MS = 15_000;

/** A failing replica gets a fresh Litestream after 5 s, then 10 s, … up to 5 minutes. */
const FIRST_FAILING_MS = 5000;
const MAX_FAILING_MS = 300_000;
const WATCH_MS = 1000;

/** How often Litestream's log is looked at for new lines. */
const LOG_POLL_MS = 100;
/** Its log is cut back once this much has been read. */
const LOG_MAX_BYTES = 1024 * 1024;

/** Litestream lines worth a line in the node's log (the rest is progress). */
const LOGGED = new Set(["initialized db", "replicating to", "sync: new generation"]);

export class Replicator {
  readonly #dbPath: string;
  readonly #db: Database;
  readonly #log: (message: string) => void;
  readonly #now: () => number;
  #settings: ReplicationSettings;
  #target?: ReplicaTarget;
  #progress = new ReplicaProgress();
  #child?: Deno.ChildProcess;
  #exited?: Promise<void>;
  #configDir?: string;
  #binary: string | null = null;
  #version: string | null = null;
  #startedAt = 0;
  #restarts = 0;
  #retryMs = FIRST_RETRY_MS;
  #retryAt: number | null = null;
  #timer?: ReturnType<typeof setTimeout>;
  #watcher?: ReturnType<typeof setInterval>;
  #recycling = false;
  #failingSince: number | null = null;
  #failingMs = FIRST_FAILING_MS;
  #stopping = false;
  #closed = false;
  #launching?: Promise<void>;

  constructor(opts: ReplicatorOptions) {
    this.#dbPath = opts.dbPath;
    this.#db = opts.db;
    this.#log = opts.log;
    this.#now = opts.now ?? Date.now;
    this.#settings = { ...opts.settings };
  }

  get enabled(): boolean {
    return this.#settings.replica_url !== "none";
  }

  /** Starts replicating when a replica is set; never throws (a failure is retried). */
  start(): void {
    if (!this.enabled || this.#closed) {
      this.#db.setReplication({ enabled: false, running: false });
      return;
    }
    this.#target = parseReplicaUrl(this.#settings.replica_url);
    this.#db.setReplication({ enabled: true, running: false });
    // Until Litestream says otherwise, the replica may lack anything written before now.
    this.#progress = new ReplicaProgress();
    this.#progress.noteWrite(this.#now());
    this.#db.onWrite = (at) => this.#progress.noteWrite(at);
    this.#launching = this.#launch();
  }

  /** Applies new settings now: stops Litestream, then starts it on them (or not at all). */
  async reconfigure(settings: ReplicationSettings): Promise<void> {
    await this.#stop();
    this.#settings = { ...settings };
    this.#restarts = 0;
    this.#retryMs = FIRST_RETRY_MS;
    this.#progress.lastError = null;
    this.#db.onWrite = undefined;
    this.start();
    await this.#launching;
  }

  async #launch(): Promise<void> {
    this.#retryAt = null;
    if (this.#closed || this.#stopping) return;
    let binary: string;
    try {
      binary = findLitestream(this.#settings.litestream_path);
    } catch (err) {
      if (!(err instanceof LitestreamNotFound)) throw err;
      this.#binary = null;
      this.#fail(err.message.split("\n")[0], err.message);
      return;
    }
    if (binary !== this.#binary) {
      this.#binary = binary;
      this.#version = await litestreamVersion(binary) ?? null;
    }
    if (this.#closed || this.#stopping) return;
    let files: { config: string; log: string };
    try {
      files = await this.#writeConfig();
    } catch (err) {
      this.#fail(`cannot write Litestream's configuration: ${(err as Error).message}`);
      return;
    }
    let child: Deno.ChildProcess;
    try {
      // Its output goes to a file, not a pipe: when the node dies, a Go
      // program logging to a broken pipe is killed by SIGPIPE, before the
      // final sync this is all about (ignoring SIGPIPE does not help: the
      // Go runtime installs its own handler).
      child = new Deno.Command("sh", {
        args: [
          "-c",
          'log=$1; shift; exec "$@" >>"$log" 2>&1',
          "sh",
          files.log,
          binary,
          "replicate",
          "-config",
          files.config,
          "-no-expand-env",
          "-exec",
          watcher(),
        ],
        stdin: "null",
        stdout: "null",
        stderr: "null",
      }).spawn();
    } catch (err) {
      this.#removeFiles();
      this.#fail(`cannot start Litestream: ${(err as Error).message}`);
      return;
    }
    this.#child = child;
    this.#startedAt = this.#now();
    this.#progress.restarted();
    this.#db.setReplication({ enabled: true, running: true });
    this.#log(`replication: Litestream ${this.#version ?? ""} started (pid ${child.pid})`);
    let exited = false;
    const status = child.status.finally(() => exited = true);
    const reading = this.#follow(files, () => exited);
    this.#exited = status.then(async (status) => {
      await reading.catch(() => {});
      this.#removeFiles();
      this.#child = undefined;
      this.#db.setReplication({ enabled: this.enabled && !this.#closed, running: false });
      if (this.#stopping || this.#closed) return;
      if (this.#recycling) {
        // Stopped on purpose to try the replica again: start at once.
        this.#recycling = false;
        this.#restarts++;
        this.#launching = this.#launch();
        return;
      }
      const how = status.signal ? `signal ${status.signal}` : `code ${status.code}`;
      this.#fail(`Litestream exited (${how})`);
    });
    this.#watch();
  }

  /**
   * Litestream retries a replica that failed only when the database changes
   * again; on a quiet node an unreachable replica would stay unretried. So
   * a replica failing for longer than `#failingMs` (5 s, doubling to five
   * minutes) gets a fresh Litestream, which tries it at once.
   */
  #watch(): void {
    clearInterval(this.#watcher);
    this.#watcher = setInterval(() => {
      const child = this.#child;
      if (!child || this.#stopping || this.#closed || this.#recycling) return;
      const p = this.#progress;
      const failing = p.lastError !== null && p.lastError.at >= (p.syncedAt ?? 0);
      if (!failing) {
        this.#failingSince = null;
        this.#failingMs = FIRST_FAILING_MS;
        return;
      }
      this.#failingSince ??= this.#now();
      if (this.#now() - this.#failingSince < this.#failingMs) return;
      this.#log(
        `replication: the replica has failed for ${
          Math.round((this.#now() - this.#failingSince) / 1000)
        } s; starting Litestream again to retry it`,
      );
      this.#failingSince = null;
      this.#failingMs = Math.min(this.#failingMs * 2, MAX_FAILING_MS);
      this.#recycling = true;
      try {
        child.kill("SIGTERM");
      } catch {
        // Gone meanwhile: its exit starts the next one.
      }
    }, WATCH_MS);
  }

  /** Records a failure and schedules the next start. */
  #fail(message: string, detail = message): void {
    this.#progress.lastError = { at: this.#now(), message: this.#redact(message) };
    this.#log(`replication: ${this.#redact(detail)}`);
    if (this.#closed || this.#stopping) return;
    if (this.#startedAt && this.#now() - this.#startedAt > STABLE_MS) {
      this.#retryMs = FIRST_RETRY_MS;
    }
    const wait = this.#retryMs;
    this.#retryMs = Math.min(this.#retryMs * 2, MAX_RETRY_MS);
    this.#retryAt = this.#now() + wait;
    this.#log(`replication: starting Litestream again in ${Math.round(wait / 1000)} s`);
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#restarts++;
      this.#launching = this.#launch();
    }, wait);
  }

  /** The configuration and the log in a folder only this user can enter. */
  async #writeConfig(): Promise<{ config: string; log: string }> {
    const dir = await Deno.makeTempDir({ prefix: "fazt-litestream-" });
    if (Deno.build.os !== "windows") await Deno.chmod(dir, 0o700);
    this.#configDir = dir;
    const config = `${dir}/litestream.yml`;
    const text = litestreamConfig(this.#dbPath, this.#target!, this.#credentials(), {
      syncInterval: this.#settings.replica_sync_interval,
      retention: this.#settings.replica_retention,
    });
    await Deno.writeTextFile(config, text, { createNew: true, mode: 0o600 });
    const log = `${dir}/litestream.log`;
    await Deno.writeTextFile(log, "", { createNew: true, mode: 0o600 });
    return { config, log };
  }

  #credentials() {
    const s = this.#settings;
    return {
      accessKeyId: s.replica_access_key_id,
      secret: s.replica_secret,
      keyPath: s.replica_key_path === "none" ? undefined : s.replica_key_path,
    };
  }

  /** The folder with the configuration and the log (Litestream has stopped). */
  #removeFiles(): void {
    const dir = this.#configDir;
    if (!dir) return;
    this.#configDir = undefined;
    try {
      Deno.removeSync(dir, { recursive: true });
    } catch {
      // Already gone.
    }
  }

  /**
   * Reads Litestream's log as it grows until Litestream has exited and all
   * of it is read. The configuration file goes once Litestream has said
   * anything (it has read it by then). The log is cut back when it grows
   * past `LOG_MAX_BYTES` and all of it has been read.
   */
  async #follow(files: { config: string; log: string }, exited: () => boolean): Promise<void> {
    const file = await Deno.open(files.log, { read: true });
    const decoder = new TextDecoder();
    const chunk = new Uint8Array(64 * 1024);
    let pending = "";
    let offset = 0;
    let configGone = false;
    try {
      while (true) {
        const n = await file.read(chunk);
        if (n === null || n === 0) {
          if (exited()) {
            // One last look: it may have written between the read and its exit.
            const last = await file.read(chunk);
            if (last === null || last === 0) break;
            pending += decoder.decode(chunk.subarray(0, last), { stream: true });
            continue;
          }
          if (offset > LOG_MAX_BYTES && pending === "") {
            await Deno.truncate(files.log, 0);
            await file.seek(0, Deno.SeekMode.Start);
            offset = 0;
          }
          await new Promise((r) => setTimeout(r, LOG_POLL_MS));
          continue;
        }
        offset += n;
        if (!configGone) {
          configGone = true;
          await Deno.remove(files.config).catch(() => {});
        }
        pending += decoder.decode(chunk.subarray(0, n), { stream: true });
        let newline: number;
        while ((newline = pending.indexOf("\n")) !== -1) {
          this.#line(pending.slice(0, Math.min(newline, 64 * 1024)));
          pending = pending.slice(newline + 1);
        }
        if (pending.length > 64 * 1024) pending = "";
      }
      if (pending) this.#line(pending);
    } finally {
      file.close();
    }
  }

  /** One line of Litestream's: progress, and what is worth the node's log. */
  #line(raw: string): void {
    const line = parseLitestreamLine(raw);
    if (!line) {
      if (raw.trim() && !raw.startsWith("{")) {
        const text = this.#redact(raw);
        this.#log(`litestream: ${text}`);
        this.#progress.lastError = { at: this.#now(), message: text.slice(0, 500) };
      }
      return;
    }
    this.#progress.feed(line);
    if (line.level === "ERROR" || line.level === "WARN" || LOGGED.has(line.msg)) {
      const { db: _db, ...fields } = line.fields;
      const detail = Object.entries(fields).map(([k, v]) => `${k}=${JSON.stringify(v)}`);
      this.#log(`litestream: ${this.#redact([line.msg, ...detail].join(" "))}`);
    }
  }

  /** Takes every credential out of a text from Litestream. */
  #redact(text: string): string {
    let out = text;
    for (const secret of [this.#settings.replica_secret, this.#settings.replica_access_key_id]) {
      if (secret) out = out.split(secret).join("[redacted]");
    }
    return out;
  }

  /** Stops Litestream (after its final sync) and any pending restart. */
  async #stop(): Promise<void> {
    this.#stopping = true;
    clearTimeout(this.#timer);
    clearInterval(this.#watcher);
    this.#recycling = false;
    this.#timer = undefined;
    this.#retryAt = null;
    await this.#launching;
    const child = this.#child;
    if (child) {
      try {
        child.kill("SIGTERM");
      } catch {
        // Already gone.
      }
      const timer = setTimeout(() => {
        try {
          child.kill("SIGKILL");
        } catch {
          // Gone meanwhile.
        }
      }, STOP_GRACE_MS);
      await this.#exited;
      clearTimeout(timer);
    }
    this.#removeFiles();
    this.#db.setReplication({ enabled: false, running: false });
    this.#stopping = false;
  }

  /** Stops Litestream for good (the node is stopping). */
  async close(): Promise<void> {
    await this.#stop();
    this.#closed = true;
    this.#db.onWrite = undefined;
  }

  /** What `/api/system` and `GET /api/replication` show. */
  status(): Api.ReplicationStatus {
    const s = this.#settings;
    const p = this.#progress;
    const now = this.#now();
    const running = this.#child !== undefined;
    const enabled = this.enabled;
    let state: Api.ReplicationStatus["state"] = "off";
    if (enabled) {
      if (!running) state = "waiting";
      else if (p.lastError && p.lastError.at >= (p.syncedAt ?? 0)) state = "failing";
      else if (p.syncedAt === null) state = "starting";
      else state = "replicating";
    }
    const lag = enabled ? p.lagMs(now) : 0;
    return {
      enabled,
      state,
      url: enabled ? s.replica_url : null,
      type: enabled && this.#target ? this.#target.type : null,
      sync_interval: s.replica_sync_interval,
      retention: s.replica_retention,
      credentials: {
        access_key_id: s.replica_access_key_id !== "",
        secret: s.replica_secret !== "",
        key_path: s.replica_key_path !== "none",
      },
      litestream: { path: this.#binary, version: this.#version, pid: this.#child?.pid ?? null },
      local_position: p.localPosition && formatPosition(p.localPosition),
      replica_position: p.replicaPosition && formatPosition(p.replicaPosition),
      replicated_through: p.replicatedThrough,
      synced_at: p.syncedAt,
      lag_ms: lag,
      lag_warn_s: s.replica_lag_warn_s,
      last_error: p.lastError,
      restarts: this.#restarts,
      retry_at: this.#retryAt,
      warning: enabled ? this.#warning(state, lag) : null,
    };
  }

  #warning(state: Api.ReplicationStatus["state"], lag: number): string | null {
    const error = this.#progress.lastError?.message;
    if (state === "waiting") return `Replication is not running: ${error ?? "Litestream stopped"}.`;
    if (state === "failing") return `The replica cannot be written: ${error}.`;
    if (lag > this.#settings.replica_lag_warn_s * 1000) {
      return `The replica is ${
        Math.round(lag / 1000)
      } s behind (more than replica_lag_warn_s, ${this.#settings.replica_lag_warn_s} s): writes since then would be lost with this machine.`;
    }
    return null;
  }
}

/**
 * What Litestream runs beside itself (`-exec`): a program that exits when
 * this process does, so Litestream (which stops when it exits) never
 * outlives the node, even one killed with SIGKILL.
 */
function watcher(): string {
  if (Deno.build.os === "linux") return `tail --pid=${Deno.pid} -f /dev/null`;
  return `sh -c 'while kill -0 ${Deno.pid} 2>/dev/null; do sleep 1; done'`;
}
