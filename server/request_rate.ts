/**
 * Requests per minute for the dashboard's overview: one counter per minute
 * for the last hour, in memory (a restart starts from zero). Counting costs
 * a clock read and an addition per request.
 */
export class RequestRate {
  #counts = new Float64Array(60);
  #minutes = new Float64Array(60);
  #now: () => number;

  constructor(now: () => number = Date.now) {
    this.#now = now;
  }

  hit(): void {
    const minute = Math.floor(this.#now() / 60_000);
    const i = minute % 60;
    if (this.#minutes[i] !== minute) {
      this.#minutes[i] = minute;
      this.#counts[i] = 0;
    }
    this.#counts[i]++;
  }

  /** Counts for each of the last 60 full minutes, oldest first; the last full one; this one so far. */
  snapshot(): {
    last_minute: number;
    this_minute: number;
    per_minute: { t: number; n: number }[];
  } {
    const current = Math.floor(this.#now() / 60_000);
    const per_minute = [];
    for (let m = current - 60; m < current; m++) {
      const i = m % 60;
      per_minute.push({ t: m * 60_000, n: this.#minutes[i] === m ? this.#counts[i] : 0 });
    }
    const now = current % 60;
    const this_minute = this.#minutes[now] === current ? this.#counts[now] : 0;
    return { last_minute: per_minute[per_minute.length - 1].n, this_minute, per_minute };
  }
}

const rates = new WeakMap<object, RequestRate>();

/** The request counter of one running node. */
export function rateOf(node: object): RequestRate {
  let rate = rates.get(node);
  if (!rate) rates.set(node, rate = new RequestRate());
  return rate;
}
