/** The owner's sign-in for the dashboard: login, logout, who am I, signed-in browsers. */
import { verifyPassword } from "../../lib/password.ts";
import { safeEqual } from "../../lib/secrets.ts";
import { readJsonObject } from "../json_body.ts";
import type { RouteContext } from "../context.ts";
import { HttpError } from "../http_error.ts";
import type * as Api from "../api_types.ts";
import { type Answer, json } from "../respond.ts";
import {
  checkOrigin,
  clientIp,
  ignoredForwardingHeader,
  isHttps,
  ownOrigin,
} from "../request_origin.ts";
import {
  clearedSessionCookies,
  readSessionCookies,
  sessionCookie,
  sessionLifetime,
} from "../session_cookie.ts";

/** Login rate limit: this many attempts per client address per window (a success clears them). */
const LOGIN_MAX_FAILURES = 5;
const LOGIN_WINDOW_MS = 15 * 60_000;

// Checked when there is no owner, so a wrong user name costs as much as a wrong password.
const DUMMY_HASH =
  "pbkdf2-sha256$600000$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";

function https(c: RouteContext): boolean {
  return isHttps(c.req, c.url, c.remote, c.server.settings);
}

/** 429 for an address that has used up its sign-in attempts. */
function tooManyAttempts(c: RouteContext, waitMs: number): HttpError {
  const s = Math.max(1, Math.ceil(waitMs / 1000));
  const details: Record<string, unknown> = { retry_after_s: s };
  // Behind a proxy fazt does not trust, everyone shares the proxy's address: say so.
  const ignored = ignoredForwardingHeader(c.req, c.remote, c.server.settings);
  if (ignored) details.ignored_header = ignored;
  return new HttpError(
    429,
    "RATE_LIMITED",
    `Too many sign-in attempts. Try again in ${Math.ceil(s / 60)} minutes.`,
    { details, headers: { "retry-after": String(s) } },
  );
}

/**
 * `POST /api/auth/login` with `{"username", "password"}`: starts a session
 * and sets its cookie. Five attempts from one address within 15 minutes
 * lock that address out until the window ends, correct password or not;
 * each attempt is counted before its password is checked, so concurrent
 * guesses cannot slip in while the first ones are being hashed.
 */
export async function login(c: RouteContext): Promise<Answer<Api.LoggedIn>> {
  const secure = https(c);
  // A login form posted from another site would sign the browser in as the owner's attacker.
  checkOrigin(c.req, ownOrigin(c.req, secure), false);
  const { storage, settings } = c.server;
  const ip = clientIp(c.req, c.remote, settings);
  const taken = storage.loginAttempts.reserve(ip, LOGIN_MAX_FAILURES, LOGIN_WINDOW_MS);
  if (!taken.ok) throw tooManyAttempts(c, taken.waitMs);
  let username: string;
  let password: string;
  try {
    const body = await readJsonObject(c.req);
    username = typeof body.username === "string" ? body.username : "";
    password = typeof body.password === "string" ? body.password : "";
    if (!username || !password) {
      throw HttpError.validation("password", "required", "username and password are required");
    }
  } catch (err) {
    // No password was tried: the attempt is given back.
    storage.loginAttempts.release(ip);
    throw err;
  }
  const owner = storage.owner.get();
  const passwordOk = await verifyPassword(
    password.slice(0, 1024),
    owner?.password_hash ?? DUMMY_HASH,
  );
  const ok = owner !== undefined && safeEqual(username, owner.username) && passwordOk;
  if (!ok) {
    c.server.log(`login failed from ${ip} (${taken.attempts} in this window)`);
    throw new HttpError(401, "INVALID_CREDENTIALS", "Wrong user name or password", {
      details: { attempts_left: Math.max(0, LOGIN_MAX_FAILURES - taken.attempts) },
    });
  }
  storage.loginAttempts.reset(ip);
  const life = sessionLifetime(settings);
  const { secret, info } = storage.sessions.create(life, c.req.headers.get("user-agent"));
  return json(
    { username: owner!.username, expires_at: info.expires_at },
    200,
    { "set-cookie": sessionCookie(secret, Math.floor(life.maxMs / 1000), secure) },
  );
}

/** `POST /api/auth/logout`: ends this browser's session (if any) and clears its cookie. */
export function logout(c: RouteContext): Answer<Api.LoggedOut> {
  const secure = https(c);
  const secrets = readSessionCookies(c.req);
  let ended = false;
  if (secrets.length > 0) {
    checkOrigin(c.req, ownOrigin(c.req, secure), true);
    for (const secret of secrets) ended = c.server.storage.sessions.delete(secret) || ended;
  }
  const res = json<Api.LoggedOut>({ logged_out: ended }, 200);
  for (const cookie of clearedSessionCookies(secure)) res.headers.append("set-cookie", cookie);
  return res;
}

/** `GET /api/auth/me`: who the caller is (a signed-in owner or a token). */
export function me(c: RouteContext): Answer<Api.Me> {
  const p = c.principal!;
  if (p.kind === "session") {
    return json({
      kind: "session",
      name: p.token.name,
      username: c.server.storage.owner.get()?.username ?? "owner",
      scope: "admin",
      expires_at: p.session!.expires_at,
    });
  }
  return json({ kind: "token", name: p.token.name, scope: p.token.scope, id: p.token.id });
}

/** `GET /api/auth/sessions`: signed-in browsers, the caller's own marked. */
export function listSessions(c: RouteContext): Answer<Api.Session[]> {
  const own = c.principal?.session?.id;
  return json(c.server.storage.sessions.list().map((s) => ({ ...s, current: s.id === own })));
}

/** `DELETE /api/auth/sessions/{id}`: signs one browser out. */
export function revokeSession(c: RouteContext): Answer<Api.SessionRevoked> {
  if (!c.server.storage.sessions.revoke(c.params.id)) {
    throw new HttpError(404, "SESSION_NOT_FOUND", `No session '${c.params.id}'`);
  }
  return json({ id: c.params.id, revoked: true });
}
