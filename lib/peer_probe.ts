/**
 * What is checked before a peer is saved, by `fazt remote add` and by the
 * dashboard alike: that the address answers, that what answers is a fazt
 * node, and that the node takes the token. Each failure has its own code,
 * so a typo is found at once rather than on the next deploy.
 * @module
 */
import { ApiError, readEnvelope } from "./envelope.ts";
import { readBody } from "./read_body.ts";

/** A fazt `/health` is well under a kilobyte; anything longer is not one. */
const MAX_HEALTH_BYTES = 16 * 1024;
/** `/api/auth/me` is a few fields. */
const MAX_ME_BYTES = 16 * 1024;

/** Why a peer was not taken. */
export type PeerProbeFailure =
  /** Nothing answered at the address, or not in time. */
  | "UNREACHABLE"
  /** Something answered, but not fazt's `/health`. */
  | "NOT_FAZT_NODE"
  /** The address redirects: the peer must be saved with the one it gives. */
  | "REDIRECTED"
  /** The node refused the token. */
  | "TOKEN_REFUSED"
  /** The node answered `/api/auth/me` with something that is not its API. */
  | "BAD_RESPONSE";

/** What `probePeer` found. */
export type PeerProbe =
  | {
    ok: true;
    /** The version the node's `/health` reports. */
    version: string;
    /** The token's name and scope there. */
    token: { name: string; scope: string };
  }
  | {
    ok: false;
    reason: PeerProbeFailure;
    /** Safe to show; says what was asked and what came back. */
    message: string;
    /** The node's own error code, when it answered with one. */
    code?: string;
  };

/**
 * Checks `url` and `token` against the node, in this order: `/health`
 * answers, and as fazt's; then `/api/auth/me` takes the token. The token is
 * sent only once the node has shown it is fazt; redirects are not followed
 * (the address saved must be the one that answers). Never throws.
 */
export async function probePeer(url: string, token: string, timeoutMs: number): Promise<PeerProbe> {
  const health = await healthVersion(url, timeoutMs);
  if (!health.ok) return health;
  const { version } = health;
  const signal = AbortSignal.timeout(timeoutMs);
  let me: { name?: unknown; scope?: unknown } | undefined;
  try {
    const res = await fetch(new URL("/api/auth/me", url), {
      headers: { authorization: `Bearer ${token}` },
      signal,
      redirect: "manual",
    });
    me = await readEnvelope(res, MAX_ME_BYTES);
  } catch (err) {
    if (err instanceof ApiError && (err.status === 401 || err.status === 403)) {
      return {
        ok: false,
        reason: "TOKEN_REFUSED",
        code: err.code,
        message: `${url} (fazt ${version}) refused the token: ${err.message}`,
      };
    }
    if (err instanceof ApiError && err.kind !== "unreadable") {
      return {
        ok: false,
        reason: "BAD_RESPONSE",
        code: err.kind === "api" ? err.code : undefined,
        message: `${url} answered GET /api/auth/me with ${err.status}: ${err.message}`,
      };
    }
    return unreachable(url, signal.aborted, timeoutMs);
  }
  if (typeof me?.name !== "string" || typeof me.scope !== "string") {
    return {
      ok: false,
      reason: "BAD_RESPONSE",
      message: `${url} did not say what the token may do (GET /api/auth/me)`,
    };
  }
  return { ok: true, version, token: { name: me.name, scope: me.scope } };
}

/** A failed `PeerProbe`. */
export type PeerRefusal = Extract<PeerProbe, { ok: false }>;

function unreachable(url: string, timedOut: boolean, timeoutMs: number): PeerRefusal {
  return {
    ok: false,
    reason: "UNREACHABLE",
    message: timedOut
      ? `${url} did not answer within ${timeoutMs / 1000} s`
      : `cannot reach ${url}: is the node running and the address right?`,
  };
}

/** The version a fazt node's `/health` reports, or why there is none. */
async function healthVersion(
  url: string,
  timeoutMs: number,
): Promise<{ ok: true; version: string } | PeerRefusal> {
  const signal = AbortSignal.timeout(timeoutMs);
  let res: Response;
  try {
    res = await fetch(new URL("/health", url), { signal, redirect: "manual" });
  } catch {
    return unreachable(url, signal.aborted, timeoutMs);
  }
  const location = res.headers.get("location");
  if (res.status >= 300 && res.status < 400 && location) {
    await res.body?.cancel();
    const to = URL.parse(location, url)?.origin ?? location;
    return {
      ok: false,
      reason: "REDIRECTED",
      message: `${url} redirects to ${to}: add the peer with that address`,
    };
  }
  let health: unknown = null;
  if (res.ok) {
    try {
      health = JSON.parse(new TextDecoder().decode(await readBody(res, MAX_HEALTH_BYTES)));
    } catch {
      if (signal.aborted) return unreachable(url, true, timeoutMs);
    }
  } else {
    await res.body?.cancel();
  }
  const h = health as { status?: unknown; version?: unknown } | null;
  if (h?.status !== "ok" || typeof h.version !== "string" || h.version.length > 64) {
    return {
      ok: false,
      reason: "NOT_FAZT_NODE",
      message: `${url} answered, but it is not a fazt node (GET /health: ${res.status}, ` +
        `no fazt version)`,
    };
  }
  return { ok: true, version: h.version };
}
