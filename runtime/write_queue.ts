import type { Database } from "../storage/mod.ts";

interface Job {
  fn: () => unknown;
  resolve: (value: unknown) => void;
  reject: (err: unknown) => void;
}

/**
 * One writer for every app: writes that arrive together share one
 * transaction (group commit), each in its own savepoint so one failing write
 * does not undo the others. Each batch takes a bounded number of writes from
 * each app in turn, so a busy app cannot starve the rest.
 */
export class WriteQueue {
  #queues = new Map<number, Job[]>();
  #scheduled = false;
  #batches = 0;

  constructor(private db: Database, private perAppPerBatch = 64, private maxBatch = 2000) {}

  get batches(): number {
    return this.#batches;
  }

  get pending(): number {
    let n = 0;
    for (const q of this.#queues.values()) n += q.length;
    return n;
  }

  run<T>(appId: number, fn: () => T): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      let q = this.#queues.get(appId);
      if (!q) this.#queues.set(appId, q = []);
      q.push({ fn, resolve: resolve as (v: unknown) => void, reject });
      if (!this.#scheduled) {
        this.#scheduled = true;
        queueMicrotask(() => this.#flush());
      }
    });
  }

  #take(): Job[] {
    const batch: Job[] = [];
    for (const [appId, q] of this.#queues) {
      batch.push(...q.splice(0, this.perAppPerBatch));
      if (q.length === 0) this.#queues.delete(appId);
      if (batch.length >= this.maxBatch) break;
    }
    return batch;
  }

  #flush(): void {
    this.#scheduled = false;
    const batch = this.#take();
    if (batch.length === 0) return;
    const results: { ok: boolean; value: unknown }[] = [];
    try {
      this.db.transaction(() => {
        for (const job of batch) {
          try {
            results.push({ ok: true, value: this.db.savepoint(job.fn) });
          } catch (err) {
            results.push({ ok: false, value: err });
          }
        }
      });
      this.#batches++;
      batch.forEach((
        job,
        i,
      ) => (results[i].ok ? job.resolve(results[i].value) : job.reject(results[i].value)));
    } catch (err) {
      for (const job of batch) job.reject(err);
    }
    if (this.#queues.size && !this.#scheduled) {
      // Yield between batches so reads and requests keep flowing.
      this.#scheduled = true;
      setTimeout(() => this.#flush(), 0);
    }
  }
}
