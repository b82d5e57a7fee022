/**
 * Whether any app may upgrade a request to a WebSocket: the front door
 * serves connections that may upgrade on Deno's slower per-connection
 * server only while one may (front_door.ts `UpgradeRouting`).
 * @module
 */

/** What is asked of storage: does any live version's code mention `needle`? */
export interface LiveCode {
  liveCodeMentions(needle: string): boolean;
}

/** Looked up again at most this often, and after every change of a live version. */
const TTL_MS = 2000;
/** How long an app that upgraded on a connection that could not hold it keeps the routing on. */
const LEARNED_MS = 10 * 60_000;

export class WebSocketApps {
  #any = false;
  #until = 0;
  #learnedUntil = 0;

  constructor(private readonly code: LiveCode) {}

  /** Whether any live app's code calls `upgradeWebSocket`, or one tried lately. */
  any(): boolean {
    const now = performance.now();
    if (now < this.#learnedUntil) return true;
    if (now >= this.#until) {
      this.#any = this.code.liveCodeMentions("upgradeWebSocket");
      this.#until = now + TTL_MS;
    }
    return this.#any;
  }

  /** A live version changed: the next question looks again. */
  forget(): void {
    this.#until = 0;
  }

  /**
   * An app upgraded a request on a connection that could not hold it (a
   * preview, or code that names the call otherwise): connections may
   * upgrade from now on, and the client's next attempt holds.
   */
  learn(): void {
    this.#learnedUntil = performance.now() + LEARNED_MS;
  }
}
