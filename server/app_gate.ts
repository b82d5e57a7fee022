/**
 * A bound on how long requests queue for one app's server code. Each app
 * host answers at its own pace; past that, requests pile up in its queue and
 * every one of them waits (and, after the load stops, the queue still takes
 * seconds to drain). By Little's law the requests in flight that an app
 * clears within `targetMs` are its recent throughput × `targetMs`: past that
 * many, new requests get a fast 503 instead of a place at the back.
 * @module
 */

/** Below this many requests in flight an app is never refused (cold hosts, bursts). */
export const APP_GATE_FLOOR = 32;

const BUCKET_MS = 250;
const BUCKETS = 8;

class Lane {
  inFlight = 0;
  readonly buckets = new Array<number>(BUCKETS).fill(0);
  bucketAt = 0;

  /** Completions per second over the last two seconds. */
  rate(now: number): number {
    this.#roll(now);
    return this.buckets.reduce((a, b) => a + b, 0) * (1000 / (BUCKET_MS * BUCKETS));
  }

  completed(now: number): void {
    this.#roll(now);
    this.buckets[0]++;
  }

  #roll(now: number): void {
    const steps = Math.floor((now - this.bucketAt) / BUCKET_MS);
    if (steps <= 0) return;
    for (let i = 0; i < Math.min(steps, BUCKETS); i++) {
      this.buckets.pop();
      this.buckets.unshift(0);
    }
    this.bucketAt += steps * BUCKET_MS;
  }
}

export class AppGate {
  readonly #lanes = new Map<string, Lane>();

  /** `targetMs` 0: never refuse. */
  constructor(private targetMs: number, private now: () => number = () => performance.now()) {}

  /**
   * Takes a place for a request to app `key`; false when the app already
   * has as many in flight as it clears in `targetMs`. Call `leave` once it
   * is answered.
   */
  enter(key: string): boolean {
    let lane = this.#lanes.get(key);
    if (!lane) {
      if (this.#lanes.size > 10_000) this.#prune();
      this.#lanes.set(key, lane = new Lane());
      lane.bucketAt = this.now();
    }
    if (this.targetMs > 0 && lane.inFlight >= APP_GATE_FLOOR) {
      const limit = Math.ceil(lane.rate(this.now()) * this.targetMs / 1000);
      if (lane.inFlight >= limit) return false;
    }
    lane.inFlight++;
    return true;
  }

  leave(key: string): void {
    const lane = this.#lanes.get(key);
    if (!lane) return;
    lane.inFlight--;
    lane.completed(this.now());
  }

  #prune(): void {
    for (const [k, lane] of this.#lanes) if (lane.inFlight === 0) this.#lanes.delete(k);
  }
}
