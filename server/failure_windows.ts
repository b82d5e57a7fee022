/**
 * Failures per key (a client address) in fixed windows that start at the
 * first failure, held in memory for this run: the limit on failed token
 * authentications. Tokens are 256-bit random, so the limit is not what keeps
 * them from being guessed; it stops a client from hammering the node with
 * bad credentials. Bounded: past `capacity` keys the expired ones go, then
 * the oldest.
 */
export class FailureWindows {
  readonly #entries = new Map<string, { failures: number; start: number }>();
  readonly #now: () => number;
  readonly #capacity: number;

  constructor(
    readonly max: number,
    readonly windowMs: number,
    opts: { now?: () => number; capacity?: number } = {},
  ) {
    this.#now = opts.now ?? Date.now;
    this.#capacity = opts.capacity ?? 10_000;
  }

  /** Milliseconds until `key` may try again when it has used up its failures; else 0. */
  blockedFor(key: string): number {
    const entry = this.#entries.get(key);
    if (!entry || entry.failures < this.max) return 0;
    return Math.max(0, entry.start + this.windowMs - this.#now());
  }

  /** Counts one failure of `key`; returns the failures in its current window. */
  fail(key: string): number {
    const now = this.#now();
    const entry = this.#entries.get(key);
    if (entry && entry.start + this.windowMs > now) return ++entry.failures;
    this.#entries.delete(key);
    if (this.#entries.size >= this.#capacity) this.#evict(now);
    this.#entries.set(key, { failures: 1, start: now });
    return 1;
  }

  /** How many keys are held (tests). */
  get size(): number {
    return this.#entries.size;
  }

  #evict(now: number): void {
    for (const [key, e] of this.#entries) {
      if (e.start + this.windowMs <= now) this.#entries.delete(key);
    }
    // Map order is insertion order: the first key is the oldest window.
    while (this.#entries.size >= this.#capacity) {
      this.#entries.delete(this.#entries.keys().next().value!);
    }
  }
}
