/** The owner's sign-in for the dashboard: login, logout, who am I, signed-in browsers. */
import { verifyPassword } from "../../lib/password.ts";
import { safeEqual } from "../../lib/secrets.ts";
import { readJsonObject } from "../json_body.ts";
import type { RouteContext } from "../context.ts";
import { HttpError } from "../http_error.ts";
import type * as Api from "../api_types.ts";
import { type Answer, json } from "../respond.ts";
import { checkOrigin, clientIp, isHttps, ownOrigin } from "../request_origin.ts";
import {
  clearedSessionCookie,
  readSessionCookie,
  sessionCookie,
  sessionLifetime,
} from "../session_cookie.ts";

/** Login rate limit: this many failures per client address per window. */
const LOGIN_MAX_FAILURES = 5;
const LOGIN_WINDOW_MS = 15 * 60_000;

// Checked when there is no owner, so a wrong user name costs as much as a wrong password.
const DUMMY_HASH =
  "pbkdf2-sha256$600000$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";

function https(c: RouteContext): boolean {
  return isHttps(c.req, c.url, c.remote, c.server.settings);
}

/**
 * `POST /api/auth/login` with `{"username", "password"}`: starts a session
 * and sets its cookie. Five failures from one address within 15 minutes
 * lock that address out until the window ends, correct password or not.
 */
export async function login(c: RouteContext): Promise<Answer<Api.LoggedIn>> {
  const secure = https(c);
  // A login form posted from another site would sign the browser in as the owner's attacker.
  checkOrigin(c.req, ownOrigin(c.req, secure), false);
  const { storage, settings } = c.server;
  const ip = clientIp(c.req, c.remote, settings);
  const wait = storage.loginAttempts.blockedFor(ip, LOGIN_MAX_FAILURES, LOGIN_WINDOW_MS);
  if (wait > 0) {
    const s = Math.ceil(wait / 1000);
    throw new HttpError(
      429,
      "RATE_LIMITED",
      `Too many failed sign-ins. Try again in ${Math.ceil(s / 60)} minutes.`,
      { details: { retry_after_s: s }, headers: { "retry-after": String(s) } },
    );
  }
  const body = await readJsonObject(c.req);
  const username = typeof body.username === "string" ? body.username : "";
  const password = typeof body.password === "string" ? body.password : "";
  if (!username || !password) {
    throw HttpError.validation("password", "required", "username and password are required");
  }
  const owner = storage.owner.get();
  const passwordOk = await verifyPassword(
    password.slice(0, 1024),
    owner?.password_hash ?? DUMMY_HASH,
  );
  const ok = owner !== undefined && safeEqual(username, owner.username) && passwordOk;
  if (!ok) {
    const failures = storage.loginAttempts.fail(ip, LOGIN_WINDOW_MS);
    c.server.log(`login failed from ${ip} (${failures} in this window)`);
    throw new HttpError(401, "INVALID_CREDENTIALS", "Wrong user name or password", {
      details: { attempts_left: Math.max(0, LOGIN_MAX_FAILURES - failures) },
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
  const secret = readSessionCookie(c.req);
  let ended = false;
  if (secret !== undefined) {
    checkOrigin(c.req, ownOrigin(c.req, secure), true);
    ended = c.server.storage.sessions.delete(secret);
  }
  return json({ logged_out: ended }, 200, { "set-cookie": clearedSessionCookie(secure) });
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
