import type { RouteContext } from "../context.ts";
import { findApp, intParam } from "../params.ts";
import type * as Api from "../api_types.ts";
import { type Answer, json } from "../respond.ts";

/** `GET /api/apps/{name}/logs?limit=&after=`: oldest first, so `after` follows a tail. */
export function appLogs(c: RouteContext): Answer<Api.LogEntry[]> {
  const app = findApp(c);
  const limit = intParam(c, "limit", { max: 1000, default: 100 });
  const after = intParam(c, "after", { min: 0, message: "after must be a log id" });
  return json(c.server.storage.logs.recent(app.id, { limit, after }));
}
