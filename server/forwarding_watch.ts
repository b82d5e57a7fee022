import type { Settings } from "../storage/mod.ts";
import type { IgnoredForwarding } from "./api_types.ts";
import { ignoredForwardingHeader, isLoopback } from "./request_origin.ts";

/**
 * Notes requests that came through a proxy whose forwarding headers fazt
 * ignores, so the dashboard can warn: behind it every client has the
 * proxy's address, and a few bad sign-ins by anyone lock the owner out.
 */
export class ForwardingWatch {
  #seen?: IgnoredForwarding;
  readonly #now: () => number;

  constructor(opts: { now?: () => number } = {}) {
    this.#now = opts.now ?? Date.now;
  }

  /** Looks at one request to the admin host. */
  note(req: Request, remote: Deno.NetAddr | undefined, settings: Settings): void {
    const header = ignoredForwardingHeader(req, remote, settings);
    if (header === undefined) return;
    this.#seen = {
      header,
      from_loopback: isLoopback(remote),
      requests: (this.#seen?.requests ?? 0) + 1,
      last_seen_at: this.#now(),
    };
  }

  /** What was seen, or `undefined` when no request carried an ignored header. */
  get ignored(): IgnoredForwarding | undefined {
    return this.#seen;
  }
}
