import type { SessionLifetime, Settings } from "../storage/mod.ts";
import { HttpError } from "./http_error.ts";

/**
 * The owner's dashboard session cookie: `HttpOnly`, `SameSite=Strict`,
 * `Path=/`, `Secure` under HTTPS, and never a `Domain` attribute, so the
 * browser sends it back to the admin host alone and no app host ever sees it.
 */
export const SESSION_COOKIE = "fazt_session";

/** Login rate limit: this many failures per client address per window. */
export const LOGIN_MAX_FAILURES = 5;
export const LOGIN_WINDOW_MS = 15 * 60_000;

const HOUR = 3_600_000;

export function sessionLifetime(settings: Settings): SessionLifetime {
  return {
    idleMs: settings.session_idle_hours * HOUR,
    maxMs: settings.session_max_days * 24 * HOUR,
  };
}

/** The session cookie's value, if the request carries one. */
export function readSessionCookie(req: Request): string | undefined {
  const header = req.headers.get("cookie");
  if (!header) return undefined;
  for (const part of header.split(";")) {
    const eq = part.indexOf("=");
    if (eq > 0 && part.slice(0, eq).trim() === SESSION_COOKIE) return part.slice(eq + 1).trim();
  }
  return undefined;
}

export function sessionCookie(secret: string, maxAgeS: number, secure: boolean): string {
  return `${SESSION_COOKIE}=${secret}; Path=/; Max-Age=${maxAgeS}; HttpOnly; SameSite=Strict${
    secure ? "; Secure" : ""
  }`;
}

export function clearedSessionCookie(secure: boolean): string {
  return `${SESSION_COOKIE}=; Path=/; Max-Age=0; HttpOnly; SameSite=Strict${
    secure ? "; Secure" : ""
  }`;
}

function isLoopback(addr: Deno.NetAddr | undefined): boolean {
  const h = addr?.hostname ?? "";
  return h === "::1" || h.startsWith("127.") || h === "::ffff:127.0.0.1";
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
  if (viaTrustedProxy(remote, settings)) {
    const forwarded = req.headers.get("x-forwarded-for")?.split(",").map((s) => s.trim())
      .filter(Boolean);
    if (forwarded?.length) return forwarded[forwarded.length - 1].slice(0, 64);
  }
  return remote?.hostname ?? "unknown";
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
  const host = (req.headers.get("host") ?? "").trim().toLowerCase();
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
