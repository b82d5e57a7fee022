import { isScope, SCOPES } from "../../storage/mod.ts";
import { readJsonObject } from "../json_body.ts";
import type { RouteContext } from "../context.ts";
import { HttpError } from "../http_error.ts";
import { intParam } from "../params.ts";
import type * as Api from "../api_types.ts";
import { type Answer, json } from "../respond.ts";

/** `GET /api/tokens` (secrets are never listed) */
export function listTokens(c: RouteContext): Answer<Api.Token[]> {
  return json(c.server.storage.tokens.list());
}

/** `POST /api/tokens` with `{"name", "scope"}`; the token is in this answer only. */
export async function createToken(c: RouteContext): Promise<Answer<Api.NewToken>> {
  const body = await readJsonObject(c.req);
  const name = typeof body.name === "string" ? body.name.trim() : "";
  if (!name || name.length > 100) {
    throw HttpError.validation("name", "length", "name is required (1-100 characters)");
  }
  const scope = body.scope ?? "deploy";
  if (!isScope(scope)) {
    throw HttpError.validation("scope", "enum", `scope must be one of ${SCOPES.join(", ")}`);
  }
  const { token, info } = c.server.storage.tokens.create(name, scope);
  return json({ ...info, token }, 201);
}

/** `DELETE /api/tokens/{id}` */
export function revokeToken(c: RouteContext): Answer<Api.TokenRevoked> {
  const id = intParam(c, "id")!;
  if (!c.server.storage.tokens.revoke(id)) {
    throw new HttpError(404, "TOKEN_NOT_FOUND", `Token ${id} not found`);
  }
  return json({ id, revoked: true });
}
