import type { Database } from "../storage/mod.ts";

/**
 * A write. `careful` is true when it runs in a savepoint of its own,
 * because a write of its batch failed: a write may take a cheaper path
 * when it is false, and throw to be run again carefully.
 */
export type Write<T> = (careful: boolean) => T;

/**
 * What a write must pass after its optimistic run (an app's quota), or its
 * batch runs again carefully; there the write, given `careful`, checks for
 * itself.
 */
export interface AfterWrite {
  /** True: what the write did may stand. */
  passes: () => boolean;
  /**
   * Adjacent writes of one app whose checks have the same `shared` key
   * share one check, run after the last of them. Give a key only to checks
   * that, once failed after one of these writes, fail after the next one too
   * (the quota after writes that only add data: usage only rises), so that
   * passing after the last means passing after each.
   */
  shared?: string;
}

interface Job {
  appId: number;
  fn: Write<unknown>;
  check?: AfterWrite;
  resolve: (value: unknown) => void;
  reject: (err: unknown) => void;
}

type Outcome = { ok: true; value: unknown } | { ok: false; error: unknown };

/**
 * One writer for every app: writes that arrive together share one
 * transaction (group commit). A batch first runs optimistically, each write
 * straight into the transaction; if one fails, the batch is rolled back and
 * run again with each write in its own savepoint, so one failing write
 * undoes only itself (savepoints cost as much as the writes). Each batch
 * takes a bounded number of writes from each app in turn, so a busy app
 * cannot starve the rest. A write's check (`AfterWrite`) may be shared by
 * the app's like writes next to it, so a run of inserts reads its app's
 * usage once, not once per insert.
 */
export class WriteQueue {
  #queues = new Map<number, Job[]>();
  #scheduled = false;
  #batches = 0;
  #retried = 0;

  constructor(private db: Database, private perAppPerBatch = 64, private maxBatch = 2000) {}

  /** Transactions committed. */
  get batches(): number {
    return this.#batches;
  }

  /** Batches run a second time, with savepoints, because a write in them failed. */
  get retried(): number {
    return this.#retried;
  }

  get pending(): number {
    let n = 0;
    for (const q of this.#queues.values()) n += q.length;
    return n;
  }

  /** Runs `fn` in the next batch; `check` follows it in the optimistic run. */
  run<T>(appId: number, fn: Write<T>, check?: AfterWrite): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      let q = this.#queues.get(appId);
      if (!q) this.#queues.set(appId, q = []);
      q.push({ appId, fn, check, resolve: resolve as (v: unknown) => void, reject });
      if (!this.#scheduled) {
        this.#scheduled = true;
        queueMicrotask(() => this.#flush());
      }
    });
  }

  #take(): Job[] {
    const batch: Job[] = [];
    for (const [appId, q] of this.#queues) {
      if (q.length <= this.perAppPerBatch) {
        for (const job of q) batch.push(job);
        this.#queues.delete(appId);
      } else {
        for (const job of q.splice(0, this.perAppPerBatch)) batch.push(job);
        // The app goes to the back of the line for the next batch.
        this.#queues.delete(appId);
        this.#queues.set(appId, q);
      }
      if (batch.length >= this.maxBatch) break;
    }
    return batch;
  }

  #careful(batch: Job[]): Outcome[] {
    const outcomes: Outcome[] = [];
    this.db.transaction(() => {
      for (const job of batch) {
        try {
          outcomes.push({ ok: true, value: this.db.savepoint(() => job.fn(true)) });
        } catch (error) {
          // SQLite rolled the whole batch back (a full disk): every write in
          // it failed, and none may run on outside the transaction.
          if (!this.db.inTransaction) throw error;
          outcomes.push({ ok: false, error });
        }
      }
    });
    return outcomes;
  }

  #flush(): void {
    this.#scheduled = false;
    const batch = this.#take();
    if (batch.length === 0) return;
    try {
      let values: unknown[] | undefined;
      try {
        values = this.#runOptimistic(batch);
      } catch (err) {
        if (err !== RETRY) throw err;
      }
      if (values) {
        this.#batches++;
        for (let i = 0; i < batch.length; i++) batch[i].resolve(values[i]);
      } else {
        this.#retried++;
        const outcomes = this.#careful(batch);
        this.#batches++;
        outcomes.forEach((o, i) => (o.ok ? batch[i].resolve(o.value) : batch[i].reject(o.error)));
      }
    } catch (err) {
      for (const job of batch) job.reject(err);
    }
    if (this.#queues.size && !this.#scheduled) {
      // Yield between batches so reads and requests keep flowing.
      this.#scheduled = true;
      setTimeout(() => this.#flush(), 0);
    }
  }

  #runOptimistic(batch: Job[]): unknown[] {
    const values: unknown[] = new Array(batch.length);
    this.db.transaction(() => {
      for (let i = 0; i < batch.length; i++) {
        const { fn, check } = batch[i];
        try {
          values[i] = fn(false);
          if (check && !sharesCheck(batch[i], batch[i + 1]) && !check.passes()) throw RETRY;
        } catch {
          // Undo the whole transaction; the batch runs again with savepoints.
          throw RETRY;
        }
      }
    });
    return values;
  }
}

const RETRY = Symbol("retry the batch with savepoints");

/** Whether `job`'s check is left to `next`'s, which covers it (see `AfterWrite.shared`). */
function sharesCheck(job: Job, next: Job | undefined): boolean {
  const key = job.check?.shared;
  return key !== undefined && next?.appId === job.appId && next.check?.shared === key;
}
