/**
 * A bound on how long requests queue for one app's server code. Each app
 * host answers at its own pace; past that, requests pile up in its queue,
 * every one of them waits, and after the load stops the queue still takes
 * seconds to drain. The gate watches how long requests to each app take
 * from arrival to answer (CoDel's idea): when even the quickest answer of
 * an interval took longer than `targetMs`, the app is not absorbing a
 * burst but falling behind, and new requests get a fast 503 until answers
 * come back within the target. A burst to a cold or idle app is never
 * refused: its first answers are quick.
 * @module
 */

/** Below this many requests in flight an app is never refused. */
export const APP_GATE_FLOOR = 32;

class Lane {
  inFlight = 0;
  /** The quickest answer (ms) in the current interval; Infinity when none yet. */
  quickest = Infinity;
  intervalStart = 0;
  behind = false;
}

export class AppGate {
  readonly #lanes = new Map<string, Lane>();
  readonly #intervalMs: number;

  /** `targetMs` 0: never refuse. */
  constructor(private targetMs: number, private now: () => number = () => performance.now()) {
    this.#intervalMs = Math.max(100, targetMs);
  }

  /**
   * Takes a place for a request to app `key`: the time it arrived, to give
   * `leave` once it is answered; undefined (refused) when the app is behind,
   * unless `exempt`.
   */
  enter(key: string, exempt = false): number | undefined {
    const now = this.now();
    let lane = this.#lanes.get(key);
    if (!lane) {
      if (this.#lanes.size > 10_000) this.#prune();
      this.#lanes.set(key, lane = new Lane());
      lane.intervalStart = now;
    }
    this.#roll(lane, now);
    if (this.targetMs > 0 && !exempt && lane.behind && lane.inFlight >= APP_GATE_FLOOR) {
      return undefined;
    }
    lane.inFlight++;
    return now;
  }

  leave(key: string, arrived: number): void {
    const lane = this.#lanes.get(key);
    if (!lane) return;
    const now = this.now();
    lane.inFlight--;
    lane.quickest = Math.min(lane.quickest, now - arrived);
    this.#roll(lane, now);
  }

  /** At the end of each interval: behind if even its quickest answer missed the target. */
  #roll(lane: Lane, now: number): void {
    if (now - lane.intervalStart < this.#intervalMs) return;
    // No answer in a whole interval: keep the verdict while requests wait.
    if (lane.quickest !== Infinity) lane.behind = lane.quickest > this.targetMs;
    else if (lane.inFlight === 0) lane.behind = false;
    lane.quickest = Infinity;
    lane.intervalStart = now;
  }

  #prune(): void {
    for (const [k, lane] of this.#lanes) if (lane.inFlight === 0) this.#lanes.delete(k);
  }
}
