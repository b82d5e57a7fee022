import type { RouteContext } from "../context.ts";
import { rateOf } from "../request_rate.ts";
import type * as Api from "../api_types.ts";
import { type Answer, json } from "../respond.ts";

/** `GET /api/system/requests`: requests per minute over the last hour (this run only). */
export function systemRequests(c: RouteContext): Answer<Api.RequestRate> {
  return json(rateOf(c.server).snapshot());
}
