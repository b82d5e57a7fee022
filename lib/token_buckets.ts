/**
 * Rate limits by key: a token bucket per key, holding at most `burst`
 * tokens and refilled at `rate` tokens a second; each event takes one. The
 * clock is the caller's (ms), so limits are exact under test.
 */
export class TokenBuckets {
  /** key → tokens left and when they were counted. */
  #buckets = new Map<string, { tokens: number; at: number }>();

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
    const b = this.#buckets.get(key);
    if (b === undefined) {
      if (this.#buckets.size >= this.maxKeys) this.#forget(now);
      this.#buckets.set(key, { tokens: this.burst - 1, at: now });
      return 0;
    }
    const tokens = Math.min(this.burst, b.tokens + (Math.max(0, now - b.at) * this.rate) / 1000);
    b.at = Math.max(b.at, now);
    if (tokens >= 1) {
      b.tokens = tokens - 1;
      return 0;
    }
    b.tokens = tokens;
    return Math.max(1, Math.ceil((1 - tokens) / this.rate));
  }

  /** Buckets kept (for tests). */
  get size(): number {
    return this.#buckets.size;
  }

  #forget(now: number): void {
    for (const [key, b] of this.#buckets) {
      if (b.tokens + ((now - b.at) * this.rate) / 1000 >= this.burst) this.#buckets.delete(key);
    }
    if (this.#buckets.size >= this.maxKeys) this.#buckets.clear();
  }
}
