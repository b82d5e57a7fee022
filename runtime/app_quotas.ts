import { TokenBuckets } from "../lib/token_buckets.ts";
import { type AppLimits, defaultLimits, type Settings, type Storage } from "../storage/mod.ts";

/**
 * Each app's limits (node-wide defaults, the owner's overrides) and the
 * state that enforces its request rate. Limits are read from SQLite once
 * per app and kept until `changed`, since they are asked on every request
 * and every storage call.
 */
export class AppQuotas {
  #defaults: AppLimits;
  #limits = new Map<number, AppLimits>();
  /** Each rate-limited app's bucket, made for its current limits. */
  #buckets = new Map<number, TokenBuckets>();

  constructor(
    private storage: Storage,
    settings: Settings,
    private now: () => number = () => performance.now(),
  ) {
    this.#defaults = defaultLimits(settings);
  }

  /** The limits app `appId` runs under now. */
  limits(appId: number): AppLimits {
    let limits = this.#limits.get(appId);
    if (!limits) {
      if (this.#limits.size >= 10_000) this.#limits.clear();
      limits = this.storage.limits.resolve(appId, this.#defaults);
      this.#limits.set(appId, limits);
    }
    return limits;
  }

  /** The app's overrides changed (or it is gone): read them again, start its rate afresh. */
  changed(appId: number): void {
    this.#limits.delete(appId);
    this.#buckets.delete(appId);
  }

  /**
   * Takes one request from the app's `max_rps` bucket (`max_burst` deep; 0:
   * one second's worth): 0 when it may go, else the whole seconds until it
   * could (its `Retry-After`).
   */
  takeRequest(appId: number): number {
    const { max_rps: rate, max_burst: burst } = this.limits(appId);
    if (rate <= 0) return 0;
    let buckets = this.#buckets.get(appId);
    if (!buckets) {
      if (this.#buckets.size >= 10_000) this.#buckets.clear();
      buckets = new TokenBuckets(rate, burst > 0 ? burst : Math.max(1, rate), 1);
      this.#buckets.set(appId, buckets);
    }
    return buckets.take("", this.now());
  }

  /**
   * The most WebSockets app `appId` may hold open at once (0: no limit).
   * The hook WebSocket upgrades ask before accepting one.
   */
  maxWebSockets(appId: number): number {
    return this.limits(appId).max_websockets;
  }
}
