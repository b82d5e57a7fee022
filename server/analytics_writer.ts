/**
 * Where captured events are counted and written: on a Worker thread with
 * its own connection to the database file (so the counting and the SQLite
 * work stay off the thread that serves requests), or inline when there is
 * no file (`:memory:`) or no Worker can start.
 */
import { Worker } from "node:worker_threads";
import { descriptorHeadroom } from "../lib/descriptors.ts";
import type { Storage } from "../storage/mod.ts";
import { AnalyticsCounter, type Captured } from "./analytics_counter.ts";

/** How a captured chunk ended. */
export interface ChunkResult {
  /** Events stored (or lost, when `error` says the write failed). */
  recorded: number;
  /** Events over their app's daily cap: counted in the day's totals, not stored. */
  overCap: number;
  error?: string;
}

export interface WriterEvents {
  counted(r: ChunkResult): void;
  /** Upkeep done: raw events deleted, and whether some is left for the next time. */
  maintained(deleted: number, more: boolean): void;
}

/** Upkeep, in order with the batches: see `maintain` in `AnalyticsWriter`. */
export interface Upkeep {
  /** Raw events older than this are deleted (ms). */
  before: number;
  /** Counted-visitor rows of days before this are deleted. */
  keepDay: number;
}

/** Raw events deleted per upkeep; a backlog goes in steps. */
export const PRUNE_STEP = 50_000;

/**
 * Old counted-visitor rows are deleted this many at a time, for at most
 * `VISITOR_PRUNE_MS` an upkeep: upkeep may run on the serving thread, and
 * 10,000 rows took 115 ms on a busy 2-core machine.
 */
const VISITOR_PRUNE_ROWS = 1_000;
const VISITOR_PRUNE_MS = 20;

/** Runs the upkeep on `storage`: prune a step, roll up a few weeks and months that have ended. */
export function upkeep(storage: Storage, u: Upkeep): { deleted: number; more: boolean } {
  const deleted = storage.analytics.prune(u.before);
  const until = performance.now() + VISITOR_PRUNE_MS;
  let step: number;
  do step = storage.analytics.pruneVisitors(u.keepDay, VISITOR_PRUNE_ROWS); while (
    step === VISITOR_PRUNE_ROWS && performance.now() < until
  );
  const weeksLeft = storage.analytics.rollWeeks();
  const monthsLeft = storage.analytics.rollMonths();
  return {
    deleted,
    more: deleted >= PRUNE_STEP || step === VISITOR_PRUNE_ROWS || weeksLeft || monthsLeft,
  };
}

/**
 * Counts `chunk` with `counter` and, when it asks, writes the batch built
 * so far in one transaction; never throws.
 */
export function countAndWrite(
  storage: Storage,
  counter: AnalyticsCounter,
  chunk: Captured,
): ChunkResult | undefined {
  try {
    counter.count(chunk);
  } catch (err) {
    // Counting fails only when the database does (a daily count unread):
    // the chunk is reported lost, though what was counted of it stays in
    // the batch for the next write.
    return { recorded: chunk.count, overCap: 0, error: errorText(err) };
  }
  if (!chunk.write) return undefined;
  const { batch, recorded, overCap } = counter.take();
  try {
    storage.analytics.ingestPacked(batch);
    return { recorded, overCap };
  } catch (err) {
    return { recorded, overCap, error: errorText(err) };
  }
}

export function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

export interface AnalyticsWriter {
  /** Hands captured events over; how they ended comes back through `WriterEvents`. */
  write(chunk: Captured): void;
  /** Deletes old raw events and visitor rows, and rolls up ended weeks and months. */
  maintain(u: Upkeep): void;
  /** Resolves once everything handed over so far is written. */
  sync(): Promise<void>;
  /** Writes what was handed over, then releases the thread and connection. */
  close(): Promise<void>;
  /** Stops at once (nothing is waiting: start-up failed). */
  abort(): void;
  /** Events handed over and not yet written or lost. */
  readonly pending: number;
}

/** Counts and writes on the calling thread, through the server's own connection. */
export class InlineWriter implements AnalyticsWriter {
  readonly pending = 0;
  #counter: AnalyticsCounter;

  constructor(private storage: Storage, private on: WriterEvents) {
    this.#counter = new AnalyticsCounter(storage);
  }

  write(chunk: Captured): void {
    const r = countAndWrite(this.storage, this.#counter, chunk);
    if (r) this.on.counted(r);
  }

  maintain(u: Upkeep): void {
    // Upkeep that fails (the database locked by another process, full) is
    // tried again at the next interval, as in the worker: it must never
    // escape from the timer and end the node.
    let r = { deleted: 0, more: false };
    try {
      r = upkeep(this.storage, u);
    } catch {
      // Nothing pruned this time.
    }
    this.on.maintained(r.deleted, r.more);
  }

  sync(): Promise<void> {
    return Promise.resolve();
  }

  close(): Promise<void> {
    return Promise.resolve();
  }

  abort(): void {}
}

type Reply =
  | { type: "counted"; count: number; result: ChunkResult | undefined }
  | { type: "maintained"; deleted: number; more: boolean }
  | { type: "synced"; id: number }
  | { type: "closed" };

const WORKER = new URL("./analytics_worker.ts", import.meta.url);

/**
 * The writer thread's young generation. V8's default (up to 48 MiB) filled
 * under load and stayed resident after it: ~25 MiB of the node's RSS after
 * 100k counted requests. Its objects die within a chunk, so a small nursery
 * costs scavenges of almost nothing live (bench/README.md).
 */
const YOUNG_GENERATION_MB = 4;

/**
 * The thread stops after this long with nothing to do, and the next events
 * start it again (~60 ms of CPU). Idle, it held ~14 MiB of the node's RSS
 * (its heap, its malloc arena, its SQLite cache; bench/README.md "Idle
 * memory"). Longer than the counter's 30 s revalidation window, so a
 * restart forgets no visitor that window still needs.
 */
export const WRITER_IDLE_MS = 60_000;

/**
 * Counts and writes on a Worker thread, started with the first events (a
 * node nobody visits pays nothing for it: ~15 MiB and ~60 ms of a 2-core
 * machine's start-up) and stopped after `idleMs` with nothing to do; falls
 * back to `fallback` if the Worker dies.
 */
export class WorkerWriter implements AnalyticsWriter {
  #worker: Worker | undefined;
  /** Threads stopped for idleness, each until it has closed its connection. */
  #retiring = new Set<Promise<void>>();
  #failed = false;
  #pending = 0;
  #maintaining = 0;
  #next = 0;
  #waiting = new Map<number, () => void>();
  #closers = new Map<Worker, () => void>();
  #fallback: AnalyticsWriter;
  #idleMs: number;
  #idleTimer: ReturnType<typeof setTimeout> | undefined;
  #lastUse = 0;
  #onStopped: (() => void) | undefined;
  /** Threads started so far. */
  starts = 0;

  constructor(
    private path: string,
    private on: WriterEvents,
    fallback: AnalyticsWriter,
    private log: (message: string) => void,
    opts: { idleMs?: number; onStopped?: () => void } = {},
  ) {
    this.#fallback = fallback;
    this.#idleMs = opts.idleMs ?? WRITER_IDLE_MS;
    this.#onStopped = opts.onStopped;
  }

  #start(): Worker {
    const worker = new Worker(WORKER, {
      name: "fazt-analytics",
      resourceLimits: { maxYoungGenerationSizeMb: YOUNG_GENERATION_MB },
    });
    worker.on("message", (m: Reply) => this.#reply(m, worker));
    worker.on("error", (err: Error) => {
      // A thread stopped for idleness had nothing left to write.
      if (worker !== this.#worker) {
        this.#closers.get(worker)?.();
        return void worker.terminate();
      }
      this.#fail(`analytics writer stopped: ${err.message}`);
    });
    worker.postMessage({ type: "open", path: this.path });
    this.starts++;
    return this.#worker = worker;
  }

  get pending(): number {
    return this.#pending;
  }

  /** Whether a thread is running now (not counting one that is stopping). */
  get running(): boolean {
    return this.#worker !== undefined;
  }

  #reply(m: Reply, from: Worker): void {
    switch (m.type) {
      case "counted":
        this.#pending -= m.count;
        if (m.result) this.on.counted(m.result);
        break;
      case "maintained":
        this.#maintaining--;
        this.on.maintained(m.deleted, m.more);
        break;
      case "synced":
        this.#waiting.get(m.id)?.();
        this.#waiting.delete(m.id);
        break;
      case "closed":
        this.#closers.get(from)?.();
        return;
    }
    if (this.#idle() && this.#idleTimer === undefined) this.#armIdle(this.#idleMs);
  }

  #idle(): boolean {
    return this.#worker !== undefined && this.#pending === 0 && this.#maintaining === 0 &&
      this.#waiting.size === 0;
  }

  #armIdle(ms: number): void {
    this.#idleTimer = setTimeout(() => {
      this.#idleTimer = undefined;
      const left = this.#lastUse + this.#idleMs - performance.now();
      if (left > 0) return this.#armIdle(left);
      this.stopIfIdle();
    }, ms);
    // An idle thread's timer must not keep the process alive.
    Deno.unrefTimer(this.#idleTimer);
  }

  /**
   * Stops the thread if it has nothing to write or answer (what the idle
   * timer does); whether it did. Events handed over later start a new one.
   */
  stopIfIdle(): boolean {
    const worker = this.#worker;
    if (!worker || !this.#idle()) return false;
    this.#worker = undefined;
    const done = this.#closeWorker(worker);
    this.#retiring.add(done);
    done.finally(() => {
      this.#retiring.delete(done);
      // What the thread allocated is free now, in its malloc arena.
      this.#onStopped?.();
    });
    return true;
  }

  /** Asks `worker` to close its connection, then ends the thread. */
  async #closeWorker(worker: Worker): Promise<void> {
    const closed = new Promise<void>((resolve) => this.#closers.set(worker, resolve));
    worker.postMessage({ type: "close" });
    await closed;
    this.#closers.delete(worker);
    await worker.terminate();
  }

  /** The Worker is gone: what it held is lost; later batches are written inline. */
  #fail(message: string): void {
    this.#failed = true;
    this.log(message);
    const worker = this.#worker;
    this.#worker = undefined;
    worker?.terminate();
    clearTimeout(this.#idleTimer);
    this.#idleTimer = undefined;
    if (this.#pending) this.on.counted({ recorded: this.#pending, overCap: 0, error: message });
    this.#pending = 0;
    this.#maintaining = 0;
    for (const resolve of this.#waiting.values()) resolve();
    this.#waiting.clear();
    if (worker) this.#closers.get(worker)?.();
  }

  write(chunk: Captured): void {
    if (this.#failed) return this.#fallback.write(chunk);
    // Out of descriptors a new thread would end the process: written here.
    if (!this.#worker && !descriptorHeadroom()) return this.#fallback.write(chunk);
    this.#pending += chunk.count;
    this.#lastUse = performance.now();
    (this.#worker ?? this.#start()).postMessage({ type: "chunk", chunk });
  }

  /**
   * On the thread while it runs; otherwise (before the first events, or
   * once it has stopped for idleness) nothing is waiting, and upkeep is
   * short steps, run here.
   */
  maintain(u: Upkeep): void {
    if (!this.#worker) return this.#fallback.maintain(u);
    this.#maintaining++;
    this.#lastUse = performance.now();
    this.#worker.postMessage({ type: "maintain", upkeep: u });
  }

  sync(): Promise<void> {
    if (!this.#worker) return Promise.resolve();
    const id = ++this.#next;
    const done = new Promise<void>((resolve) => this.#waiting.set(id, resolve));
    this.#worker.postMessage({ type: "sync", id });
    return done;
  }

  async close(): Promise<void> {
    clearTimeout(this.#idleTimer);
    this.#idleTimer = undefined;
    const worker = this.#worker;
    // Still the current thread while it closes: if it dies now, what it
    // held is reported lost (#fail).
    if (worker) await this.#closeWorker(worker);
    this.#worker = undefined;
    await Promise.all(this.#retiring);
  }

  abort(): void {
    clearTimeout(this.#idleTimer);
    this.#idleTimer = undefined;
    this.#worker?.terminate();
    this.#worker = undefined;
  }
}

/** A Worker writer for a database file, else an inline one. */
export function openWriter(
  storage: Storage,
  on: WriterEvents,
  log: (message: string) => void,
  mode?: "thread" | "inline",
  onStopped?: () => void,
): AnalyticsWriter {
  // The serving thread is what a busy node runs out of first: with a second
  // core, counting there cost counted pages 10-25 % of their rate and held
  // requests while a batch was written. The thread's heap costs ~15-25 MiB
  // once events flow (bench/README.md "Counting off the serving thread").
  mode ??= navigator.hardwareConcurrency >= 2 ? "thread" : "inline";
  const inline = new InlineWriter(storage, on);
  const path = storage.db.path;
  if (mode === "inline" || path === ":memory:" || !path) return inline;
  try {
    // A bundled or compiled fazt may not carry the Worker's source file.
    if (WORKER.protocol === "file:" && !Deno.statSync(WORKER).isFile) return inline;
    return new WorkerWriter(path, on, inline, log, { onStopped });
  } catch {
    return inline;
  }
}
