import type { Build } from "../storage/mod.ts";
import type { CallResult } from "./bridge.ts";
import {
  encodeFrame,
  FRAME,
  FrameReader,
  FrameWriter,
  type LogLine,
  type RawFrame,
} from "./protocol.ts";
import { problem } from "./problem.ts";
import { spawnFazt } from "./spawn.ts";

export interface HostSpec {
  appId: number;
  appName: string;
  build: Build;
  net: string[];
  env: Record<string, string>;
  timeoutMs: number;
  memoryMb: number;
  queueLimit: number;
  maxWorkers: number;
  maxResponseBytes: number;
  version: string;
}

export interface HostEvents {
  /** `op` and `args` as the app sent them: checked by the bridge. */
  call(op: unknown, args: unknown, body: Uint8Array): Promise<CallResult>;
  log(entries: LogLine[]): void;
  exit(host: AppHost, crashed: boolean): void;
}

interface InFlight {
  resolve: (res: Response) => void;
  deadline: number;
}

const STARTUP_LIMIT_MS = 10_000;
const LEVELS: ReadonlySet<unknown> = new Set(["debug", "info", "warn", "error"]);

/** Log lines as the app sent them, made well-formed: it may send anything. */
function logLines(entries: unknown[]): LogLine[] {
  return entries.map((entry) => {
    const e = entry as Partial<Record<keyof LogLine, unknown>> | null | undefined;
    return {
      level: LEVELS.has(e?.level) ? e!.level as LogLine["level"] : "info",
      message: String(e?.message ?? ""),
      at: Number.isFinite(e?.at) ? e!.at as number : Date.now(),
    };
  });
}

/**
 * One app host process, seen from the server: requests go in as frames and
 * come back as responses; past a deadline the whole process is killed, which
 * is the only sure way to stop code stuck in a loop.
 */
export class AppHost {
  readonly ready: Promise<void>;
  readonly pid: number;
  lastUsed = Date.now();
  #child: Deno.ChildProcess;
  #out: FrameWriter;
  #inflight = new Map<number, InFlight>();
  #nextId = 1;
  /** Requests waiting for the host to start; they count against the queue. */
  #waiting = 0;
  #dead = false;
  #killedOnPurpose = false;

  constructor(readonly spec: HostSpec, private events: HostEvents) {
    const flags = [
      "--deny-import",
      "--unstable-worker-options",
      // A 1 MiB young generation: under load the default one grows to tens
      // of MiB per host and stays (measured: 144 -> 80 MiB after a wrk run,
      // requests/s unchanged).
      `--v8-flags=--max-old-space-size=${spec.memoryMb},--max-semi-space-size=1`,
    ];
    if (spec.net.length) flags.push(`--allow-net=${spec.net.join(",")}`);
    this.#child = spawnFazt("host", flags);
    this.pid = this.#child.pid;
    this.#out = new FrameWriter(this.#child.stdin.getWriter(), () => this.kill());
    this.ready = this.#start();
    this.#child.status.then(() => this.#exited());
    this.#pipeStderr();
  }

  get inflight(): number {
    return this.#inflight.size + this.#waiting;
  }

  get dead(): boolean {
    return this.#dead;
  }

  #start(): Promise<void> {
    const { build, env, appName, maxWorkers, version, net } = this.spec;
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        reject(new Error("the app did not start in time"));
        this.kill();
      }, STARTUP_LIMIT_MS);
      this.#onReady = (err) => {
        clearTimeout(timer);
        if (err) {
          reject(err);
          this.kill();
        } else resolve();
      };
      this.#out.send(encodeFrame(0, FRAME.INIT, {
        style: build.style,
        code: build.code,
        scripts: build.scripts,
        net,
        env,
        app: { name: appName },
        version,
        maxWorkers,
      }));
      this.#read();
    });
  }

  #onReady: (err?: Error) => void = () => {};

  async #read(): Promise<void> {
    const reader = new FrameReader();
    try {
      for await (const chunk of this.#child.stdout) {
        for (const frame of reader.push(chunk)) this.#onFrame(frame);
      }
    } catch {
      // A malformed frame or a closed pipe: the process is not to be trusted.
      this.kill();
    }
  }

  /** Every field of a host's frame is checked: app code can post anything to its host. */
  #onFrame(f: RawFrame): void {
    switch (f.type) {
      case FRAME.RESPONSE:
        return this.#onResponse(f);
      case FRAME.CALL: {
        const meta = f.meta as { op?: unknown; args?: unknown } | null;
        this.events.call(meta?.op, meta?.args, f.body).then((r) => {
          if (!this.#dead) {
            this.#out.send(
              encodeFrame(f.id, FRAME.RESULT, { value: r.value, error: r.error }, r.body),
            );
          }
        });
        return;
      }
      case FRAME.LOG:
        if (Array.isArray(f.meta)) this.events.log(logLines(f.meta.slice(0, 1000)));
        return;
      case FRAME.READY:
        return this.#onReady();
      case FRAME.FAILED: {
        const message = String((f.meta as { message?: unknown })?.message ?? "unknown error");
        this.events.log([{
          level: "error",
          message: `the app failed to load: ${message}`,
          at: Date.now(),
        }]);
        return this.#onReady(new Error("the app failed to load"));
      }
    }
  }

  #onResponse(f: RawFrame): void {
    const pending = this.#inflight.get(f.id);
    if (!pending) return;
    this.#inflight.delete(f.id);
    const meta = f.meta as { status?: unknown; headers?: unknown };
    const status = Number(meta?.status);
    if (!Number.isInteger(status) || status < 200 || status > 599) {
      return pending.resolve(
        problem(502, "APP_BAD_RESPONSE", "The app returned an invalid response"),
      );
    }
    if (f.body.byteLength > this.spec.maxResponseBytes) {
      return pending.resolve(
        problem(502, "APP_RESPONSE_TOO_LARGE", "The app's response is too large"),
      );
    }
    let headers: Headers;
    try {
      headers = new Headers(meta.headers as [string, string][]);
    } catch {
      return pending.resolve(problem(502, "APP_BAD_RESPONSE", "The app returned invalid headers"));
    }
    const nullBody = status === 204 || status === 205 || status === 304;
    pending.resolve(
      new Response(nullBody ? null : f.body as Uint8Array<ArrayBuffer>, { status, headers }),
    );
  }

  /** Sends a request to the app; always resolves, with the app's answer or an error response. */
  async handle(req: Request, body: Uint8Array | undefined): Promise<Response> {
    this.lastUsed = Date.now();
    if (this.#inflight.size + this.#waiting >= this.spec.queueLimit) {
      return problem(503, "APP_BUSY", "The app is busy; try again shortly", { "retry-after": "1" });
    }
    this.#waiting++;
    try {
      await this.ready;
    } catch {
      return problem(502, "APP_FAILED", "The app could not be started");
    } finally {
      this.#waiting--;
    }
    if (this.#dead) {
      return problem(503, "APP_RESTARTING", "The app is restarting", { "retry-after": "1" });
    }
    const id = this.#nextId++;
    return new Promise<Response>((resolve) => {
      this.#inflight.set(id, { resolve, deadline: Date.now() + this.spec.timeoutMs });
      this.#watchDeadlines();
      const headers: [string, string][] = [];
      req.headers.forEach((v, k) => headers.push([k, v]));
      this.#out.send(
        encodeFrame(id, FRAME.REQUEST, { method: req.method, url: req.url, headers }, body),
      );
    });
  }

  #deadlineTimer: ReturnType<typeof setTimeout> | undefined;

  /**
   * One timer for all requests rather than one each: every request of a host
   * has the same time limit, so the oldest in flight is always due first.
   */
  #watchDeadlines(): void {
    if (this.#deadlineTimer !== undefined || this.#dead) return;
    const first = this.#inflight.values().next();
    if (first.done) return;
    const wait = Math.max(0, first.value.deadline - Date.now());
    this.#deadlineTimer = setTimeout(() => {
      this.#deadlineTimer = undefined;
      const now = Date.now();
      for (const [id, p] of this.#inflight) {
        if (p.deadline > now) break;
        this.#inflight.delete(id);
        p.resolve(
          problem(504, "APP_TIMEOUT", `The app did not answer within ${this.spec.timeoutMs} ms`),
        );
        this.events.log([{
          level: "error",
          message: `request timed out after ${this.spec.timeoutMs} ms; host restarted`,
          at: now,
        }]);
        // Code stuck in a loop cannot be interrupted, only killed.
        return this.kill();
      }
      this.#watchDeadlines();
    }, wait + 1);
  }

  /** Stops the process at once (SIGKILL); requests still in flight get 503. */
  kill(): void {
    if (this.#dead) return;
    this.#killedOnPurpose = true;
    try {
      this.#child.kill("SIGKILL");
    } catch {
      // Already gone.
    }
    this.#settleAll(503, "APP_RESTARTING", "The app was restarted; try again");
  }

  #settleAll(status: number, code: string, message: string): void {
    if (this.#deadlineTimer !== undefined) clearTimeout(this.#deadlineTimer);
    this.#deadlineTimer = undefined;
    for (const [id, p] of this.#inflight) {
      p.resolve(problem(status, code, message, { "retry-after": "1" }));
      this.#inflight.delete(id);
    }
  }

  #exited(): void {
    const crashed = !this.#killedOnPurpose;
    this.#dead = true;
    this.#out.close();
    this.#onReady(new Error("the app host exited"));
    this.#settleAll(502, "APP_CRASHED", "The app stopped while handling this request");
    this.events.exit(this, crashed);
  }

  async #pipeStderr(): Promise<void> {
    const decoder = new TextDecoder();
    let pending = "";
    try {
      for await (const chunk of this.#child.stderr) {
        pending += decoder.decode(chunk, { stream: true });
        const lines = pending.split("\n");
        pending = lines.pop() ?? "";
        const entries = lines.filter((l) => l.trim()).slice(0, 100)
          .map((message): LogLine => ({
            level: "error",
            message: message.slice(0, 2000),
            at: Date.now(),
          }));
        if (entries.length) this.events.log(entries);
      }
    } catch {
      // The process is gone.
    }
  }
}
