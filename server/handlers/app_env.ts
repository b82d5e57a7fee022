/** An app's environment variables over HTTP: names out, values in, never values out. */
import { readJsonObject } from "../json_body.ts";
import type { RouteContext } from "../context.ts";
import { HttpError } from "../http_error.ts";
import { findApp } from "../params.ts";
import type * as Api from "../api_types.ts";
import { type Answer, json } from "../respond.ts";

/** `GET /api/apps/{name}/env`: names only; values never leave the node. */
export function listEnv(c: RouteContext): Answer<Api.EnvVar[]> {
  return json(c.server.storage.env.list(findApp(c).id));
}

/**
 * `PUT /api/apps/{name}/env` with `{"KEY": "value", "OLD": null}`: sets and
 * removes variables in one transaction, then restarts the app's host so the
 * change applies to the next request.
 */
export async function putEnv(c: RouteContext): Promise<Answer<Api.EnvVar[]>> {
  const body = await readJsonObject(c.req);
  const app = findApp(c);
  const { env, db } = c.server.storage;
  for (const [name, value] of Object.entries(body)) {
    if (value !== null && typeof value !== "string") {
      throw HttpError.validation(
        name,
        "string_or_null",
        `${name} must be a string, or null to remove it`,
      );
    }
  }
  db.transaction(() => {
    for (const [name, value] of Object.entries(body)) {
      if (value === null) env.delete(app.id, name);
      else env.set(app.id, name, value as string);
    }
  });
  c.server.runtime.stopApp(app.id, "its env changed");
  return json(env.list(app.id));
}
