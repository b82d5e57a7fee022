import { BodyTooLargeError, readBody } from "../lib/read_body.ts";
import { LEASE_MS, type Settings, type Storage } from "../storage/mod.ts";
import { VERSION } from "../version.ts";
import { AppChannel, type ChannelLimits } from "./app_channel.ts";
import { AppHost, type HostEvents, type Slot } from "./app_host.ts";
import { AppQuotas } from "./app_quotas.ts";
import { type CallContext, handleCall } from "./bridge.ts";
import { KvSignals } from "./kv_signals.ts";
import { EgressProxy } from "./egress_proxy.ts";
import { FairShare } from "./fair_share.ts";
import { HostSocket } from "./host_socket.ts";
import { checkCronSpec, type CronSpec, sameCronSpec } from "./cron_schedule.ts";
import type { Manifest } from "./manifest.ts";
import { problem } from "./problem.ts";
import { type ProcessSample, ProcWatch, TICKS_PER_SECOND } from "./proc_watch.ts";
import type { InitMeta, JobMeta, LogLine } from "./protocol.ts";
import { StackMapper } from "./source_map.ts";
import { WriteQueue } from "./write_queue.ts";

export interface AppTarget {
  appId: number;
  appName: string;
  version: number;
}

/** What the runtime asks of the server in front when an app upgrades a request to a WebSocket. */
export interface UpgradeDoor {
  /** Whether the connection `req` came on can hold an upgraded socket. */
  canUpgrade(req: Request): boolean;
  /** `req`'s connection now carries a WebSocket until the returned function is called. */
  hold(req: Request): () => void;
  /** App `appName` upgraded a request whose connection could not hold it. */
  missed(appName: string): void;
}

/** One version of one app, running (or about to) in a slot of a host. */
interface Instance {
  key: string;
  target: AppTarget;
  manifest: Manifest;
  /** A version asked for by a preview host (`<app>--v<N>`). */
  preview: boolean;
  memoryMb: number;
  limits: ChannelLimits;
  slot: Slot | undefined;
  channel: AppChannel | undefined;
  ready: Promise<void> | undefined;
  /** Requests waiting for the instance to load; they count against the queue. */
  waiting: number;
  lastUsed: number;
  /** Nested Workers granted so far. */
  nested: number;
  gone: boolean;
  /** Log lines of running jobs are copied here, one array per run. */
  jobLogs: Set<LogLine[]>;
  /** Its module is being loaded (INIT sent, READY not yet back). */
  loading: boolean;
  /** Queue messages its handlers hold, by id, until their lease ends. */
  deliveries: Map<number, number>;
}

/** A job to run now, as the scheduler asks for it: what the JOB frame carries. */
export type JobRequest = JobMeta;

/** How a job's run ended. */
export interface JobResult {
  outcome: "ok" | "error" | "timeout";
  error?: string;
  logs: LogLine[];
}

interface Backoff {
  failures: number;
  until: number;
}

type Incident = "timeout" | "memory" | "crash" | "cpu" | "threads" | "protocol";

/** Request bodies up to this size with a Content-Length are read before the app sees them. */
const INLINE_UPLOAD = 64 * 1024;
const MIB = 1024 * 1024;
/** The most of a job's answer read: its reason or error envelope is far smaller. */
const MAX_JOB_ANSWER_BYTES = 16 * 1024;
/** How often hosts' threads and memory are read. */
const SAMPLE_MS = 1000;
/**
 * How much of a sampling window an app's thread may be running (or ready to
 * run) with no request in flight; more, and its host is stopped: a Worker
 * spinning after it answered. Runnable time, not CPU time, so a loop is seen
 * however busy the machine is.
 */
const IDLE_BUSY_SHARE = 0.5;
/**
 * Windows in a row an idle app's thread must be that busy: work that ends
 * within a second of the response (a log flush, a GC, a short task) is not
 * a Worker spinning, and on a loaded machine a thread that woke for it may
 * wait in the run queue for much of a window.
 */
const IDLE_BUSY_WINDOWS = 2;
/**
 * The share of each such window the thread must actually have run: a
 * thread only waiting for a core is runnable but uses nothing, while a
 * loop gets its share of the cores (5 %: 40 runnable threads on 2 cores).
 */
const IDLE_CPU_SHARE = 0.05;
/** An app moved to a host of its own stays there this long (or until redeployed). */
const EXILE_MS = 24 * 3600_000;
/** A Worker that ended while its host lives: waited for this long before calling it one app's crash. */
const CRASH_SETTLE_MS = 500;
/**
 * While several apps are served: requests each app may always have at its
 * code, and all apps together past which the busiest wait (runtime/fair_share.ts).
 */
const FAIR_FLOOR = 4;
const FAIR_BUDGET = 8;
/**
 * A flooding app beside a modest one rests this many times as long as each
 * of its requests took, up to `FAIR_MAX_REST_MS` (runtime/fair_share.ts;
 * bench/README.md has what each factor gave: reads beside a writer 0.79x
 * at 3, 0.89x and 0.97x at 8, the writer at ~80 req/s).
 */
const FAIR_PACE = 8;
const FAIR_MAX_REST_MS = 50;
/**
 * A request still unanswered after this long gives its place back: it is
 * waiting on I/O (a fetch, a timer), not using the server, and an app doing
 * slow I/O would otherwise be held to `FAIR_FLOOR` requests at a time
 * beside a busy app (tests/runtime_placement_test.ts).
 */
const FAIR_HOLD_MS = 50;

const INCIDENT_TEXT: Record<Incident, string> = {
  timeout: "a request passed its deadline",
  memory: "it went over its memory limit",
  crash: "its host crashed",
  cpu: "it kept using CPU with no request in flight",
  threads: "its host ran more Worker threads than were granted",
  protocol: "it broke the host protocol",
};

/**
 * Runs apps' server code. Apps live in slots of shared host processes
 * (`app_host_slots` per process, each app in its own Worker with its own
 * permissions and connection); a spare host with warm Workers waits so a
 * cold start is "send the code, answer". Past a deadline the whole host is
 * killed: the culprit's request gets 504, its neighbours' requests in flight
 * 503 with `Retry-After`, the neighbours move to fresh slots at once, and
 * the culprit moves to a host of its own. Memory is bounded per app (its
 * reports), per host (RLIMIT_DATA and a watch on its resident size), and
 * CPU after a response by watching each Worker thread.
 */
export class AppRuntime {
  readonly writes: WriteQueue;
  /** Each app's limits: stored bytes, request rate, requests at once, WebSockets. */
  readonly quotas: AppQuotas;
  /** Wakes apps' waiting `Deno.openKv()` calls (`watch`, `listenQueue`). */
  readonly kvSignals = new KvSignals();
  /** Each app's turns on the server's thread while several apps are busy. */
  readonly fair = new FairShare({
    floor: FAIR_FLOOR,
    budget: FAIR_BUDGET,
    pace: FAIR_PACE,
    maxRestMs: FAIR_MAX_REST_MS,
    holdMs: FAIR_HOLD_MS,
  });
  #instances = new Map<string, Instance>();
  #hosts = new Set<AppHost>();
  #backoff = new Map<number, Backoff>();
  #exiled = new Map<number, number>();
  #socket: Promise<HostSocket> | undefined;
  #watch = new ProcWatch();
  #sweeper: ReturnType<typeof setInterval>;
  // Stack traces in logs name the developer's files, through each build's source map.
  #stacks = new StackMapper((appId, version) => this.storage.apps.sourceMap(appId, version));
  #sampler: ReturnType<typeof setInterval> | undefined;
  /** Each host thread's counters at the last sample, and its busy windows in a row. */
  #busy = new Map<number, ThreadBusy>();
  #lastSample = 0;
  #samplesTaken = 0;
  #handled = new WeakSet<AppHost>();
  #closed = false;
  /**
   * How the server in front holds upgraded connections. The default suits
   * `Deno.serve`, where every request can be upgraded; `startServer` sets
   * its front door's.
   */
  upgrades: UpgradeDoor = {
    canUpgrade: () => true,
    hold: () => () => {},
    missed: () => {},
  };
  /** WebSockets open per app (all its versions). */
  #sockets = new Map<number, number>();
  /** Told when a version's code registered other jobs than stored (the scheduler listens). */
  onCodeCrons: (appId: number, version: number) => void = () => {};
  /** Told when an app's live code stopped running (idle, stopped, replaced; the queue waker listens). */
  onStopped: (appId: number) => void = () => {};
  /** When each app last crashed or was stopped for what it did (its host killed because of it). */
  #trouble = new Map<number, number>();

  constructor(
    private storage: Storage,
    private settings: Settings,
    private log: (m: string) => void,
  ) {
    this.writes = new WriteQueue(storage.db);
    this.quotas = new AppQuotas(storage, settings);
    this.#sweeper = setInterval(
      () => this.#sweep(),
      Math.min(30_000, Math.max(1000, settings.app_idle_ms / 4)),
    );
    Deno.unrefTimer(this.#sweeper);
  }

  /** Apps running now, with their host's process, for `/api/system` and tests. */
  hosts(): { appId: number; appName: string; version: number; pid: number; inflight: number }[] {
    const out = [];
    for (const inst of this.#instances.values()) {
      if (!inst.slot) continue;
      out.push({
        appId: inst.target.appId,
        appName: inst.target.appName,
        version: inst.target.version,
        pid: inst.slot.host.pid,
        inflight: (inst.channel?.inflight ?? 0) + inst.waiting,
      });
    }
    return out;
  }

  /** The processes of every host alive, holding apps or not (the spare, hosts starting). */
  hostPids(): number[] {
    return [...this.#hosts].filter((h) => !h.dead).map((h) => h.pid);
  }

  /** Each host alive and its slots by state: waiting for an app, holding one, ended, or with no Worker. */
  hostSlots(): { pid: number; fresh: number; holding: number; dead: number; idle: number }[] {
    const count = (h: AppHost, state: Slot["state"]) =>
      h.slots.filter((s) => s.state === state).length;
    return [...this.#hosts].filter((h) => !h.dead).map((h) => ({
      pid: h.pid,
      fresh: h.fresh,
      holding: h.holding,
      dead: count(h, "dead"),
      idle: count(h, "idle"),
    }));
  }

  /** Starts the spare host now (the node calls this once it listens, if any app has code). */
  prepare(): void {
    if (!this.#closed) this.#ensureSpare();
  }

  async handle(
    req: Request,
    target: AppTarget,
    manifest: Manifest,
    opts: { preview?: boolean } = {},
  ): Promise<Response> {
    const s = this.settings;
    const quota = this.quotas.limits(target.appId);
    if (quota.max_rps > 0) {
      const wait = this.quotas.takeRequest(target.appId);
      if (wait > 0) {
        return problem(429, "RATE_LIMITED", "The app gets more requests than its limit allows", {
          "retry-after": String(wait),
        });
      }
    }
    const max = s.app_max_body_bytes;
    let inline: Uint8Array | undefined;
    // The method and the declared length first: asking for the body makes a stream.
    const length = req.method === "GET" || req.method === "HEAD"
      ? null
      : req.headers.get("content-length");
    if (length !== null) {
      const n = Number(length);
      if (n > max) return tooLarge(max);
      if (n <= INLINE_UPLOAD) {
        try {
          inline = await readBody(req, max);
        } catch (err) {
          if (err instanceof BodyTooLargeError) return tooLarge(max);
          throw err;
        }
      }
    }
    const wait = this.#backoff.get(target.appId);
    if (wait && wait.until > Date.now()) {
      const seconds = Math.ceil((wait.until - Date.now()) / 1000);
      return problem(503, "APP_RESTARTING", "The app crashed and is restarting", {
        "retry-after": String(seconds),
      });
    }
    const inst = this.#instance(target, manifest, opts.preview ?? false);
    if (inst instanceof Response) return inst;
    const inflight = (inst.channel?.inflight ?? 0) + inst.waiting;
    if (quota.max_concurrent > 0 && inflight >= quota.max_concurrent) {
      return problem(
        429,
        "CONCURRENCY_LIMITED",
        "The app is answering as many requests at once as its limit allows",
        { "retry-after": "1" },
      );
    }
    if (inflight >= s.app_queue_limit) {
      return problem(503, "APP_BUSY", "The app is busy; try again shortly", { "retry-after": "1" });
    }
    inst.lastUsed = Date.now();
    if (!answering(inst.channel)) {
      inst.waiting++;
      try {
        await this.#loaded(inst);
      } catch {
        return problem(502, "APP_FAILED", "The app could not be started");
      } finally {
        inst.waiting--;
      }
    }
    const turn = this.fair.enter(target.appId);
    if (turn) {
      inst.waiting++;
      try {
        await turn;
      } finally {
        inst.waiting--;
      }
    }
    const channel = inst.channel;
    if (!answering(channel) || inst.gone) {
      // Stopped, or its host went, while this request waited for its turn.
      this.fair.leave(target.appId);
      return problem(503, "APP_RESTARTING", "The app is restarting", { "retry-after": "1" });
    }
    const place = this.fair.placed(target.appId);
    try {
      return await channel.request(req, inline);
    } finally {
      this.fair.done(place);
    }
  }

  #instance(target: AppTarget, manifest: Manifest, preview: boolean): Instance | Response {
    const key = `${target.appId}:${target.version}`;
    const existing = this.#instances.get(key);
    if (existing) return existing;
    const s = this.settings;
    if (preview) {
      const previews = [...this.#instances.values()]
        .filter((i) => i.preview && i.target.appId === target.appId)
        .sort((a, b) => a.lastUsed - b.lastUsed);
      if (s.app_preview_max === 0) {
        return problem(403, "PREVIEW_CODE_OFF", "Previews of this node serve static files only");
      }
      // A bounded number of old versions run at once; the least used one makes room.
      while (previews.length >= s.app_preview_max) {
        this.#unload(previews.shift()!, "another preview took its place");
      }
    }
    const timeoutMs = Math.min(manifest.timeoutMs ?? s.app_timeout_ms, s.app_timeout_max_ms);
    const inst: Instance = {
      key,
      target,
      manifest,
      preview,
      memoryMb: Math.min(manifest.memoryMb ?? s.app_memory_mb, s.app_memory_max_mb),
      limits: {
        timeoutMs,
        streamMaxMs: Math.max(s.app_stream_max_ms, timeoutMs),
        maxBodyBytes: s.app_max_body_bytes,
        maxResponseBytes: s.app_max_response_bytes,
        wsMaxMessageBytes: s.app_ws_max_message_bytes,
      },
      slot: undefined,
      channel: undefined,
      ready: undefined,
      waiting: 0,
      lastUsed: Date.now(),
      nested: 0,
      gone: false,
      jobLogs: new Set(),
      loading: false,
      deliveries: new Map(),
    };
    this.#instances.set(key, inst);
    return inst;
  }

  /** Places the instance in a slot and loads its code, once. */
  #loaded(inst: Instance): Promise<void> {
    inst.ready ??= this.#load(inst).catch((err) => {
      inst.ready = undefined;
      throw err;
    });
    return inst.ready;
  }

  async #load(inst: Instance): Promise<void> {
    const build = this.storage.apps.build(inst.target.appId, inst.target.version);
    if (!build) throw new Error("this version has no server code");
    const exile = (this.#exiled.get(inst.target.appId) ?? 0) > Date.now();
    const slot = await this.#take(inst.memoryMb, exile ? inst.target.appId : undefined);
    if (!slot.host.usable) throw new Error("the app host is gone");
    if (inst.gone || this.#closed) {
      slot.host.putBack(slot);
      throw new Error("the app was stopped while it started");
    }
    const host = slot.host;
    slot.state = "taken";
    slot.owner = inst.key;
    if (!slot.used) {
      // A reused slot's allowance is counted already: its last Worker has ended.
      slot.used = true;
      host.taken++;
    }
    host.lastActive = Date.now();
    inst.slot = slot;
    await host.applyLimit();
    const { manifest, target } = inst;
    if (manifest.net.length) {
      slot.egress = new EgressProxy(slot.egressPath, {
        net: manifest.net,
        netPrivate: manifest.netPrivate ?? [],
      });
    }
    const channel: AppChannel = new AppChannel(slot.out!, inst.limits, {
      call: async (op, args, body) => {
        const result = await handleCall(
          {
            ...this.#callContext(target.appId),
            alive: (): boolean => !inst.gone && inst.channel === channel && !channel.closed,
          },
          op,
          args,
          body,
        );
        this.#queueDelivery(inst, op, args, result.value);
        return result;
      },
      log: (entries) => {
        const rows = this.#appendLogs(target, entries);
        for (const lines of inst.jobLogs) lines.push(...rows);
      },
      timedOut: () => this.#incident(host, inst, "timeout"),
      memory: (bytes) => {
        if (bytes > inst.memoryMb * MIB) this.#incident(host, inst, "memory");
      },
      closed: (err) => this.#channelClosed(inst, channel, err),
      socketOpening: (req) => {
        if (!this.upgrades.canUpgrade(req)) {
          this.upgrades.missed(target.appName);
          return "unavailable";
        }
        const open = this.#sockets.get(target.appId) ?? 0;
        const max = this.quotas.maxWebSockets(target.appId);
        if (max > 0 && open >= max) {
          this.#appendLogs(target, [{
            level: "warn",
            message: `a WebSocket was refused: ${open} are open (app_max_websockets)`,
            at: Date.now(),
          }]);
          return "limit";
        }
        this.#sockets.set(target.appId, open + 1);
        return "ok";
      },
      socketHeld: (req) => this.upgrades.hold(req),
      socketClosed: () => {
        const open = (this.#sockets.get(target.appId) ?? 1) - 1;
        if (open > 0) this.#sockets.set(target.appId, open);
        else this.#sockets.delete(target.appId);
      },
    });
    slot.channel = channel;
    inst.channel = channel;
    this.#ensureSpare();
    const init: InitMeta = {
      style: build.style,
      code: build.code,
      scripts: build.scripts,
      net: manifest.net,
      env: this.storage.env.values(target.appId),
      app: { name: target.appName },
      version: VERSION,
      maxWorkers: this.settings.app_max_workers,
      maxResponseBytes: this.settings.app_max_response_bytes,
      wsMaxMessageBytes: this.settings.app_ws_max_message_bytes,
    };
    let timer: ReturnType<typeof setTimeout> | undefined;
    inst.loading = true;
    try {
      const ready = await Promise.race([
        channel.init(init),
        new Promise<never>((_, reject) => {
          // Top-level code that never finishes loading is a loop like any other.
          timer = setTimeout(() => {
            reject(new Error("the app did not load in time"));
            this.#incident(host, inst, "timeout");
          }, Math.max(inst.limits.timeoutMs, 10_000));
        }),
      ]);
      channel.lastActivity = Date.now();
      if (!inst.preview) {
        this.#codeCronsLoaded(target, ready.crons);
        this.#queueListenerLoaded(target, ready.queue);
      }
    } catch (err) {
      if (inst.slot === slot) this.#unplace(inst);
      if (!host.dead && !this.#handled.has(host)) {
        host.release(slot);
        this.#retireIfEmpty(host);
        // Code that fails to load fails again: each retry waits longer.
        this.#crashed(inst.target.appId, inst.target.appName);
      }
      throw err;
    } finally {
      inst.loading = false;
      clearTimeout(timer);
      // The next warm Worker starts now, not beside this app's own start.
      host.topUp();
    }
  }

  /**
   * A fresh slot of the right size: in a used host with room, the spare, or
   * a new host. A host counts as room the slots it can still fill: fresh
   * ones, those whose Worker is starting, idle ones (a Worker starts for
   * them on demand) and, while it starts, all of them; each cold app waiting
   * on a host holds one of them, and a new host starts only when no host
   * has room left (else a burst of cold apps starts a host each and spreads
   * a few apps over many hosts).
   */
  async #take(memoryMb: number, exileOf?: number): Promise<Slot> {
    for (let attempt = 0;; attempt++) {
      if (this.#closed) throw new Error("the runtime is closed");
      if (attempt >= 3) throw new Error("no app host could be started");
      const socket = await this.#openSocket();
      if (this.#closed) throw new Error("the runtime is closed");
      if (exileOf !== undefined) {
        const host = this.#spawn(socket, { slots: 1, warm: 1, memoryMb, exileOf });
        await host.ready.catch(() => {});
        const slot = host.started ? host.slots.find((s) => s.state === "fresh") : undefined;
        if (slot) {
          slot.state = "taken";
          return slot;
        }
        continue;
      }
      const candidates = [...this.#hosts].filter((h) =>
        h.usable && h.opts.exileOf === undefined && h.opts.memoryMb === memoryMb
      );
      // Fill hosts that hold apps before opening the spare.
      const ready = candidates.filter((h) => h.started && h.fresh > h.reserved)
        .sort((a, b) => b.holding - a.holding);
      const slot = ready[0]?.slots.find((s) => s.state === "fresh");
      if (slot) {
        slot.state = "taken";
        return slot;
      }
      const host = candidates.filter((h) => h.room > 0)
        .sort((a, b) => Number(b.started) - Number(a.started) || b.holding - a.holding)[0] ??
        this.#spawn(socket, { slots: this.settings.app_host_slots, memoryMb });
      const mine = await host.claim();
      if (mine) return mine;
    }
  }

  #openSocket(): Promise<HostSocket> {
    return this.#socket ??= HostSocket.open();
  }

  /** Starts a host process; it counts among the hosts at once, before it is ready. */
  #spawn(
    socket: HostSocket,
    opts: { slots: number; warm?: number; memoryMb: number; exileOf?: number },
  ): AppHost {
    const host = new AppHost(socket, opts, this.#watch, this.#hostEvents);
    this.#hosts.add(host);
    host.ready.catch((err) => this.log(`app host ${host.pid}: ${err.message}`));
    this.#startSampling();
    return host;
  }

  /** Keeps at least one warm slot of the default size waiting (a spare host). */
  #ensureSpare(): void {
    if (this.#closed) return;
    const memoryMb = this.settings.app_memory_mb;
    const waiting = () =>
      [...this.#hosts].some((h) =>
        h.opts.exileOf === undefined && h.opts.memoryMb === memoryMb && h.room > 0
      );
    if (waiting()) return;
    this.#openSocket().then((socket) => {
      // Checked again: another placement may have started one meanwhile.
      if (!this.#closed && !waiting()) {
        this.#spawn(socket, { slots: this.settings.app_host_slots, memoryMb });
      }
    }).catch(() => {});
  }

  /** What an app's storage calls run with. */
  #callContext(appId: number): CallContext {
    return {
      storage: this.storage,
      writes: this.writes,
      appId,
      log: this.log,
      maxStoredBytes: this.quotas.limits(appId).max_storage_bytes,
      signals: this.kvSignals,
    };
  }

  #hostEvents: HostEvents = {
    syncCall: (slot, op, args) => {
      const inst = this.#owner(slot);
      if (!inst) return Promise.resolve({ error: { code: "APP_GONE", message: "no app" } });
      return handleCall(this.#callContext(inst.target.appId), op, args, new Uint8Array());
    },
    ticket: async (slot) => {
      const inst = this.#owner(slot);
      if (!inst || inst.nested >= this.settings.app_max_workers) return false;
      inst.nested++;
      slot.host.owners.push(inst.key);
      await slot.host.applyLimit();
      return true;
    },
    slotError: (slot, message) => {
      const inst = this.#owner(slot);
      if (inst) this.#appendLogs(inst.target, [{ level: "error", message, at: Date.now() }]);
    },
    output: (host, lines) => {
      const apps = [...this.#instances.values()].filter((i) => i.slot?.host === host);
      if (apps.length === 1) {
        const at = Date.now();
        this.#appendLogs(
          apps[0].target,
          lines.map((message) => ({ level: "error" as const, message, at })),
        );
      } else for (const line of lines) this.log(`app host ${host.pid}: ${line}`);
    },
    exited: (host) => this.#hostExited(host),
  };

  #owner(slot: Slot): Instance | undefined {
    const inst = slot.owner ? this.#instances.get(slot.owner) : undefined;
    return inst?.slot === slot ? inst : undefined;
  }

  #appendLogs(target: AppTarget, entries: LogLine[]): LogLine[] {
    const { appId, version } = target;
    const rows = entries.map((e) => ({
      appId,
      ...e,
      message: this.#stacks.map(appId, version, e.message),
    }));
    this.writes.run(appId, () => this.storage.logs.appendMany(rows)).catch((err) =>
      this.log(`could not store app logs: ${err instanceof Error ? err.message : err}`)
    );
    return rows.map(({ level, message, at }) => ({ level, message, at }));
  }

  /** Keeps the jobs a version's code registered with `Deno.cron` (checked) and says if they changed. */
  #codeCronsLoaded(target: AppTarget, reported: unknown[]): void {
    const crons: CronSpec[] = [];
    for (const raw of reported) {
      try {
        const spec = checkCronSpec((raw ?? {}) as Record<string, unknown>);
        if (!crons.some((c) => c.name === spec.name)) {
          const { name, schedule, backoff } = spec;
          crons.push(backoff ? { name, schedule, backoff } : { name, schedule });
        }
      } catch (err) {
        this.#appendLogs(target, [{
          level: "error",
          message: `Deno.cron ignored: ${err instanceof Error ? err.message : err}`,
          at: Date.now(),
        }]);
      }
    }
    const { appId, version } = target;
    const stored = this.storage.crons.codeCrons(appId, version);
    const same = stored.length === crons.length &&
      stored.every((s) => crons.some((c) => sameCronSpec(c, s)));
    if (same) return;
    this.writes.run(appId, () => this.storage.crons.setCodeCrons(appId, version, crons)).then(
      () => this.onCodeCrons(appId, version),
      (err) =>
        this.log(`could not store an app's jobs: ${err instanceof Error ? err.message : err}`),
    );
  }

  /**
   * A queue message taken is work in progress, as a request is: the app is
   * not stopped as idle while its handler holds the message (at most the
   * message's lease), and its idle time counts from when the handler ended.
   */
  #queueDelivery(inst: Instance, op: unknown, args: unknown, value: unknown): void {
    if (op === "denokv.take" && value !== null && typeof value === "object") {
      const id = (value as { id?: unknown }).id;
      if (typeof id === "number") inst.deliveries.set(id, Date.now() + LEASE_MS);
    } else if (op === "denokv.settle" && Array.isArray(args)) {
      inst.deliveries.delete(args[0]);
    } else return;
    inst.lastUsed = Date.now();
  }

  /** Keeps whether a version's code listens on its queue, learned again each time it loads. */
  #queueListenerLoaded(target: AppTarget, listens: boolean): void {
    const { appId, version } = target;
    if (this.storage.apps.listensQueue(appId, version) === listens) return;
    this.writes.run(appId, () => this.storage.apps.setListensQueue(appId, version, listens))
      .catch((err) =>
        this.log(
          `could not store an app's queue listener: ${err instanceof Error ? err.message : err}`,
        )
      );
  }

  /**
   * Loads a version so that its code can report its `Deno.cron` jobs (after
   * a deploy). The instance then idles out like any other.
   */
  async discover(target: AppTarget, manifest: Manifest): Promise<void> {
    const inst = this.#instance(target, manifest, false);
    if (inst instanceof Response) return;
    inst.lastUsed = Date.now();
    await this.#loaded(inst);
  }

  /**
   * Runs one job of the live version in its Worker, under the app's limits
   * (the request timeout; a job that passes it has its host killed like a
   * stuck request). Log lines the app writes during the run are returned
   * with the outcome.
   */
  async runJob(target: AppTarget, manifest: Manifest, job: JobRequest): Promise<JobResult> {
    const logs: LogLine[] = [];
    const wait = this.#backoff.get(target.appId);
    if (wait && wait.until > Date.now()) {
      return { outcome: "error", error: "the app crashed and is restarting", logs };
    }
    const inst = this.#instance(target, manifest, false);
    if (inst instanceof Response) return { outcome: "error", error: "the app cannot run", logs };
    inst.lastUsed = Date.now();
    inst.waiting++;
    try {
      if (!answering(inst.channel)) await this.#loaded(inst);
    } catch {
      return { outcome: "error", error: "the app could not be started", logs };
    } finally {
      inst.waiting--;
    }
    const channel = inst.channel;
    if (!answering(channel) || inst.gone) {
      return { outcome: "error", error: "the app is restarting", logs };
    }
    inst.jobLogs.add(logs);
    try {
      const res = await channel.job(job);
      inst.lastUsed = Date.now();
      if (res.status === 204) return { outcome: "ok", logs };
      // The channel made it: the run's reason (cut at 2,000 characters) or an error envelope.
      const text = new TextDecoder().decode(await readBody(res, MAX_JOB_ANSWER_BYTES));
      if (res.status === 504) {
        return { outcome: "timeout", error: `no end within ${inst.limits.timeoutMs} ms`, logs };
      }
      if (res.status === 500) return { outcome: "error", error: text, logs };
      let message = text;
      try {
        message = JSON.parse(text)?.error?.message ?? text;
      } catch {
        // Plain text.
      }
      return { outcome: "error", error: message, logs };
    } finally {
      inst.jobLogs.delete(logs);
    }
  }

  /** Forgets where an instance ran (it stays known, to be placed again). */
  #unplace(inst: Instance): void {
    inst.slot = undefined;
    inst.channel = undefined;
    inst.ready = undefined;
    // Messages its Worker held are offered again when their lease lapses.
    inst.deliveries.clear();
  }

  /** Whether app `appId`'s live code runs, or is placed to run again (not a preview). */
  running(appId: number): boolean {
    for (const inst of this.#instances.values()) {
      if (inst.target.appId === appId && !inst.preview) return true;
    }
    return false;
  }

  /** Apps whose live code runs (see `running`). */
  runningApps(): number[] {
    const ids = new Set<number>();
    for (const inst of this.#instances.values()) if (!inst.preview) ids.add(inst.target.appId);
    return [...ids];
  }

  /** When app `appId` may start again after crashing (0: now). */
  restartAt(appId: number): number {
    return this.#backoff.get(appId)?.until ?? 0;
  }

  /** When app `appId` last crashed or had its host stopped for what it did (0: never, this run). */
  troubleAt(appId: number): number {
    return this.#trouble.get(appId) ?? 0;
  }

  /** Stops an instance for good (idle, stopped, replaced): its Worker ends. */
  #unload(inst: Instance, why = "the app was restarted"): void {
    inst.gone = true;
    this.#instances.delete(inst.key);
    if (!inst.preview && !this.#closed) {
      const { appId } = inst.target;
      queueMicrotask(() => this.onStopped(appId));
    }
    const slot = inst.slot;
    const channel = inst.channel;
    this.#unplace(inst);
    channel?.closeSockets(1012, why);
    channel?.fail(503, "APP_RESTARTING", "The app was restarted; try again");
    if (slot && !slot.host.dead) {
      slot.host.release(slot);
      this.#retireIfEmpty(slot.host);
    }
  }

  /** A host that held apps and holds none exits: its memory is a high-water mark. */
  #retireIfEmpty(host: AppHost): void {
    if (host.taken > 0 && host.holding === 0) host.kill();
  }

  #channelClosed(inst: Instance, channel: AppChannel, err: unknown): void {
    const host = inst.slot?.host;
    if (!host || inst.channel !== channel || inst.gone) return;
    if (err) return this.#incident(host, inst, "protocol");
    // The Worker ended (it closed itself, or its whole host is going):
    // wait for the host's fate before calling it one app's crash.
    setTimeout(() => {
      if (host.dead || this.#handled.has(host) || inst.channel !== channel) return;
      const slot = inst.slot;
      this.#unplace(inst);
      channel.closeSockets(1011, "the app crashed");
      channel.fail(502, "APP_CRASHED", "The app stopped while handling this request");
      if (slot) {
        slot.state = "dead";
        this.#retireIfEmpty(host);
      }
      this.#crashed(inst.target.appId, inst.target.appName);
    }, CRASH_SETTLE_MS);
  }

  #crashed(appId: number, name: string): void {
    const prev = this.#backoff.get(appId);
    const failures = prev && Date.now() - prev.until < 60_000 ? prev.failures + 1 : 1;
    // First crash: restart at once; then 0.5 s, 1 s, 2 s … up to 30 s.
    const delay = failures <= 1 ? 0 : Math.min(30_000, 250 * 2 ** (failures - 1));
    this.#backoff.set(appId, { failures, until: Date.now() + delay });
    this.#trouble.set(appId, Date.now());
    this.log(`app ${name} stopped unexpectedly`);
  }

  /**
   * Something in `host` went wrong and `culprit` (if known) did it: the host
   * is killed, the culprit moves to a host of its own, its neighbours' work
   * in flight ends with 503 and `Retry-After`, and they start again in fresh
   * slots at once. Nothing stored is lost: writes commit on the server
   * before an app sees their result.
   */
  #incident(host: AppHost, culprit: Instance | undefined, kind: Incident, appId?: number): void {
    if (this.#handled.has(host)) return;
    if (!culprit && appId !== undefined) {
      // The culprit's app left its slot but its thread did not: exile the app anyway.
      this.#exiled.set(appId, Date.now() + EXILE_MS);
      this.#trouble.set(appId, Date.now());
    }
    this.#handled.add(host);
    host.kill();
    const on = [...this.#instances.values()].filter((i) => i.slot?.host === host);
    this.log(
      `app host ${host.pid} stopped: ${culprit?.target.appName ?? "an app"} ${
        INCIDENT_TEXT[kind]
      }` +
        (on.length > 1 ? `; ${on.length - 1} other app(s) restarted` : ""),
    );
    for (const inst of on) {
      const channel = inst.channel;
      const slot = inst.slot;
      this.#unplace(inst);
      if (slot) slot.state = "dead";
      if (inst !== culprit) {
        channel?.closeSockets(1012, "the app's host was restarted (another app failed)");
        channel?.fail(503, "APP_RESTARTING", "The app was restarted; try again");
        // Neighbours come back at once, in fresh slots.
        this.#loaded(inst).catch(() => {});
        continue;
      }
      channel?.closeSockets(1011, `the app was stopped because ${INCIDENT_TEXT[kind]}`);
      if (kind === "memory" || kind === "crash") {
        channel?.fail(502, "APP_CRASHED", "The app stopped while handling this request");
        this.#crashed(inst.target.appId, inst.target.appName);
      } else {
        channel?.fail(503, "APP_RESTARTING", "The app was restarted; try again");
      }
      this.#exiled.set(inst.target.appId, Date.now() + EXILE_MS);
      this.#trouble.set(inst.target.appId, Date.now());
      this.#appendLogs(inst.target, [{
        level: "error",
        message: `the app's host was stopped because ${INCIDENT_TEXT[kind]}; ` +
          `it runs in a host of its own from now on`,
        at: Date.now(),
      }]);
    }
  }

  #hostExited(host: AppHost): void {
    this.#hosts.delete(host);
    if (!this.#handled.has(host) && !this.#closed) {
      const on = [...this.#instances.values()].filter((i) => i.slot?.host === host);
      if (!host.killed) {
        // A crash: the likeliest culprit is the busy app using the most memory.
        const busy = on.filter((i) => (i.channel?.inflight ?? 0) > 0);
        const suspects = busy.length ? busy : on;
        const culprit = suspects.sort((a, b) =>
          (b.channel?.memory ?? 0) - (a.channel?.memory ?? 0)
        )[0];
        if (on.length) this.#incident(host, culprit, "crash");
      }
    }
    if (this.#hosts.size === 0) this.#stopSampling();
    else this.#ensureSpareIfUsed();
  }

  #ensureSpareIfUsed(): void {
    if ([...this.#instances.values()].some((i) => i.slot)) this.#ensureSpare();
  }

  #startSampling(): void {
    if (this.#sampler !== undefined) return;
    this.#lastSample = Date.now();
    this.#sampler = setInterval(() => this.#sample(), SAMPLE_MS);
  }

  #stopSampling(): void {
    if (this.#sampler !== undefined) clearInterval(this.#sampler);
    this.#sampler = undefined;
    this.#busy.clear();
  }

  /** Each second: every host's memory, and each Worker thread's CPU and count. */
  async #sample(): Promise<void> {
    const hosts = [...this.#hosts].filter((h) => !h.dead && h.baseRssKb > 0);
    if (hosts.length === 0) return;
    const started = this.#lastSample;
    const now = Date.now();
    this.#lastSample = now;
    let samples: Map<number, ProcessSample>;
    try {
      samples = await this.#watch.sample(hosts.map((h) => h.pid), true);
    } catch {
      return;
    }
    const windowNs = (now - started) * 1e6;
    const seen = new Map<number, ThreadBusy>();
    for (const host of hosts) {
      const sample = samples.get(host.pid);
      if (!sample || host.dead || this.#handled.has(host)) continue;
      const on = [...this.#instances.values()].filter((i) => i.slot?.host === host);
      const byKey = new Map(on.map((i) => [i.key, i]));
      if (sample.rssKb * 1024 > host.rssLimit()) {
        const culprit = on.sort((a, b) => (b.channel?.memory ?? 0) - (a.channel?.memory ?? 0))[0];
        this.#incident(host, culprit, "memory");
        continue;
      }
      // Loading the app's module is work it was asked for, request or not.
      const idle = (inst: Instance) =>
        inst.channel !== undefined && !inst.loading && inst.channel.inflight === 0 &&
        inst.channel.lastActivity <= started;
      let nested = 0;
      for (const t of sample.threads) {
        const m = /^worker-(\d+)$/.exec(t.name);
        const counted: ThreadBusy = {
          runnableNs: t.runnableNs ?? t.ticks * NS_PER_TICK,
          ticks: t.ticks,
          strikes: 0,
        };
        const before = this.#busy.get(t.tid);
        seen.set(t.tid, counted);
        if (!m) continue;
        const n = Number(m[1]);
        // Whose thread is it? Each slot knows its Worker's id; nested Workers
        // follow the host's own, in the order they were granted.
        const slot = host.slots.find((s) => s.workerId === n);
        if (!slot) nested++;
        if (!before || !spinning(before, counted, windowNs)) continue;
        if (slot && (slot.state === "fresh" || slot.state === "starting")) continue;
        const key = slot ? slot.owner : host.owners[n - host.made - 1];
        const inst = key ? byKey.get(key) : undefined;
        if (!inst || slot?.state === "dead" || idle(inst)) {
          counted.strikes = before.strikes + 1;
          if (counted.strikes < IDLE_BUSY_WINDOWS) continue;
          this.#incident(host, inst, "cpu", key ? Number(key.split(":")[0]) : undefined);
          break;
        }
      }
      if (!this.#handled.has(host) && nested > host.owners.length) {
        // Started past the cap (node:worker_threads, a nested Worker's own Worker).
        const recent = on.sort((a, b) =>
          (b.channel?.lastActivity ?? 0) - (a.channel?.lastActivity ?? 0)
        )[0];
        this.#incident(host, recent, "threads");
      }
      if (!this.#handled.has(host) && host.opts.exileOf === undefined) {
        this.#reuseEnded(host, sample);
      }
    }
    this.#busy = seen;
    this.#samplesTaken++;
  }

  /**
   * Slots whose Worker ended (its app was stopped, redeployed, idle) take
   * apps again once the old thread is gone, instead of a new host starting
   * for them; not before: the old Worker's memory must be freed, and its
   * thread must not be taken for the next Worker's.
   */
  #reuseEnded(host: AppHost, sample: ProcessSample): void {
    if (host.holding === 0) return;
    const threads = new Set(sample.threads.map((t) => t.name));
    for (const slot of host.slots) {
      if (slot.state === "dead" && !threads.has(slot.thread)) host.reuse(slot);
    }
  }

  /** Stops an app's instances so the next request starts its current version. */
  stopApp(appId: number, why = "the app was redeployed"): void {
    for (const inst of [...this.#instances.values()]) {
      if (inst.target.appId === appId) this.#unload(inst, why);
    }
    this.#backoff.delete(appId);
    this.#exiled.delete(appId);
    this.prepare();
  }

  #sweep(): void {
    // Expired keys already read as absent; this frees their space.
    this.writes.run(0, () => this.storage.kv.purgeExpired()).catch(() => {});
    this.writes.run(0, () => this.storage.denoKv.purgeExpired()).catch(() => {});
    const idle = this.settings.app_idle_ms;
    const now = Date.now();
    for (const inst of [...this.#instances.values()]) {
      for (const [id, until] of inst.deliveries) if (until <= now) inst.deliveries.delete(id);
      // An app holding WebSockets or queue messages is in use, whatever its requests.
      const busy = (inst.channel?.inflight ?? 0) + inst.waiting + (inst.channel?.sockets ?? 0) +
        inst.deliveries.size;
      if (busy === 0 && now - inst.lastUsed > idle) this.#unload(inst, "idle");
    }
  }

  /** Times the hosts' threads and memory were read (each second while hosts run). */
  get samplesTaken(): number {
    return this.#samplesTaken;
  }

  /** Waits for requests in flight to finish (up to `graceMs`), then closes. */
  async drain(graceMs: number): Promise<void> {
    const until = Date.now() + graceMs;
    const busy = () =>
      [...this.#instances.values()].some((i) => (i.channel?.inflight ?? 0) + i.waiting > 0);
    while (busy() && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
    this.close();
  }

  close(): void {
    this.#closed = true;
    clearInterval(this.#sweeper);
    this.#stopSampling();
    for (const inst of this.#instances.values()) {
      inst.gone = true;
      inst.channel?.closeSockets(1001, "the node is shutting down");
      inst.channel?.fail(503, "APP_RESTARTING", "The node is shutting down");
    }
    this.#instances.clear();
    for (const host of this.#hosts) host.kill();
    this.#hosts.clear();
    this.#watch.close();
    this.kvSignals.close();
    this.#socket?.then((s) => s.close()).catch(() => {});
  }
}

/** A thread's counters at the last sample, and the windows in a row it was busy while idle. */
interface ThreadBusy {
  runnableNs: number;
  ticks: number;
  strikes: number;
}

const NS_PER_TICK = 1e9 / TICKS_PER_SECOND;

/** Whether a thread was busy through a window of `windowNs`: runnable for half of it, and running. */
function spinning(before: ThreadBusy, now: ThreadBusy, windowNs: number): boolean {
  return now.runnableNs - before.runnableNs >= windowNs * IDLE_BUSY_SHARE &&
    (now.ticks - before.ticks) * NS_PER_TICK >= windowNs * IDLE_CPU_SHARE;
}

/**
 * Whether a channel takes requests and jobs: open, and its app's module
 * loaded. A load under way already has the instance's channel (so that an
 * incident can end it), but its Worker has no handler yet; a request that
 * comes meanwhile (a neighbour reloaded after another app's incident, a
 * second visitor during a cold start) waits for that load, as the first did.
 */
function answering(channel: AppChannel | undefined): channel is AppChannel {
  return channel !== undefined && !channel.closed && channel.loaded;
}

function tooLarge(max: number): Response {
  return problem(413, "PAYLOAD_TOO_LARGE", `The request body is larger than ${max} bytes`);
}
