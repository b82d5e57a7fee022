/**
 * Wake-ups for the calls of `Deno.openKv()` that wait: `watch` (until one
 * of its keys changes) and `listenQueue` (until a message is due). A commit
 * of an app wakes its waiters, who look again; a waiter also wakes at its
 * deadline, when the app closes its KV (`release`), and when the node
 * stops (`close`), so no call waits past the runtime.
 * @module
 */

export type WakeReason = "changed" | "timeout" | "released";

interface Waiter {
  wake: (why: WakeReason) => void;
}

export class KvSignals {
  #waiters = new Map<number, Set<Waiter>>();
  #closed = false;

  /** Resolves when app `appId` commits, is released, or after `ms`. */
  wait(appId: number, ms: number): Promise<WakeReason> {
    if (this.#closed) return Promise.resolve("released");
    return new Promise((resolve) => {
      const set = this.#waiters.get(appId) ?? new Set();
      this.#waiters.set(appId, set);
      const waiter: Waiter = {
        wake: (why) => {
          clearTimeout(timer);
          set.delete(waiter);
          if (set.size === 0 && this.#waiters.get(appId) === set) this.#waiters.delete(appId);
          resolve(why);
        },
      };
      const timer = setTimeout(() => waiter.wake("timeout"), Math.max(0, ms));
      set.add(waiter);
    });
  }

  #wakeAll(appId: number, why: WakeReason): void {
    for (const w of [...this.#waiters.get(appId) ?? []]) w.wake(why);
  }

  /** App `appId` wrote something. */
  changed(appId: number): void {
    this.#wakeAll(appId, "changed");
  }

  /** Told when app `appId` has put messages on its queue (the queue waker listens). */
  onEnqueue: (appId: number) => void = () => {};

  /** App `appId` committed messages to its queue. */
  enqueued(appId: number): void {
    this.onEnqueue(appId);
  }

  /** App `appId` closed a KV: its waiting calls return at once. */
  release(appId: number): void {
    this.#wakeAll(appId, "released");
  }

  /** The runtime stops: every waiting call returns, and none waits again. */
  close(): void {
    this.#closed = true;
    for (const appId of [...this.#waiters.keys()]) this.#wakeAll(appId, "released");
  }

  get waiting(): number {
    let n = 0;
    for (const s of this.#waiters.values()) n += s.size;
    return n;
  }
}
