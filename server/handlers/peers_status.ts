/** The node's `peers` table over HTTP, with each peer checked live (never its token). */
import { readBody } from "../../lib/read_body.ts";
import type { RouteContext } from "../context.ts";
import type * as Api from "../api_types.ts";
import { type Answer, json } from "../respond.ts";

const TIMEOUT_MS = 3000;
/** A peer's `/health` is a few hundred bytes; a peer sending more is not read further. */
const MAX_HEALTH_BYTES = 64 * 1024;

const parseJson = (bytes: Uint8Array) => JSON.parse(new TextDecoder().decode(bytes));

/** `GET /api/peers`: the peers this node knows. */
export function listPeers(c: RouteContext): Answer<Api.PeerInfo[]> {
  return json(c.server.storage.peers.list().map(({ token: _, ...p }) => p));
}

/**
 * `GET /api/peers/status`: every peer's `/health`, fetched in parallel with a
 * time limit: reachable, version and round-trip time.
 */
export async function peersStatus(c: RouteContext): Promise<Answer<Api.PeerStatus[]>> {
  const peers = c.server.storage.peers.list();
  const out = await Promise.all(peers.map(async ({ token: _, ...p }) => {
    const t0 = performance.now();
    try {
      const res = await fetch(new URL("/health", p.url), {
        signal: AbortSignal.timeout(TIMEOUT_MS),
        redirect: "manual",
      });
      const latency_ms = Math.round(performance.now() - t0);
      const body = res.ok
        ? await readBody(res, MAX_HEALTH_BYTES).then(parseJson).catch(() => null)
        : (await res.body?.cancel(), null);
      const version = typeof body?.version === "string" ? body.version.slice(0, 64) : null;
      return {
        ...p,
        reachable: res.ok,
        version: version ?? p.version,
        latency_ms,
        error: res.ok ? null : `answered ${res.status}`,
      };
    } catch (err) {
      const timedOut = err instanceof DOMException && err.name === "TimeoutError";
      return {
        ...p,
        reachable: false,
        latency_ms: null,
        error: timedOut ? `no answer within ${TIMEOUT_MS / 1000} s` : "could not connect",
      };
    }
  }));
  return json(out);
}
