/**
 * An app host process, seen from the server: its control connection, its
 * slots (one Worker each, made at start and warmed, waiting for an app),
 * its memory limits, and the kill. Past a request's deadline the whole
 * process is killed: that is the only sure way to stop code stuck in a
 * loop, and why apps that loop are moved to a host of their own.
 * @module
 */
import type { AppChannel } from "./app_channel.ts";
import { type CallResult, resultJson } from "./bridge.ts";
import type { EgressProxy } from "./egress_proxy.ts";
import type { HostSocket, Peer } from "./host_socket.ts";
import { type ProcWatch, setDataLimit } from "./proc_watch.ts";
import { type CallMeta, type Claimed, FRAME, type FrameType, type HostConfig } from "./protocol.ts";
import { encodeDown, parseUp } from "./worker/frame_meta.ts";
import { spawnFazt } from "./spawn.ts";
import type { Bytes, FrameWriter } from "./worker/frames.ts";

export interface HostEvents {
  /** A blocking storage call from a slot's Worker (the original's `fazt.storage`). */
  syncCall(slot: Slot, op: unknown, args: unknown): Promise<CallResult>;
  /** May the slot's app start a nested Worker? */
  ticket(slot: Slot): Promise<boolean>;
  /** An error escaped a slot's Worker. */
  slotError(slot: Slot, message: string): void;
  /** Lines the process wrote to its stdout or stderr. */
  output(host: AppHost, lines: string[]): void;
  /** The process ended, killed or not. */
  exited(host: AppHost): void;
}

export interface HostOptions {
  slots: number;
  /** Workers started with the process (`WARM_AHEAD` unless told); the others when needed. */
  warm?: number;
  /** The V8 heap cap of each isolate in the process, and each app's memory allowance. */
  memoryMb: number;
  /** Set when the host is an app's own (it looped or crashed a shared one). */
  exileOf?: number;
}

/** A Worker's V8 reserves this much data (its code range) besides what it uses. */
export const WORKER_RESERVE = 576 * 1024 * 1024;
const MIB = 1024 * 1024;
/** What a Worker started after the host was measured holds before any app (~10 MiB measured). */
const WORKER_RSS = 16 * MIB;
/**
 * Fresh Workers a host keeps ready beyond the apps waiting for one, while
 * it has slots with none: a cold app finds a warm Worker, and the slots no
 * app needs cost nothing (each Worker holds ~10 MiB before any app).
 */
const WARM_AHEAD = 2;
/** What the process may grow by besides its apps' allowances. */
const SLACK = 64 * MIB;
const STARTUP_LIMIT_MS = 30_000;
/** Output lines kept per second per host; the rest are counted. */
const LINES_PER_SECOND = 50;

/** One Worker of a host, and the app it holds once taken. */
export class Slot {
  /** `idle`: no Worker, none needed yet; `dead`: its Worker ended (its thread may linger). */
  state: "idle" | "starting" | "fresh" | "taken" | "dead" = "idle";
  out: FrameWriter | undefined;
  channel: AppChannel | undefined;
  /** The app instance that holds (or held) it. */
  owner: string | undefined;
  egress: EgressProxy | undefined;
  /** Deno's id of the slot's Worker: its thread is `worker-<id>`. */
  workerId: number;
  /** Ever given an app: its memory allowance counts from then on. */
  used = false;
  /** Ever had a Worker: the host's memory limits count one from then on. */
  started = false;
  /** Which of the slot's Workers is current; a connection of an earlier one is ignored. */
  #generation = 0;

  constructor(
    readonly host: AppHost,
    readonly index: number,
    public token: string,
    readonly egressPath: string,
  ) {
    this.workerId = 0;
  }

  /** The thread name Deno gives this slot's Worker. */
  get thread(): string {
    return `worker-${this.workerId}`;
  }

  peer(out: FrameWriter, fresh: () => void): Peer {
    const generation = this.#generation;
    const current = () => generation === this.#generation;
    this.out = out;
    this.state = "fresh";
    fresh();
    return {
      onFrame: (id: number, type: FrameType, meta: string, body: Bytes | undefined) => {
        if (!current()) throw new Error("a frame from a Worker that was replaced");
        if (!this.channel) throw new Error("a frame from a Worker with no app");
        this.channel.onFrame(id, type, meta, body);
      },
      onClose: (err?: unknown) => {
        if (!current()) return;
        this.state = "dead";
        this.channel?.onClose(err);
      },
      maxFrame: (type: number) => current() ? (this.channel?.maxFrame(type) ?? 4096) : 4096,
    };
  }

  /** A Worker will start for the slot, with this token and Deno's id. */
  starts(token: string, workerId: number): void {
    this.token = token;
    this.workerId = workerId;
    this.state = "starting";
    this.started = true;
  }

  /** Its Worker has ended and its thread is gone: nothing of the app that left stays. */
  clear(): void {
    this.#generation++;
    this.state = "idle";
    this.out = undefined;
    this.channel = undefined;
    this.owner = undefined;
  }
}

export class AppHost {
  static #next = 1;
  readonly id = AppHost.#next++;
  readonly pid: number;
  readonly slots: Slot[] = [];
  readonly ready: Promise<void>;
  dead = false;
  /** Started, measured and limited: its slots may take apps. */
  started = false;
  /** Killed by the server (not a crash). */
  killed = false;
  /** Slots ever given an app: memory is a high-water mark, so they keep counting. */
  taken = 0;
  /**
   * Workers this process made for its slots: the warm ones at start, then
   * one each time a slot starts one. Deno numbers a process's Workers in the
   * order they start, so nested Workers (granted only while no slot starts a
   * Worker any more) are `worker-<made + 1>` on.
   */
  made = 0;
  /** Nested Workers granted, in order; `owners[i]` is `worker-(made + 1 + i)`'s app. */
  readonly owners: string[] = [];
  /** Workers started when the process was measured (the base of its limits). */
  #warm = 0;
  /** The last data limit being set (`applyLimit`). */
  #limits: Promise<void> = Promise.resolve();
  /** Cold apps waiting for a slot of this host, first come first served. */
  #waiters: ((slot: Slot | undefined) => void)[] = [];
  baseRssKb = 0;
  baseDataKb = 0;
  lastActive = Date.now();
  #child: Deno.ChildProcess;
  #control: FrameWriter | undefined;
  #lines = { second: 0, count: 0, dropped: 0 };

  constructor(
    readonly socket: HostSocket,
    readonly opts: HostOptions,
    private watch: ProcWatch,
    private events: HostEvents,
  ) {
    const hostToken = crypto.randomUUID();
    const cfg: HostConfig = { socket: socket.path, token: hostToken, slots: [] };
    for (let i = 1; i <= opts.slots; i++) {
      const slot = new Slot(this, i, crypto.randomUUID(), `${socket.dir}/h${this.id}s${i}.sock`);
      this.slots.push(slot);
      // The first ones start with the process, in order: worker-1, worker-2, …
      const now = i <= Math.max(1, opts.warm ?? WARM_AHEAD);
      if (now) slot.starts(slot.token, ++this.made);
      cfg.slots.push({ token: now ? slot.token : null, egress: slot.egressPath });
    }
    this.#warm = this.made;
    const paths = [socket.path, ...this.slots.map((s) => s.egressPath)];
    this.#child = spawnFazt("host", [
      "--deny-import",
      "--no-npm",
      "--no-remote",
      "--unstable-worker-options",
      // Semi-spaces of at most 4 MiB: under load the default ones grow to
      // tens of MiB per isolate and stay. 1 MiB cost an app's Worker a
      // scavenge every few hundred requests (GC was 20 % of its time under
      // docs.insert load); 4 MiB gave it 3-4 µs less a request, and 50 apps
      // hit once a second took 889 MB against 883.
      `--v8-flags=--max-old-space-size=${opts.memoryMb},--max-semi-space-size=4`,
      `--allow-net=${[...paths.map((p) => `unix:${p}`), "fazt-egress.invalid"].join(",")}`,
      `--allow-read=${paths.join(",")}`,
      `--allow-write=${paths.join(",")}`,
    ]);
    this.pid = this.#child.pid;
    this.ready = this.#start(hostToken, cfg);
    this.#child.status.then(() => this.#exited());
    this.#pipe(this.#child.stdout);
    this.#pipe(this.#child.stderr);
  }

  /** Alive and not being stopped. */
  get usable(): boolean {
    return !this.dead && !this.killed;
  }

  /** Slots waiting for an app. */
  get fresh(): number {
    return this.slots.filter((s) => s.state === "fresh").length;
  }

  /** Slots holding an app now. */
  get holding(): number {
    return this.slots.filter((s) => s.state === "taken").length;
  }

  /** Cold apps waiting for one of this host's slots. */
  get reserved(): number {
    return this.#waiters.length;
  }

  /**
   * How many more apps this host can take: its fresh slots and those whose
   * Worker is starting, plus those with none while Workers may still start
   * (before any nested Worker is granted), less the apps already waiting.
   */
  get room(): number {
    const count = (state: Slot["state"]) => this.slots.filter((s) => s.state === state).length;
    if (!this.usable) return 0;
    if (!this.started) return this.slots.length - this.reserved;
    const idle = this.owners.length === 0 ? count("idle") : 0;
    return count("fresh") + count("starting") + idle - this.reserved;
  }

  /**
   * A slot of this host for a cold app, as soon as one is fresh (a Worker
   * starts for it if none is); `undefined` if the host goes first. Callers
   * check `room` before asking.
   */
  claim(): Promise<Slot | undefined> {
    if (!this.usable) return Promise.resolve(undefined);
    const { promise, resolve } = Promise.withResolvers<Slot | undefined>();
    this.#waiters.push(resolve);
    this.#handOut();
    return promise;
  }

  /** A slot taken but not used after all: the next waiting app gets it. */
  putBack(slot: Slot): void {
    slot.state = "fresh";
    this.#handOut();
  }

  /** Gives fresh slots to waiting apps in order, then keeps Workers warm for the next ones. */
  #handOut(): void {
    if (!this.started || this.dead) return;
    while (this.#waiters.length) {
      const slot = this.slots.find((s) => s.state === "fresh");
      if (!slot) break;
      slot.state = "taken";
      this.#waiters.shift()!(slot);
    }
    this.topUp();
    // Apps waiting past the Workers still to come look elsewhere (once a
    // nested Worker is granted, idle slots start none).
    const coming = this.slots.filter((s) => s.state === "starting").length;
    while (this.#waiters.length > coming) this.#waiters.pop()!(undefined);
  }

  /** Starts Workers in idle slots until the waiting apps and `WARM_AHEAD` more have one. */
  topUp(): void {
    if (!this.usable || !this.started || this.owners.length > 0) return;
    const ready = this.slots.filter((s) => s.state === "fresh" || s.state === "starting").length;
    let wanted = this.reserved + WARM_AHEAD - ready;
    for (const slot of this.slots) {
      if (wanted <= 0) break;
      if (slot.state !== "idle") continue;
      this.#startWorker(slot);
      wanted--;
    }
  }

  /**
   * Starts a Worker in an idle slot: the memory limits make room for it
   * first, then the host starts it at once (Deno's next Worker id, which
   * `made` counts). Not once a nested Worker has been granted: the app's own
   * start would race this one for that id, and the server tells threads
   * apart by those ids.
   */
  async #startWorker(slot: Slot): Promise<void> {
    slot.state = "starting";
    if (!slot.started) {
      // Counted before it exists: its reserve must fit under RLIMIT_DATA.
      slot.started = true;
      await this.applyLimit();
    }
    if (!this.usable || this.owners.length > 0 || slot.state !== "starting") {
      if (slot.state === "starting") slot.state = "idle";
      this.#handOut();
      return;
    }
    const token = crypto.randomUUID();
    slot.starts(token, ++this.made);
    this.socket.expect(token, (out) => slot.peer(out, () => this.#handOut()));
    this.#control?.frame(slot.index, FRAME.START, encodeDown(FRAME.START, { token }));
    const timer = setTimeout(() => {
      // A Worker that never connects: the host is broken.
      if (slot.token === token && slot.state === "starting") this.kill();
    }, STARTUP_LIMIT_MS);
    Deno.unrefTimer(timer);
  }

  /**
   * A slot whose Worker ended (its app left, or it closed itself) becomes
   * idle once its thread is gone (so its memory is freed and its thread
   * cannot be taken for the next one's); another app may then take it.
   */
  reuse(slot: Slot): void {
    if (slot.state !== "dead" || !this.usable) return;
    slot.clear();
    this.topUp();
  }

  async #start(hostToken: string, cfg: HostConfig): Promise<void> {
    let all!: () => void;
    const connected = new Promise<void>((r) => (all = r));
    const first = this.slots.filter((s) => s.state === "starting");
    let waiting = first.length;
    this.socket.expect(hostToken, (out) => {
      this.#control = out;
      return this.#controlPeer();
    });
    for (const slot of first) {
      this.socket.expect(slot.token, (out) => slot.peer(out, () => --waiting || all()));
    }
    const writer = this.#child.stdin.getWriter();
    await writer.write(new TextEncoder().encode(JSON.stringify(cfg)));
    await writer.close();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error("the app host did not start in time")),
        STARTUP_LIMIT_MS,
      );
    });
    const gone = this.#child.status.then(() => {
      throw new Error("the app host exited while starting");
    });
    try {
      await Promise.race([connected, late, gone]);
    } catch (err) {
      for (const s of this.slots) this.socket.forget(s.token);
      this.socket.forget(hostToken);
      this.kill();
      throw err;
    } finally {
      clearTimeout(timer);
    }
    const sample = (await this.watch.sample([this.pid])).get(this.pid);
    this.baseRssKb = sample?.rssKb ?? 0;
    this.baseDataKb = sample?.dataKb ?? 0;
    if (!this.baseDataKb) {
      this.kill();
      throw new Error("the app host's memory could not be read");
    }
    await this.applyLimit();
    this.started = true;
    this.#handOut();
  }

  #controlPeer(): Peer {
    return {
      onFrame: (id, type, meta) => {
        const slot = this.slots[id - 1];
        if (!slot) return;
        if (type === FRAME.SCALL) {
          let m: Claimed<CallMeta> = null;
          try {
            m = parseUp(FRAME.SCALL, meta);
          } catch {
            // Refused by the bridge below.
          }
          this.events.syncCall(slot, m?.op, m?.args).then((r) => {
            this.#control?.frame(
              id,
              FRAME.SRESULT,
              resultJson(FRAME.SRESULT, r),
            );
          });
        } else if (type === FRAME.TICKET) {
          this.events.ticket(slot).then((ok) =>
            this.#control?.frame(id, FRAME.GRANT, ok ? "1" : "0")
          );
        } else if (type === FRAME.SLOT_ERROR) {
          this.events.slotError(slot, meta.slice(0, 2000));
        }
      },
      onClose: () => {},
      maxFrame: () => 16 * MIB,
    };
  }

  /**
   * What the process may hold in data (RLIMIT_DATA): what it held with all
   * its Workers warm, each app's allowance, and room for each nested Worker
   * granted. ArrayBuffers count here, not in the V8 heap cap.
   */
  dataLimit(): number {
    const allowances = (this.taken + this.owners.length) * this.opts.memoryMb * MIB;
    const workers = this.#late() + this.owners.length;
    return this.baseDataKb * 1024 + allowances + workers * WORKER_RESERVE + SLACK;
  }

  /** The resident memory past which the server stops this host. */
  rssLimit(): number {
    const allowances = (this.taken + this.owners.length) * this.opts.memoryMb * MIB;
    return this.baseRssKb * 1024 + allowances + this.#late() * WORKER_RSS + SLACK;
  }

  /** Slots that started a Worker after the host was measured (a slot's next Worker replaces its last). */
  #late(): number {
    return this.slots.filter((s) => s.started).length - this.#warm;
  }

  /**
   * Sets the process's data limit to `dataLimit()`, one `prlimit` at a time
   * and with the value as it is when that one runs: two at once could end
   * in the wrong order, and a Worker started under the older, lower limit
   * cannot reserve its code range (V8 stops the whole process).
   */
  applyLimit(): Promise<void> {
    const run = async () => {
      if (!this.dead && this.baseDataKb > 0) await setDataLimit(this.pid, this.dataLimit());
    };
    const next = this.#limits.then(run, run);
    this.#limits = next.catch(() => {});
    return next;
  }

  /** Ends a slot's Worker: its app left. */
  release(slot: Slot): void {
    slot.state = "dead";
    slot.channel?.close();
    this.#control?.frame(slot.index, FRAME.TERMINATE, "");
    slot.egress?.close();
    slot.egress = undefined;
  }

  /** Stops the process at once (SIGKILL). */
  kill(): void {
    if (this.dead) return;
    this.killed = true;
    try {
      this.#child.kill("SIGKILL");
    } catch {
      // Already gone.
    }
  }

  #exited(): void {
    this.dead = true;
    this.#control?.close();
    for (const resolve of this.#waiters.splice(0)) resolve(undefined);
    for (const slot of this.slots) {
      if (slot.state === "starting") this.socket.forget(slot.token);
      slot.state = "dead";
      slot.egress?.close();
      slot.egress = undefined;
    }
    this.events.exited(this);
  }

  async #pipe(stream: ReadableStream<Uint8Array>): Promise<void> {
    let pending = "";
    try {
      for await (const text of stream.pipeThrough(new TextDecoderStream())) {
        pending += text;
        if (pending.length > 64 * 1024) pending = pending.slice(-4096);
        const lines = pending.split("\n");
        pending = lines.pop() ?? "";
        const kept = this.#bounded(lines.filter((l) => l.trim()));
        if (kept.length) this.events.output(this, kept.map((l) => l.slice(0, 2000)));
      }
    } catch {
      // The process is gone.
    }
  }

  /** At most `LINES_PER_SECOND` lines a second reach the log; the rest are counted. */
  #bounded(lines: string[]): string[] {
    const second = Math.floor(Date.now() / 1000);
    const l = this.#lines;
    const out: string[] = [];
    if (second !== l.second) {
      if (l.dropped) out.push(`(${l.dropped} more lines of output were dropped)`);
      l.second = second;
      l.count = 0;
      l.dropped = 0;
    }
    for (const line of lines) {
      if (l.count < LINES_PER_SECOND) {
        out.push(line);
        l.count++;
      } else l.dropped++;
    }
    return out;
  }
}
