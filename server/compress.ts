import type * as Zlib from "node:zlib";
import { descriptorHeadroom } from "../lib/descriptors.ts";

// Variants are made once per distinct content, at deploy time. Brotli 5 and
// gzip 6 compress at tens of MB/s (brotli 11 manages about 1 MB/s, which made
// a 20 MB site take tens of seconds to deploy) for output ~10 % larger.
const BROTLI_QUALITY = 5;
const GZIP_LEVEL = 6;
const MIN_BYTES = 256;

export interface Variants {
  gzip?: Uint8Array;
  br?: Uint8Array;
}

interface Job {
  data: Uint8Array;
  resolve(v: Variants): void;
  reject(err: Error): void;
  timer?: ReturnType<typeof setTimeout>;
}

/** Far more than brotli 5 needs for the largest file a deploy takes. */
const JOB_TIMEOUT_MS = 120_000;

/** What runs in each worker (stringified, so it works from a bundle too). */
function workerMain(zlib: typeof Zlib, quality: number, level: number) {
  const scope = self as unknown as {
    onmessage: (e: MessageEvent<Uint8Array>) => void;
    postMessage(v: unknown, transfer: Transferable[]): void;
  };
  scope.onmessage = ({ data }) => {
    const gz = zlib.gzipSync(data, { level });
    const br = zlib.brotliCompressSync(data, {
      params: {
        [zlib.constants.BROTLI_PARAM_QUALITY]: quality,
        [zlib.constants.BROTLI_PARAM_SIZE_HINT]: data.byteLength,
      },
    });
    const worth = (v: Uint8Array) => v.byteLength <= data.byteLength * 0.9;
    const gzip = worth(gz) ? new Uint8Array(gz) : undefined;
    const brotli = worth(br) ? new Uint8Array(br) : undefined;
    scope.postMessage(
      { gzip, br: brotli },
      [gzip?.buffer, brotli?.buffer].filter((b) => b !== undefined) as ArrayBuffer[],
    );
  };
}

const SOURCE =
  `import * as zlib from "node:zlib";\n(${workerMain})(zlib, ${BROTLI_QUALITY}, ${GZIP_LEVEL});`;

/**
 * gzip and brotli variants made in worker threads: Deno's node:zlib
 * compresses on the calling thread, so on the main thread a 20 MB deploy
 * spent half its time there while nothing else could run. Workers start on
 * the first job and stop after `idleMs` without one, so an idle node does not
 * keep them.
 */
export class Compressor {
  #queue: Job[] = [];
  #idle: Worker[] = [];
  #busy = new Map<Worker, Job>();
  #url?: string;
  #timer?: ReturnType<typeof setTimeout>;
  #closed = false;

  #inFlight = 0;

  constructor(
    readonly size: number = defaultSize(),
    readonly idleMs: number = 5_000,
    public jobTimeoutMs: number = JOB_TIMEOUT_MS,
    /**
     * Bytes handed to workers at once (each job holds its input, a copy in
     * the worker and both outputs): one more job starts only within this,
     * so a deploy of many large files does not multiply its memory by the
     * pool's size. One job always may start, whatever its size.
     */
    readonly maxInFlightBytes: number = 16 * 1024 * 1024,
    /**
     * Jobs a worker runs before it is replaced: Deno 2.9.6's brotli keeps
     * ~7-20 KB per call until its thread ends (measured: RSS grew 40 MB
     * per 1,000 small deploys while workers stayed busy; a terminated
     * worker gives it all back).
     */
    readonly jobsPerWorker: number = 256,
  ) {}

  #jobs = new WeakMap<Worker, number>();

  /** Variants of `data`, each kept only if it saves ≥ 10 %. */
  compress(data: Uint8Array): Promise<Variants> {
    if (data.byteLength < MIN_BYTES) return Promise.resolve({});
    if (this.#closed) return Promise.reject(new Error("the compressor is closed"));
    return new Promise((resolve, reject) => {
      this.#queue.push({ data, resolve, reject });
      this.#pump();
    });
  }

  /** Running workers (for tests and /api/system). */
  get workers(): number {
    return this.#idle.length + this.#busy.size;
  }

  close(): void {
    this.#closed = true;
    clearTimeout(this.#timer);
    for (const job of [...this.#queue, ...this.#busy.values()]) {
      clearTimeout(job.timer);
      job.reject(new Error("the compressor is closed"));
    }
    this.#queue = [];
    this.#stopAll();
  }

  #pump(): void {
    clearTimeout(this.#timer);
    while (this.#queue.length > 0) {
      const next = this.#queue[0].data.byteLength;
      if (this.#busy.size > 0 && this.#inFlight + next > this.maxInFlightBytes) return;
      const worker = this.#idle.pop() ?? (this.workers < this.size ? this.#spawn() : undefined);
      if (!worker) {
        // None could start, and none runs to take the queue later.
        if (this.workers === 0) this.#rejectQueued("out of file descriptors");
        return;
      }
      const job = this.#queue.shift()!;
      this.#inFlight += next;
      this.#busy.set(worker, job);
      job.timer = setTimeout(() => this.#fail(worker, "compression timed out"), this.jobTimeoutMs);
      worker.postMessage(job.data);
    }
    if (this.#busy.size === 0 && this.#idle.length > 0) {
      this.#timer = setTimeout(() => this.#stopAll(), this.idleMs);
    }
  }

  #rejectQueued(reason: string): void {
    for (const job of this.#queue) job.reject(new Error(reason));
    this.#queue = [];
  }

  /** A new worker; none while descriptors run out (a thread would end the process). */
  #spawn(): Worker | undefined {
    if (!descriptorHeadroom()) return undefined;
    this.#url ??= URL.createObjectURL(new Blob([SOURCE], { type: "text/javascript" }));
    const worker = new Worker(this.#url, { type: "module", name: "fazt-compress" });
    worker.onmessage = (e: MessageEvent<Variants>) => {
      const job = this.#busy.get(worker);
      clearTimeout(job?.timer);
      this.#release(job);
      this.#busy.delete(worker);
      const done = (this.#jobs.get(worker) ?? 0) + 1;
      this.#jobs.set(worker, done);
      if (done >= this.jobsPerWorker) worker.terminate();
      else this.#idle.push(worker);
      job?.resolve(e.data);
      this.#pump();
    };
    worker.onerror = (e) => {
      e.preventDefault();
      this.#fail(worker, `compression failed: ${e.message}`);
    };
    worker.onmessageerror = () => this.#fail(worker, "compression failed: unreadable result");
    return worker;
  }

  /** Drops a worker that failed or hung, failing its job; the others go on. */
  #fail(worker: Worker, message: string): void {
    const job = this.#busy.get(worker);
    clearTimeout(job?.timer);
    this.#release(job);
    this.#busy.delete(worker);
    this.#idle = this.#idle.filter((w) => w !== worker);
    worker.terminate();
    job?.reject(new Error(message));
    this.#pump();
  }

  #release(job: Job | undefined): void {
    if (job) this.#inFlight -= job.data.byteLength;
  }

  #stopAll(): void {
    for (const w of [...this.#idle, ...this.#busy.keys()]) w.terminate();
    this.#idle = [];
    this.#busy.clear();
    this.#inFlight = 0;
    if (this.#url) URL.revokeObjectURL(this.#url);
    this.#url = undefined;
  }
}

function defaultSize(): number {
  return Math.max(1, Math.min(4, navigator.hardwareConcurrency || 1));
}
