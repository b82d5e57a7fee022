/**
 * Rate limits by key: a token bucket per key, holding at most `burst`
 * tokens and refilled at `rate` tokens a second; each event takes one. The
 * clock is the caller's (ms), so limits are exact under test.
 */
export class TokenBuckets {
  /** key → its bucket. */
  #buckets = new Map<string, Bucket>();
  #forgotten = 0;

  /**
   * @param rate tokens added per second (more than 0)
   * @param burst the most tokens a bucket holds (at least 1)
   * @param maxKeys buckets kept; past it, idle (full) buckets are forgotten
   *   first, then all, so the map stays bounded whatever keys arrive
   */
  constructor(readonly rate: number, readonly burst: number, readonly maxKeys = 100_000) {}

  /**
   * Takes a token for `key` at `now` (ms): 0 when there was one, else the
   * whole seconds until there will be (at least 1); nothing is taken then.
   */
  take(key: string, now: number): number {
    return this.takeFrom(this.bucket(key, now), now);
  }

  /** The bucket of `key` (a new one is full); callers may keep it while `forgotten` stays the same. */
  bucket(key: string, now: number): Bucket {
    let b = this.#buckets.get(key);
    if (b === undefined) {
      if (this.#buckets.size >= this.maxKeys) this.#forget(now);
      b = { tokens: this.burst, at: now };
      this.#buckets.set(key, b);
    }
    return b;
  }

  /** `take` for a bucket already looked up. */
  takeFrom(b: Bucket, now: number): number {
    const tokens = Math.min(this.burst, b.tokens + (Math.max(0, now - b.at) * this.rate) / 1000);
    if (now > b.at) b.at = now;
    if (tokens >= 1) {
      b.tokens = tokens - 1;
      return 0;
    }
    b.tokens = tokens;
    return Math.max(1, Math.ceil((1 - tokens) / this.rate));
  }

  /** How many times buckets were forgotten: a bucket kept from before a change may be stale. */
  get forgotten(): number {
    return this.#forgotten;
  }

  /** Buckets kept (for tests). */
  get size(): number {
    return this.#buckets.size;
  }

  #forget(now: number): void {
    this.#forgotten++;
    for (const [key, b] of this.#buckets) {
      if (b.tokens + ((now - b.at) * this.rate) / 1000 >= this.burst) this.#buckets.delete(key);
    }
    if (this.#buckets.size >= this.maxKeys) this.#buckets.clear();
  }
}

/** Tokens left at `at` (ms). */
export interface Bucket {
  tokens: number;
  at: number;
}
