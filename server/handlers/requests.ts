import type { RouteContext } from "../context.ts";
import { rateOf } from "../request_rate.ts";
import { json } from "../respond.ts";

/** `GET /api/system/requests`: requests per minute over the last hour (this run only). */
export function systemRequests(c: RouteContext): Response {
  return json(rateOf(c.server).snapshot());
}
