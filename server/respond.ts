import { errorResponse } from "../lib/error_response.ts";
import { HttpError } from "./http_error.ts";

const JSON_TYPE = {
  "content-type": "application/json; charset=utf-8",
  "cache-control": "no-store",
};

/** A success envelope: `{"data": …}`. */
export function json(data: unknown, status = 200, headers: HeadersInit = {}): Response {
  return new Response(JSON.stringify({ data }), {
    status,
    headers: { ...JSON_TYPE, ...Object.fromEntries(new Headers(headers)) },
  });
}

/** Turns anything thrown into an error envelope without leaking its text. */
export function toErrorResponse(err: unknown, log: (msg: string) => void): Response {
  if (err instanceof HttpError) return errorResponse(err);
  log(`internal error: ${err instanceof Error ? err.stack ?? err.message : String(err)}`);
  return errorResponse(new HttpError(500, "INTERNAL_ERROR", "Internal server error"));
}
