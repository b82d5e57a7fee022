/**
 * PASSIVE checkpoints on a connection of their own, in a Worker thread.
 * SQLite's automatic checkpoint runs inside the COMMIT that crossed its
 * threshold, on the writer's thread, and syncs the file: measured here,
 * 20 document inserts committed in ~260 µs without it and ~1,200 µs with
 * it. A PASSIVE checkpoint takes no lock a writer needs, so it can run
 * beside the node's writes instead of inside them.
 * @module
 */

/** The Worker: one connection (a path opens it, `false` closes it), one PASSIVE checkpoint per `null`. */
function checkpointMain(sqlite: typeof import("node:sqlite")): void {
  let db: InstanceType<typeof sqlite.DatabaseSync> | undefined;
  const scope = self as unknown as {
    onmessage: (e: MessageEvent<string | null | false>) => void;
    postMessage: (m: boolean) => void;
    close: () => void;
  };
  scope.onmessage = (e) => {
    if (e.data === false) {
      db?.close();
      return scope.close();
    }
    let ok = true;
    try {
      if (e.data) {
        db = new sqlite.DatabaseSync(e.data);
        // PASSIVE never waits; a checkpoint already running just means later.
        db.exec("PRAGMA busy_timeout = 0");
      } else db?.prepare("PRAGMA wal_checkpoint(PASSIVE)").get();
    } catch {
      ok = false;
    }
    scope.postMessage(ok);
  };
}

const WORKER_CODE = `import * as sqlite from "node:sqlite";\n(${checkpointMain})(sqlite);`;
let workerUrl: string | undefined;

/** At most one checkpoint per this many ms while writes go on. */
const GAP_MS = 50;

/**
 * Checkpoints `path` in a Worker after commits, at most one at a time and one
 * per `GAP_MS`; `written()` is called after each commit.
 */
export class WalCheckpointer {
  #worker: Worker;
  #busy = true;
  #dirty = false;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #closed = false;
  /** Checkpoints run (tests look at it). */
  runs = 0;

  constructor(path: string) {
    workerUrl ??= URL.createObjectURL(new Blob([WORKER_CODE], { type: "text/javascript" }));
    this.#worker = new Worker(workerUrl, { type: "module", name: "fazt-checkpoint" });
    this.#worker.onmessage = () => {
      this.#busy = false;
      if (this.#dirty) this.#schedule();
    };
    this.#worker.onerror = (e) => {
      // A checkpoint is an optimisation: without one the WAL grows until the next.
      e.preventDefault();
      this.#busy = false;
    };
    this.#worker.postMessage(path);
  }

  /** A commit happened: a checkpoint follows soon. */
  written(): void {
    this.#dirty = true;
    if (!this.#busy) this.#schedule();
  }

  #schedule(): void {
    if (this.#timer !== undefined || this.#closed) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      if (this.#busy || this.#closed) return;
      this.#busy = true;
      this.#dirty = false;
      this.runs++;
      this.#worker.postMessage(null);
    }, GAP_MS);
    Deno.unrefTimer(this.#timer);
  }

  /** Closes the Worker's connection (after a checkpoint in progress) and ends it. */
  close(): void {
    this.#closed = true;
    clearTimeout(this.#timer);
    this.#worker.postMessage(false);
  }
}
