/**
 * Continuous replication: the node runs Litestream beside itself and keeps
 * it running.
 *
 * Litestream is started with a configuration generated from the settings
 * (credentials included) in a private temporary folder: the folder is 0700,
 * the file 0600, and both are deleted as soon as Litestream has read them
 * (its first log line), else when it stops. Its command line carries only
 * that file's name. It is restarted with backoff when it stops, stopped
 * (with a final sync) when the node stops, and it stops by itself within a
 * second when the node dies without stopping it (`-exec` of a child that
 * exits with the node's process). Its JSON log says how far the replica has
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
import { textLines } from "../lib/text_lines.ts";
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
    let config: string;
    try {
      config = await this.#writeConfig();
    } catch (err) {
      this.#fail(`cannot write Litestream's configuration: ${(err as Error).message}`);
      return;
    }
    let child: Deno.ChildProcess;
    try {
      child = new Deno.Command(binary, {
        args: ["replicate", "-config", config, "-no-expand-env", "-exec", watcher()],
        stdin: "null",
        stdout: "piped",
        stderr: "piped",
      }).spawn();
    } catch (err) {
      this.#removeConfig();
      this.#fail(`cannot start Litestream: ${(err as Error).message}`);
      return;
    }
    this.#child = child;
    this.#startedAt = this.#now();
    this.#progress.restarted();
    this.#db.setReplication({ enabled: true, running: true });
    this.#log(`replication: Litestream ${this.#version ?? ""} started (pid ${child.pid})`);
    const reading = Promise.all([this.#readStdout(child), this.#readStderr(child)]);
    this.#exited = child.status.then(async (status) => {
      await reading.catch(() => {});
      this.#removeConfig();
      this.#child = undefined;
      this.#db.setReplication({ enabled: this.enabled && !this.#closed, running: false });
      if (this.#stopping || this.#closed) return;
      const how = status.signal ? `signal ${status.signal}` : `code ${status.code}`;
      this.#fail(`Litestream exited (${how})`);
    });
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

  /** The configuration in a folder only this user can enter; its path. */
  async #writeConfig(): Promise<string> {
    const dir = await Deno.makeTempDir({ prefix: "fazt-litestream-" });
    if (Deno.build.os !== "windows") await Deno.chmod(dir, 0o700);
    this.#configDir = dir;
    const path = `${dir}/litestream.yml`;
    const text = litestreamConfig(this.#dbPath, this.#target!, this.#credentials(), {
      syncInterval: this.#settings.replica_sync_interval,
      retention: this.#settings.replica_retention,
    });
    await Deno.writeTextFile(path, text, { createNew: true, mode: 0o600 });
    return path;
  }

  #credentials() {
    const s = this.#settings;
    return {
      accessKeyId: s.replica_access_key_id,
      secret: s.replica_secret,
      keyPath: s.replica_key_path === "none" ? undefined : s.replica_key_path,
    };
  }

  #removeConfig(): void {
    const dir = this.#configDir;
    if (!dir) return;
    this.#configDir = undefined;
    try {
      Deno.removeSync(dir, { recursive: true });
    } catch {
      // Already gone.
    }
  }

  async #readStdout(child: Deno.ChildProcess): Promise<void> {
    for await (const raw of textLines(child.stdout)) {
      // Litestream has read its configuration once it says anything.
      this.#removeConfig();
      const line = parseLitestreamLine(raw);
      if (!line) {
        if (raw.trim() && !raw.startsWith("{")) this.#log(`litestream: ${this.#redact(raw)}`);
        continue;
      }
      this.#progress.feed(line);
      if (line.level === "ERROR" || line.level === "WARN" || LOGGED.has(line.msg)) {
        const { db: _db, ...fields } = line.fields;
        const detail = Object.entries(fields).map(([k, v]) => `${k}=${JSON.stringify(v)}`);
        this.#log(`litestream: ${this.#redact([line.msg, ...detail].join(" "))}`);
      }
    }
  }

  async #readStderr(child: Deno.ChildProcess): Promise<void> {
    for await (const raw of textLines(child.stderr)) {
      this.#removeConfig();
      if (!raw.trim()) continue;
      const text = this.#redact(raw);
      this.#log(`litestream: ${text}`);
      this.#progress.lastError = { at: this.#now(), message: text.slice(0, 500) };
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
    this.#removeConfig();
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
