import { descriptorHeadroom } from "../lib/descriptors.ts";
import type { CheckpointListener, Database } from "./database.ts";

export interface CheckpointerOptions {
  /** Commits within one second that count as a steady write load (default 50). */
  commitsPerSecond?: number;
  /** How long after a commit its checkpoint runs, so one covers many (default 250 ms). */
  delayMs?: number;
  /** Without commits this long the thread stops and the connection checkpoints again (default 10 s). */
  idleMs?: number;
  log?: (message: string) => void;
}

type Reply =
  | { type: "done"; copied: number }
  | { type: "closed" }
  | { type: "failed"; message: string };

/**
 * The thread's code, as text: a bundled or compiled fazt carries no file for
 * it. It opens its own connection and runs a PASSIVE checkpoint (which waits
 * for no reader or writer) `delayMs` after each request, one at a time.
 */
const WORKER = `import { DatabaseSync } from "node:sqlite";
let db;
self.onmessage = (e) => {
  const m = e.data;
  if (m.type === "open") {
    db = new DatabaseSync(m.path, { timeout: 5000 });
    db.exec("PRAGMA synchronous = NORMAL");
  } else if (m.type === "checkpoint") {
    setTimeout(() => {
      try {
        const r = db.prepare("PRAGMA wal_checkpoint(PASSIVE)").get();
        self.postMessage({ type: "done", copied: Number(r.checkpointed) });
      } catch (err) {
        self.postMessage({ type: "failed", message: String(err?.message ?? err) });
      }
    }, m.delayMs);
  } else if (m.type === "close") {
    db?.close();
    self.postMessage({ type: "closed" });
    self.close();
  }
};`;

let workerUrl: string | undefined;

/**
 * Runs the WAL's checkpoints on a thread of its own while the node writes
 * steadily. SQLite's automatic checkpoint runs inside the COMMIT that
 * passes 1,000 WAL pages, on the thread that commits: the serving thread,
 * which then copies the pages back and waits for two fsyncs. Under
 * `docs.insert` load that was 16-19 ms every ~2,000 inserts, ~60 % of the
 * group-commit writer's time in COMMIT, and a stall of every request
 * meanwhile. Once commits come steadily (`commitsPerSecond`), a Worker with
 * its own connection takes over: the connection's automatic checkpoints
 * stop and each commit asks the Worker for a PASSIVE one shortly after (one
 * at a time, so one covers the commits of `delayMs`); what was committed
 * while it ran is copied by the connection after it (`#tail`: ~2.5 ms
 * against 16-19 ms, a few times a second). After `idleMs`
 * without commits the Worker stops (a thread holds several MiB) and the
 * automatic checkpoints return. While Litestream replicates, checkpoints
 * stay Litestream's (`Database.setReplication`).
 */
export class Checkpointer implements CheckpointListener {
  #worker: Worker | undefined;
  #asked = false;
  /** Commits seen, and how many there were when the running checkpoint was asked for. */
  #commits = 0;
  #commitsAsked = 0;
  #windowStart = 0;
  #windowCommits = 0;
  #idleTimer: ReturnType<typeof setTimeout> | undefined;
  #closed = false;
  #runs = 0;
  #copied = 0;
  #failures = 0;
  readonly #perSecond: number;
  readonly #delayMs: number;
  readonly #idleMs: number;
  readonly #log: (message: string) => void;

  constructor(private db: Database, opts: CheckpointerOptions = {}) {
    this.#perSecond = opts.commitsPerSecond ?? 50;
    this.#delayMs = opts.delayMs ?? 250;
    this.#idleMs = opts.idleMs ?? 10_000;
    this.#log = opts.log ?? (() => {});
    db.attachCheckpointer(this);
  }

  /** Whether the thread checkpoints now (the connection's automatic checkpoints are off). */
  get active(): boolean {
    return this.#worker !== undefined;
  }

  /** Checkpoints the thread ran. */
  get runs(): number {
    return this.#runs;
  }

  /** WAL frames the thread's checkpoints found back in the file, summed over its runs. */
  get copied(): number {
    return this.#copied;
  }

  committed(at: number): void {
    this.#commits++;
    if (this.#worker) {
      if (!this.#asked) this.#ask(this.#worker);
      return;
    }
    if (this.#closed) return;
    if (at - this.#windowStart >= 1000) {
      this.#windowStart = at;
      this.#windowCommits = 0;
    }
    if (++this.#windowCommits < this.#perSecond) return;
    // Out of descriptors a thread would end the process: the connection
    // goes on checkpointing, and the next busy second asks again.
    if (descriptorHeadroom()) this.#start();
    else this.#windowCommits = 0;
  }

  stand(): void {
    this.#stop();
  }

  reopened(): void {
    this.#stop();
  }

  /**
   * Stops the thread, once it has closed its connection (at most 2 s); the
   * connection checkpoints by itself from now on.
   */
  async close(): Promise<void> {
    this.#closed = true;
    const worker = this.#worker;
    if (!worker) return;
    const closed = new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, 2000);
      worker.addEventListener("message", (e: MessageEvent<Reply>) => {
        if (e.data.type !== "closed") return;
        clearTimeout(timer);
        resolve();
      });
    });
    this.#stop();
    await closed;
    worker.terminate();
  }

  #start(): void {
    let worker: Worker;
    try {
      workerUrl ??= URL.createObjectURL(new Blob([WORKER], { type: "text/javascript" }));
      worker = new Worker(workerUrl, { type: "module", name: "fazt-checkpoint" });
    } catch (err) {
      this.#log(`checkpoints stay on the serving thread: ${(err as Error).message}`);
      this.#closed = true;
      return;
    }
    worker.onmessage = (e: MessageEvent<Reply>) => this.#reply(worker, e.data);
    worker.onerror = (e) => {
      e.preventDefault();
      this.#failed(worker, e.message);
    };
    worker.postMessage({ type: "open", path: this.db.path });
    this.#worker = worker;
    this.db.checkpointElsewhere(true);
    this.#ask(worker);
  }

  #ask(worker: Worker): void {
    this.#asked = true;
    this.#commitsAsked = this.#commits;
    if (this.#idleTimer !== undefined) clearTimeout(this.#idleTimer);
    this.#idleTimer = undefined;
    worker.postMessage({ type: "checkpoint", delayMs: this.#delayMs });
  }

  #reply(worker: Worker, m: Reply): void {
    if (worker !== this.#worker || m.type === "closed") return;
    this.#asked = false;
    if (m.type === "failed") {
      this.#failed(worker, m.message);
      return;
    }
    this.#runs++;
    this.#copied += m.copied;
    this.#failures = 0;
    this.#tail();
    // Commits that came after it was asked for: the next one covers them.
    // Otherwise the thread waits for the next commit, or stops when none comes.
    if (this.#commits > this.#commitsAsked) this.#ask(worker);
    else this.#idleTimer = setTimeout(() => this.#stop(), this.#idleMs);
  }

  /**
   * Copies what was committed while the thread checkpointed, here: a PASSIVE
   * checkpoint leaves the WAL to start over only once every frame is back
   * in the file, and under steady writes new frames always arrive during the
   * thread's run, so without this the WAL would grow without end. The tail
   * is a few pages (and the two fsyncs of any checkpoint).
   */
  #tail(): void {
    try {
      this.db.checkpoint("PASSIVE");
    } catch (err) {
      this.#log(`a checkpoint failed: ${(err as Error).message}`);
    }
  }

  #failed(worker: Worker, message: string): void {
    if (worker !== this.#worker) return;
    this.#log(`a checkpoint on its own thread failed: ${message}`);
    this.#stop();
    // A thread that keeps failing leaves the checkpoints to the connection.
    if (++this.#failures >= 3) this.#closed = true;
  }

  #stop(): void {
    if (this.#idleTimer !== undefined) clearTimeout(this.#idleTimer);
    this.#idleTimer = undefined;
    const worker = this.#worker;
    if (!worker) return;
    this.#worker = undefined;
    this.#asked = false;
    this.#windowCommits = 0;
    worker.postMessage({ type: "close" });
    this.db.checkpointElsewhere(false);
  }
}
