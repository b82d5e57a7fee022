import type { SessionLifetime, Settings } from "../storage/mod.ts";

/**
 * The owner's dashboard session cookie: `HttpOnly`, `SameSite=Strict`,
 * `Path=/`, `Secure` under HTTPS, and never a `Domain` attribute, so the
 * browser sends it back to the admin host alone and no app host ever sees it.
 */
export const SESSION_COOKIE = "fazt_session";

const HOUR = 3_600_000;

/** How long an owner session lasts idle and at most, from the settings. */
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
