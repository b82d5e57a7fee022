import type { SessionLifetime, Settings } from "../storage/mod.ts";

/**
 * The owner's dashboard session cookie over plain HTTP: `HttpOnly`,
 * `SameSite=Strict`, `Path=/`, and never a `Domain` attribute, so the
 * browser sends it back to the admin host alone and no app host ever sees it.
 */
export const SESSION_COOKIE = "fazt_session";

/**
 * The same cookie under HTTPS. Browsers accept a `__Host-` cookie only when
 * it is `Secure`, has `Path=/` and no `Domain`, so a page on an app host
 * (`<app>.<domain>`) can neither set nor overwrite one for the admin host.
 */
export const HOST_SESSION_COOKIE = "__Host-fazt_session";

/**
 * At most this many session cookie values are tried per request. A page on
 * an app host can still set same-name cookies on the parent domain (one per
 * path), which the browser may send before the real one; they are tried and
 * skipped, up to this bound.
 */
const MAX_SESSION_COOKIES = 32;

const HOUR = 3_600_000;

/** How long an owner session lasts idle and at most, from the settings. */
export function sessionLifetime(settings: Settings): SessionLifetime {
  return {
    idleMs: settings.session_idle_hours * HOUR,
    maxMs: settings.session_max_days * 24 * HOUR,
  };
}

/**
 * Every session cookie value the request carries, `__Host-` ones first, each
 * group in the order sent. A request may carry several: a browser sends a
 * cookie of the same name set for a parent domain too, and cannot tell which
 * is whose, so none of them may hide the others.
 */
export function readSessionCookies(req: Request): string[] {
  const header = req.headers.get("cookie");
  if (!header) return [];
  const hostOnly: string[] = [];
  const plain: string[] = [];
  for (const part of header.split(";")) {
    const eq = part.indexOf("=");
    if (eq <= 0) continue;
    const name = part.slice(0, eq).trim();
    if (name === HOST_SESSION_COOKIE) hostOnly.push(part.slice(eq + 1).trim());
    else if (name === SESSION_COOKIE) plain.push(part.slice(eq + 1).trim());
  }
  return [...hostOnly, ...plain].slice(0, MAX_SESSION_COOKIES);
}

function cookieName(secure: boolean): string {
  return secure ? HOST_SESSION_COOKIE : SESSION_COOKIE;
}

/** The cookie that starts a session: `__Host-` and `Secure` under HTTPS. */
export function sessionCookie(secret: string, maxAgeS: number, secure: boolean): string {
  return `${cookieName(secure)}=${secret}; Path=/; Max-Age=${maxAgeS}; HttpOnly; SameSite=Strict${
    secure ? "; Secure" : ""
  }`;
}

/**
 * The cookies that end a session. Under HTTPS a `fazt_session` left from
 * plain-HTTP days is cleared as well as the `__Host-` one.
 */
export function clearedSessionCookies(secure: boolean): string[] {
  const names = secure ? [HOST_SESSION_COOKIE, SESSION_COOKIE] : [SESSION_COOKIE];
  return names.map((name) =>
    `${name}=; Path=/; Max-Age=0; HttpOnly; SameSite=Strict${secure ? "; Secure" : ""}`
  );
}
