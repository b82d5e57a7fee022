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
 *
 * Sharing places is not enough on a small machine: one request at a time
 * of a flooding app still took half the server from a modest one beside it
 * (measured: reads at 0.43x of their rate alone), since each of its
 * requests costs the server as much as the modest app's. So with `pace`,
 * an app with requests waiting here, while an app with none waiting has
 * requests at its code, sends one at a time and rests `pace` times as long
 * as its last one took: it gets what the modest app leaves, and all of the
 * server again the moment that app has nothing in flight.
 * @module
 */

class Lane {
  dispatched = 0;
  readonly waiting: (() => void)[] = [];
  lastSeen = 0;
  /** When its last request was sent: how long it took is what a paced app rests for. */
  sentAt = 0;
  /** A paced app sends nothing before this. */
  restUntil = 0;
  /** When its last request was answered. */
  lastLeft = -Infinity;
}

/** The place of one request sent to an app's code (`FairShare.placed`). */
export interface Place {
  readonly app: number;
  readonly at: number;
}

export interface FairShareOptions {
  /** Requests each app may always have dispatched. */
  floor: number;
  /** Requests dispatched to all apps together past which apps over `floor` wait. */
  budget: number;
  /** How recently another app must have had a request for the server to count as shared. */
  windowMs?: number;
  /**
   * How many times as long as its last request took a flooding app rests
   * while a modest app is served (0, the default: never paced).
   */
  pace?: number;
  /** The longest such rest. */
  maxRestMs?: number;
  /**
   * A request still unanswered after this long gives its place back by
   * itself (it waits on I/O, not on the server); 0: never.
   */
  holdMs?: number;
  /**
   * How long after its last answer an app still counts as busy for pacing
   * (its clients' next requests are on their way: without it, each gap
   * between them would let the flooder's whole place back).
   */
  busyGapMs?: number;
  now?: () => number;
}

export class FairShare {
  readonly #lanes = new Map<number, Lane>();
  readonly #floor: number;
  readonly #budget: number;
  readonly #windowMs: number;
  readonly #now: () => number;
  readonly #pace: number;
  readonly #maxRestMs: number;
  readonly #busyGapMs: number;
  readonly #holdMs: number;
  /** Places of requests sent, oldest first. */
  readonly #places = new Set<Place>();
  #sweep: ReturnType<typeof setTimeout> | undefined;
  #total = 0;
  #wake: ReturnType<typeof setTimeout> | undefined;
  #wakeTime = Infinity;

  constructor(opts: FairShareOptions) {
    this.#floor = opts.floor;
    this.#budget = opts.budget;
    this.#windowMs = opts.windowMs ?? 250;
    this.#now = opts.now ?? (() => performance.now());
    this.#pace = opts.pace ?? 0;
    this.#maxRestMs = opts.maxRestMs ?? 20;
    this.#busyGapMs = opts.busyGapMs ?? 20;
    this.#holdMs = opts.holdMs ?? 0;
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
      this.#take(lane, now);
      return undefined;
    }
    const l = lane;
    return new Promise<void>((resolve) => l.waiting.push(resolve));
  }

  /**
   * A request of `app` was answered, or given up (`rest` false: it waits on
   * I/O, not on the server, so a paced app does not rest for it): a waiting
   * one may go.
   */
  leave(app: number, rest = true): void {
    const lane = this.#lanes.get(app);
    if (!lane || lane.dispatched === 0) return;
    lane.dispatched--;
    this.#total--;
    const now = this.#now();
    lane.lastLeft = now;
    if (rest && this.#pace > 0 && lane.waiting.length) {
      lane.restUntil = now + Math.min(this.#maxRestMs, this.#pace * (now - lane.sentAt));
    }
    this.#release();
  }

  /**
   * The place of a request `enter` let go: given back with `done`, or by
   * itself after `holdMs` unanswered. One timer sweeps them all (a timer
   * per request cost ~3 % of the server's time under load).
   */
  placed(app: number): Place {
    const place = { app, at: this.#now() };
    this.#places.add(place);
    if (this.#holdMs > 0 && this.#sweep === undefined) {
      this.#sweep = setTimeout(() => this.#giveBackOld(), this.#holdMs);
    }
    return place;
  }

  /** The request of `place` was answered (or failed). */
  done(place: Place): void {
    if (!this.#places.delete(place)) return;
    if (this.#places.size === 0 && this.#sweep !== undefined) {
      // Nothing left to watch: no timer keeps an idle server (or a test) waiting.
      clearTimeout(this.#sweep);
      this.#sweep = undefined;
    }
    this.leave(place.app);
  }

  /** Places held longer than `holdMs` go back, without a rest; looks again while any are held. */
  #giveBackOld(): void {
    this.#sweep = undefined;
    const now = this.#now();
    let next = Infinity;
    for (const place of this.#places) {
      if (now - place.at < this.#holdMs) {
        next = place.at + this.#holdMs;
        break;
      }
      this.#places.delete(place);
      this.leave(place.app, false);
    }
    if (next !== Infinity) {
      this.#sweep = setTimeout(() => this.#giveBackOld(), Math.max(1, Math.ceil(next - now)));
    }
  }

  /** Requests of `app` waiting for a place. */
  waiting(app: number): number {
    return this.#lanes.get(app)?.waiting.length ?? 0;
  }

  /** Requests of `app` dispatched now. */
  dispatched(app: number): number {
    return this.#lanes.get(app)?.dispatched ?? 0;
  }

  /** Whether the fair share holds requests of `app` back now (paced, or past its place). */
  holding(app: number): boolean {
    return this.waiting(app) > 0;
  }

  #take(lane: Lane, now: number): void {
    lane.dispatched++;
    lane.sentAt = now;
    this.#total++;
  }

  #may(app: number, lane: Lane, now: number): boolean {
    if (this.#paced(app, lane, now)) {
      if (lane.dispatched > 0) return false;
      if (now >= lane.restUntil) return true;
      this.#wakeAt(lane.restUntil);
      return false;
    }
    return lane.dispatched < this.#floor || this.#total < this.#budget || !this.#shared(app, now);
  }

  /**
   * A flooding app (requests waiting) beside a modest one (none waiting,
   * some at its code or answered within `busyGapMs`).
   */
  #paced(app: number, lane: Lane, now: number): boolean {
    if (this.#pace === 0 || lane.waiting.length === 0) return false;
    for (const [other, o] of this.#lanes) {
      if (other === app || o.waiting.length) continue;
      if (o.dispatched > 0 || now - o.lastLeft < this.#busyGapMs) return true;
    }
    return false;
  }

  /**
   * Freed places go, one at a time, to the waiting app with the fewest
   * dispatched among those that may send now.
   */
  #release(): void {
    const now = this.#now();
    for (;;) {
      let best: Lane | undefined;
      for (const [app, lane] of this.#lanes) {
        if (!lane.waiting.length || (best && lane.dispatched >= best.dispatched)) continue;
        if (this.#may(app, lane, now)) best = lane;
      }
      if (!best) return;
      this.#take(best, now);
      best.waiting.shift()!();
    }
  }

  /** Looks again when a paced app's rest ends (`at` on the clock of `now`). */
  #wakeAt(at: number): void {
    if (this.#wake !== undefined && this.#wakeTime <= at) return;
    clearTimeout(this.#wake);
    this.#wakeTime = at;
    this.#wake = setTimeout(() => {
      this.#wake = undefined;
      this.#wakeTime = Infinity;
      this.#release();
    }, Math.max(0, Math.ceil(at - this.#now())));
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
