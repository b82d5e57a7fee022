/**
 * Shares the server's one thread between apps. Every request to an app's
 * server code costs the server work (reading it, framing it, the app's
 * storage calls, the answer), done in arrival order: an app with 64
 * requests in flight gets 16 turns for each one of an app with 4, and the
 * second app's answers wait behind the first's (measured: reads of one app
 * fell to 0.06x of their rate alone beside another writing flat out).
 *
 * So while several apps are served, requests dispatched to apps' code are
 * bounded in total (`budget`), each app may always have `floor` of them,
 * and a freed place goes to the waiting app with the fewest dispatched
 * (max-min fairness): a modest app keeps its pace, a flooding one gets the
 * rest. The others wait here, in order. An app served alone is never held
 * back.
 * @module
 */

class Lane {
  dispatched = 0;
  readonly waiting: (() => void)[] = [];
  lastSeen = 0;
}

export interface FairShareOptions {
  /** Requests each app may always have dispatched. */
  floor: number;
  /** Requests dispatched to all apps together past which apps over `floor` wait. */
  budget: number;
  /** How recently another app must have had a request for the server to count as shared. */
  windowMs?: number;
  now?: () => number;
}

export class FairShare {
  readonly #lanes = new Map<number, Lane>();
  readonly #floor: number;
  readonly #budget: number;
  readonly #windowMs: number;
  readonly #now: () => number;
  #total = 0;

  constructor(opts: FairShareOptions) {
    this.#floor = opts.floor;
    this.#budget = opts.budget;
    this.#windowMs = opts.windowMs ?? 250;
    this.#now = opts.now ?? (() => performance.now());
  }

  /**
   * Takes a place for one request of `app`: undefined when it may be sent
   * now, else a promise that resolves when it may. Each place taken is
   * given back with `leave`.
   */
  enter(app: number): Promise<void> | undefined {
    let lane = this.#lanes.get(app);
    if (!lane) this.#lanes.set(app, lane = new Lane());
    const now = this.#now();
    lane.lastSeen = now;
    if (lane.waiting.length === 0 && this.#may(app, lane, now)) {
      this.#take(lane);
      return undefined;
    }
    const l = lane;
    return new Promise<void>((resolve) => l.waiting.push(resolve));
  }

  /** A request of `app` was answered (or given up): a waiting one may go. */
  leave(app: number): void {
    const lane = this.#lanes.get(app);
    if (!lane || lane.dispatched === 0) return;
    lane.dispatched--;
    this.#total--;
    this.#release();
  }

  /** Requests of `app` waiting for a place. */
  waiting(app: number): number {
    return this.#lanes.get(app)?.waiting.length ?? 0;
  }

  /** Requests of `app` dispatched now. */
  dispatched(app: number): number {
    return this.#lanes.get(app)?.dispatched ?? 0;
  }

  #take(lane: Lane): void {
    lane.dispatched++;
    this.#total++;
  }

  #may(app: number, lane: Lane, now: number): boolean {
    return lane.dispatched < this.#floor || this.#total < this.#budget || !this.#shared(app, now);
  }

  /** Freed places go to the waiting app with the fewest dispatched, one at a time. */
  #release(): void {
    const now = this.#now();
    for (;;) {
      let best: [number, Lane] | undefined;
      for (const entry of this.#lanes) {
        const lane = entry[1];
        if (lane.waiting.length && (!best || lane.dispatched < best[1].dispatched)) best = entry;
      }
      if (!best || !this.#may(best[0], best[1], now)) return;
      this.#take(best[1]);
      best[1].waiting.shift()!();
    }
  }

  /** Whether another app had a request within the window (lanes idle longer are dropped). */
  #shared(app: number, now: number): boolean {
    for (const [other, lane] of this.#lanes) {
      if (other === app) continue;
      if (lane.dispatched > 0 || lane.waiting.length || now - lane.lastSeen < this.#windowMs) {
        return true;
      }
      this.#lanes.delete(other);
    }
    return false;
  }
}
