import {
  type Scope,
  scopeAllows,
  type SessionInfo,
  type SessionLifetime,
  type Storage,
  type TokenInfo,
} from "../storage/mod.ts";
import { HttpError } from "./http_error.ts";
import { checkOrigin, isStateChanging } from "./request_origin.ts";
import { readSessionCookies } from "./session_cookie.ts";
import type { FailureWindows } from "./failure_windows.ts";

/** Who may call a route: anyone, or a token holding at least this scope. */
export type Policy = "public" | Scope;

/**
 * Who is calling. A signed-in owner (`kind: "session"`) holds every right;
 * `token` then stands for those rights (id 0, scope `admin`, the owner's
 * name) so code that reads `principal.token` works for both kinds.
 */
export interface Principal {
  kind: "token" | "session";
  token: TokenInfo;
  session?: SessionInfo;
}

/** How to check an owner session cookie on this request. */
export interface SessionCheck {
  life: SessionLifetime;
  /** This request's own origin; cookie-authenticated writes must come from it. */
  origin: string;
}

/** The limit on failed token authentications, for one client. */
export interface TokenGuard {
  /** The client's address (see `clientIp`). */
  client: string;
  failures: FailureWindows;
}

const CHALLENGE = { "www-authenticate": 'Bearer realm="fazt"' };

/**
 * Checks the request's credentials against `policy`; throws 401/403 when they
 * fall short, and 429 when `guard`'s client has failed too often with tokens.
 */
export function authorize(
  req: Request,
  storage: Storage,
  policy: Policy,
  sessions?: SessionCheck,
  guard?: TokenGuard,
): Principal | undefined {
  if (policy === "public") return undefined;
  const header = req.headers.get("authorization");
  // A Bearer header decides alone: a bad token is refused, not retried as a cookie.
  if (!header && sessions) {
    const secrets = readSessionCookies(req);
    if (secrets.length > 0) return sessionPrincipal(req, storage, secrets, sessions);
  }
  if (!header) {
    throw new HttpError(401, "UNAUTHORIZED", "Authentication required", { headers: CHALLENGE });
  }
  // Checked before the token, so a blocked client learns nothing about the ones it tries.
  const wait = guard?.failures.blockedFor(guard.client) ?? 0;
  if (wait > 0) {
    const s = Math.ceil(wait / 1000);
    throw new HttpError(
      429,
      "RATE_LIMITED",
      `Too many failed token authentications from this address. Try again in ${
        Math.ceil(s / 60)
      } minutes.`,
      { details: { retry_after_s: s }, headers: { "retry-after": String(s) } },
    );
  }
  let token: TokenInfo;
  try {
    token = verifyBearer(header, storage);
  } catch (err) {
    guard?.failures.fail(guard.client);
    throw err;
  }
  if (!scopeAllows(token.scope, policy)) {
    throw new HttpError(403, "FORBIDDEN", `This needs a token with scope '${policy}'`, {
      details: { required: policy, scope: token.scope },
    });
  }
  return { kind: "token", token };
}

/** The token of an `Authorization: Bearer` header; 401 when malformed, unknown or revoked. */
function verifyBearer(header: string, storage: Storage): TokenInfo {
  const m = /^Bearer\s+(\S+)\s*$/i.exec(header);
  if (!m) {
    throw new HttpError(
      401,
      "UNAUTHORIZED",
      "Use the header 'Authorization: Bearer <token>'",
      { headers: CHALLENGE },
    );
  }
  const token = storage.tokens.verify(m[1]);
  if (!token) {
    throw new HttpError(401, "INVALID_TOKEN", "Invalid or revoked token", {
      headers: CHALLENGE,
    });
  }
  return token;
}

/**
 * The owner's session of the first cookie value that names a live one. Each
 * is tried: a cookie of the same name tossed in from an app host must not
 * hide the real one.
 */
function sessionPrincipal(
  req: Request,
  storage: Storage,
  secrets: string[],
  check: SessionCheck,
): Principal {
  let session: SessionInfo | undefined;
  for (const secret of secrets) {
    session = storage.sessions.touch(secret, check.life);
    if (session) break;
  }
  if (!session) {
    throw new HttpError(
      401,
      "SESSION_EXPIRED",
      "Your session has ended; sign in again",
      { headers: CHALLENGE },
    );
  }
  if (isStateChanging(req.method)) checkOrigin(req, check.origin, true);
  const owner = storage.owner.get()?.username ?? "owner";
  return {
    kind: "session",
    session,
    token: {
      id: 0,
      name: `${owner} (dashboard)`,
      scope: "admin",
      created_at: session.created_at,
      last_used_at: session.last_seen_at,
    },
  };
}
