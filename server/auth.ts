import { type Scope, scopeAllows, type Storage, type TokenInfo } from "../storage/mod.ts";
import { HttpError } from "./http_error.ts";

/** Who may call a route: anyone, or a token holding at least this scope. */
export type Policy = "public" | Scope;

export interface Principal {
  kind: "token";
  token: TokenInfo;
}

const CHALLENGE = { "www-authenticate": 'Bearer realm="fazt"' };

/** Checks the request's credentials against `policy`; throws 401/403 when they fall short. */
export function authorize(req: Request, storage: Storage, policy: Policy): Principal | undefined {
  if (policy === "public") return undefined;
  const header = req.headers.get("authorization");
  if (!header) {
    throw new HttpError(401, "UNAUTHORIZED", "Authentication required", undefined, CHALLENGE);
  }
  const m = /^Bearer\s+(\S+)\s*$/i.exec(header);
  if (!m) {
    throw new HttpError(
      401,
      "UNAUTHORIZED",
      "Use the header 'Authorization: Bearer <token>'",
      undefined,
      CHALLENGE,
    );
  }
  const token = storage.tokens.verify(m[1]);
  if (!token) {
    throw new HttpError(401, "INVALID_TOKEN", "Invalid or revoked token", undefined, CHALLENGE);
  }
  if (!scopeAllows(token.scope, policy)) {
    throw new HttpError(403, "FORBIDDEN", `This needs a token with scope '${policy}'`, {
      required: policy,
      scope: token.scope,
    });
  }
  return { kind: "token", token };
}
