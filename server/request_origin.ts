/**
 * Where a request came from: the client's address, whether it arrived over
 * HTTPS (directly or through a trusted proxy), and its origin, checked
 * before a browser may change anything.
 * @module
 */
import type { Settings } from "../storage/mod.ts";
import { clientAddress, isLoopbackAddress, normaliseAddress } from "./client_address.ts";
import { HttpError } from "./http_error.ts";
import { requestHost } from "./request_host.ts";

/** Whether the socket's peer is on this machine. */
export function isLoopback(addr: Deno.NetAddr | undefined): boolean {
  return isLoopbackAddress(normaliseAddress(addr?.hostname ?? ""));
}

/** Whether forwarding headers may be believed: the setting is on and the peer is a local proxy. */
function viaTrustedProxy(remote: Deno.NetAddr | undefined, settings: Settings): boolean {
  return settings.trust_proxy === 1 && isLoopback(remote);
}

/**
 * The client's address: the socket's peer, or behind a trusted reverse proxy
 * on loopback the last `X-Forwarded-For` entry (the one that proxy added).
 */
export function clientIp(
  req: Request,
  remote: Deno.NetAddr | undefined,
  settings: Settings,
): string {
  const trusted = settings.trust_proxy === 1;
  return clientAddress(
    remote?.hostname ?? "",
    trusted ? req.headers.get("x-forwarded-for") : null,
    trusted,
  );
}

/** Headers a reverse proxy adds to say who its client was. */
const FORWARDING_HEADERS = ["x-forwarded-for", "forwarded", "x-real-ip"];

/**
 * The forwarding header this request carries that `clientIp` does not
 * believe (`trust_proxy` off, a proxy that is not on loopback, or only
 * `Forwarded`/`X-Real-IP`, which fazt does not read); `undefined` when there
 * is none or it is used. Behind such a proxy every client has the proxy's
 * address, so they share one sign-in limit.
 */
export function ignoredForwardingHeader(
  req: Request,
  remote: Deno.NetAddr | undefined,
  settings: Settings,
): string | undefined {
  const names = FORWARDING_HEADERS.filter((name) => req.headers.has(name));
  if (names.length === 0) return undefined;
  if (viaTrustedProxy(remote, settings) && forwardedFor(req)?.length) return undefined;
  return names[0];
}

function forwardedFor(req: Request): string[] | undefined {
  return req.headers.get("x-forwarded-for")?.split(",").map((s) => s.trim()).filter(Boolean);
}

/** Whether the browser reached us over HTTPS (directly, or through a trusted proxy). */
export function isHttps(
  req: Request,
  url: URL,
  remote: Deno.NetAddr | undefined,
  settings: Settings,
): boolean {
  if (url.protocol === "https:") return true;
  return viaTrustedProxy(remote, settings) &&
    req.headers.get("x-forwarded-proto")?.trim().toLowerCase() === "https";
}

/** This request's own origin, `scheme://host[:port]`, as the browser addressed it. */
export function ownOrigin(req: Request, https: boolean): string {
  const host = requestHost(req).trim().toLowerCase();
  return `${https ? "https" : "http"}://${host}`;
}

const SAFE_METHODS = new Set(["GET", "HEAD", "OPTIONS"]);

export function isStateChanging(method: string): boolean {
  return !SAFE_METHODS.has(method);
}

/**
 * Refuses a cross-site request: `Origin` must be this host's own origin. A
 * request without `Origin` passes only when `Sec-Fetch-Site` says it is
 * same-origin; with neither, `strict` decides (cookie-authenticated writes
 * are strict, so a non-browser client must use a token).
 */
export function checkOrigin(req: Request, expected: string, strict: boolean): void {
  const origin = req.headers.get("origin");
  if (origin !== null) {
    if (origin.toLowerCase() === expected) return;
    throw new HttpError(403, "FORBIDDEN_ORIGIN", "This request came from another site", {
      details: { origin },
    });
  }
  const site = req.headers.get("sec-fetch-site");
  if (site === "same-origin" || (site === null && !strict)) return;
  throw new HttpError(
    403,
    "FORBIDDEN_ORIGIN",
    "A signed-in browser must send an Origin header for this request",
  );
}
