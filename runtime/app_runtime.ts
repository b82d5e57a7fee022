import { BodyTooLargeError, readBody } from "../lib/read_body.ts";
import type { Settings, Storage } from "../storage/mod.ts";
import { VERSION } from "../version.ts";
import { AppHost } from "./app_host.ts";
import { handleCall } from "./bridge.ts";
import type { Manifest } from "./manifest.ts";
import { problem } from "./problem.ts";
import type { LogLine } from "./protocol.ts";
import { StackMapper } from "./source_map.ts";
import { WriteQueue } from "./write_queue.ts";

export interface AppTarget {
  appId: number;
  appName: string;
  version: number;
}

interface Backoff {
  failures: number;
  until: number;
}

/**
 * Runs apps' server code: one host process per app version, started on the
 * first request, kept warm, stopped when idle, restarted with backoff after a
 * crash, and killed when a deploy or an env change makes it stale.
 */
export class AppRuntime {
  readonly writes: WriteQueue;
  #hosts = new Map<string, AppHost>();
  #backoff = new Map<number, Backoff>();
  #sweeper: ReturnType<typeof setInterval>;
  // Stack traces in logs name the developer's files, through each build's source map.
  #stacks = new StackMapper((appId, version) => this.storage.apps.sourceMap(appId, version));

  constructor(
    private storage: Storage,
    private settings: Settings,
    private log: (m: string) => void,
  ) {
    this.writes = new WriteQueue(storage.db);
    this.#sweeper = setInterval(
      () => this.#sweep(),
      Math.min(30_000, Math.max(1000, settings.app_idle_ms / 4)),
    );
    Deno.unrefTimer(this.#sweeper);
  }

  /** Host processes currently running, for `/api/system` and tests. */
  hosts(): { appId: number; appName: string; pid: number; inflight: number }[] {
    return [...this.#hosts.values()].map((h) => ({
      appId: h.spec.appId,
      appName: h.spec.appName,
      pid: h.pid,
      inflight: h.inflight,
    }));
  }

  async handle(req: Request, target: AppTarget, manifest: Manifest): Promise<Response> {
    const max = this.settings.app_max_body_bytes;
    let body: Uint8Array | undefined;
    if (req.body) {
      try {
        body = await readBody(req, max);
      } catch (err) {
        if (!(err instanceof BodyTooLargeError)) throw err;
        return problem(413, "PAYLOAD_TOO_LARGE", `The request body is larger than ${max} bytes`);
      }
    }
    const host = this.#host(target, manifest);
    if (host instanceof Response) return host;
    return host.handle(req, body);
  }

  #host(target: AppTarget, manifest: Manifest): AppHost | Response {
    const key = `${target.appId}:${target.version}`;
    const existing = this.#hosts.get(key);
    if (existing && !existing.dead) return existing;
    const wait = this.#backoff.get(target.appId);
    if (wait && wait.until > Date.now()) {
      const seconds = Math.ceil((wait.until - Date.now()) / 1000);
      return problem(503, "APP_RESTARTING", "The app crashed and is restarting", {
        "retry-after": String(seconds),
      });
    }
    const build = this.storage.apps.build(target.appId, target.version);
    if (!build) return problem(404, "NOT_FOUND", "This app has no server code");
    const s = this.settings;
    const host = new AppHost({
      appId: target.appId,
      appName: target.appName,
      build,
      net: manifest.net,
      env: this.storage.env.values(target.appId),
      timeoutMs: Math.min(manifest.timeoutMs ?? s.app_timeout_ms, s.app_timeout_max_ms),
      memoryMb: Math.min(manifest.memoryMb ?? s.app_memory_mb, s.app_memory_max_mb),
      queueLimit: s.app_queue_limit,
      maxWorkers: s.app_max_workers,
      maxResponseBytes: s.app_max_response_bytes,
      version: VERSION,
    }, {
      call: (op, args, body) =>
        handleCall(this.storage, this.writes, target.appId, op, args, body, this.log),
      log: (entries) => this.#appendLogs(target, entries),
      exit: (h, crashed) => this.#exited(key, h, crashed),
    });
    this.#hosts.set(key, host);
    return host;
  }

  #appendLogs(target: AppTarget, entries: LogLine[]): void {
    const { appId, version } = target;
    const rows = entries.map((e) => ({
      appId,
      ...e,
      message: this.#stacks.map(appId, version, e.message),
    }));
    this.writes.run(appId, () => this.storage.logs.appendMany(rows)).catch((err) =>
      this.log(`could not store app logs: ${err instanceof Error ? err.message : err}`)
    );
  }

  #exited(key: string, host: AppHost, crashed: boolean): void {
    if (this.#hosts.get(key) === host) this.#hosts.delete(key);
    const appId = host.spec.appId;
    if (!crashed) return;
    const prev = this.#backoff.get(appId);
    const failures = prev && Date.now() - prev.until < 60_000 ? prev.failures + 1 : 1;
    // First crash: restart at once; then 0.5 s, 1 s, 2 s … up to 30 s.
    const delay = failures <= 1 ? 0 : Math.min(30_000, 250 * 2 ** (failures - 1));
    this.#backoff.set(appId, { failures, until: Date.now() + delay });
    this.log(`app ${host.spec.appName} (pid ${host.pid}) stopped unexpectedly`);
  }

  /** Kills the hosts of an app so the next request starts its current version. */
  stopApp(appId: number): void {
    for (const [key, host] of this.#hosts) {
      if (host.spec.appId === appId) {
        this.#hosts.delete(key);
        host.kill();
      }
    }
    this.#backoff.delete(appId);
  }

  #sweep(): void {
    // Expired keys already read as absent; this frees their space.
    this.writes.run(0, () => this.storage.kv.purgeExpired()).catch(() => {});
    const idle = this.settings.app_idle_ms;
    for (const [key, host] of this.#hosts) {
      if (host.inflight === 0 && Date.now() - host.lastUsed > idle) {
        this.#hosts.delete(key);
        host.kill();
      }
    }
  }

  close(): void {
    clearInterval(this.#sweeper);
    for (const host of this.#hosts.values()) host.kill();
    this.#hosts.clear();
  }
}
