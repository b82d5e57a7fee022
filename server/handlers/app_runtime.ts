import { StorageError } from "../../storage/mod.ts";
import { readJsonObject } from "../body.ts";
import type { RouteContext } from "../context.ts";
import { HttpError } from "../http_error.ts";
import { json } from "../respond.ts";

function findApp(c: RouteContext) {
  const app = c.server.storage.apps.get(c.params.name);
  if (!app) throw new HttpError(404, "APP_NOT_FOUND", `App '${c.params.name}' not found`);
  return app;
}

/** `GET /api/apps/{name}/env`: names only; values never leave the node. */
export function listEnv(c: RouteContext): Response {
  return json(c.server.storage.env.list(findApp(c).id));
}

/**
 * `PUT /api/apps/{name}/env` with `{"KEY": "value", "OLD": null}`: sets and
 * removes variables in one transaction, then restarts the app's host so the
 * change applies to the next request.
 */
export async function putEnv(c: RouteContext): Promise<Response> {
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
  try {
    db.transaction(() => {
      for (const [name, value] of Object.entries(body)) {
        if (value === null) env.delete(app.id, name);
        else env.set(app.id, name, value as string);
      }
    });
  } catch (err) {
    if (err instanceof StorageError) {
      throw HttpError.validation(err.field ?? "env", "env_rule", err.message);
    }
    throw err;
  }
  c.server.runtime.stopApp(app.id);
  return json(env.list(app.id));
}

/** `GET /api/apps/{name}/logs?limit=&after=`: oldest first, so `after` follows a tail. */
export function appLogs(c: RouteContext): Response {
  const app = findApp(c);
  const q = c.url.searchParams;
  const limit = q.has("limit") ? Number(q.get("limit")) : 100;
  const after = q.has("after") ? Number(q.get("after")) : undefined;
  if (!Number.isInteger(limit) || limit < 1 || limit > 1000) {
    throw HttpError.validation("limit", "range", "limit must be a whole number from 1 to 1000");
  }
  if (after !== undefined && (!Number.isInteger(after) || after < 0)) {
    throw HttpError.validation("after", "range", "after must be a log id");
  }
  return json(c.server.storage.logs.recent(app.id, { limit, after }));
}
