/**
 * What `fazt remote add` checks before it saves a peer: that the address
 * answers, that what answers is a fazt node, and that the node takes the
 * token. Each failure has its own code, so a typo is found at once rather
 * than on the next deploy.
 * @module
 */
import { readBody } from "../lib/read_body.ts";
import type { Api } from "../server/mod.ts";
import { ApiClient } from "./api_client.ts";
import { CliError } from "./cli_error.ts";
import { PROBE_TIMEOUT_MS } from "./peer_client.ts";

/** A fazt `/health` is well under a kilobyte; anything longer is not one. */
const MAX_HEALTH_BYTES = 16 * 1024;

/** What was checked: the node's version, and the token's name and scope there. */
export interface VerifiedPeer {
  version: string;
  token: { name: string; scope: string };
}

/**
 * Checks `url` and `token` against the node, in this order: `/health`
 * answers (else `UNREACHABLE`), and as fazt's (else `NOT_FAZT_NODE`, or
 * `REDIRECTED` with the address to use instead); then `/api/auth/me` takes
 * the token (else the node's refusal, `INVALID_TOKEN`). The token is sent
 * only once the node has shown it is fazt.
 */
export async function verifyPeer(url: string, token: string): Promise<VerifiedPeer> {
  const version = await healthVersion(url);
  const client = new ApiClient({ url, token, source: "--url" });
  let me: Api.Me;
  try {
    me = await client.request<Api.Me>("GET", "/api/auth/me", { timeoutMs: PROBE_TIMEOUT_MS });
  } catch (err) {
    if (
      err instanceof CliError && (err.code === "INVALID_TOKEN" || err.code === "UNAUTHORIZED")
    ) {
      throw new CliError(
        `${url} (fazt ${version}) refused the token: ${err.message}; nothing saved`,
        err.code,
      );
    }
    if (err instanceof CliError) throw new CliError(`${err.message}; nothing saved`, err.code);
    throw err;
  }
  if (typeof me?.name !== "string" || typeof me.scope !== "string") {
    throw new CliError(
      `${url} did not say what the token may do (GET /api/auth/me); nothing saved`,
      "BAD_RESPONSE",
    );
  }
  return { version, token: { name: me.name, scope: me.scope } };
}

/** The version a fazt node's `/health` reports, or a refusal saying why there is none. */
async function healthVersion(url: string): Promise<string> {
  const signal = AbortSignal.timeout(PROBE_TIMEOUT_MS);
  const unreachable = () =>
    new CliError(
      signal.aborted
        ? `${url} did not answer within ${PROBE_TIMEOUT_MS / 1000} s; nothing saved`
        : `cannot reach ${url}: is the node running and the address right? nothing saved`,
      "UNREACHABLE",
    );
  let res: Response;
  try {
    // Not followed: the address saved must be the one that answers.
    res = await fetch(new URL("/health", url), { signal, redirect: "manual" });
  } catch {
    throw unreachable();
  }
  const location = res.headers.get("location");
  if (res.status >= 300 && res.status < 400 && location) {
    await res.body?.cancel();
    const to = URL.parse(location, url)?.origin ?? location;
    throw new CliError(
      `${url} redirects to ${to}: add the peer with that address; nothing saved`,
      "REDIRECTED",
    );
  }
  let health: unknown = null;
  if (res.ok) {
    try {
      health = JSON.parse(new TextDecoder().decode(await readBody(res, MAX_HEALTH_BYTES)));
    } catch {
      if (signal.aborted) throw unreachable();
    }
  } else {
    await res.body?.cancel();
  }
  const h = health as { status?: unknown; version?: unknown } | null;
  if (h?.status !== "ok" || typeof h.version !== "string" || h.version.length > 64) {
    throw new CliError(
      `${url} answered, but it is not a fazt node (GET /health: ${res.status}, ` +
        `no fazt version); nothing saved`,
      "NOT_FAZT_NODE",
    );
  }
  return h.version;
}
