import { errorResponse } from "../lib/error_response.ts";
import { BodyTooLargeError } from "../lib/read_body.ts";
import { SettingError, StorageError, type StorageErrorReason } from "../storage/mod.ts";
import { HttpError } from "./http_error.ts";

const JSON_TYPE = {
  "content-type": "application/json; charset=utf-8",
  "cache-control": "no-store",
};

declare const BODY: unique symbol;

/**
 * A response whose JSON body is a `B`. The brand exists for the compiler
 * only: `ROUTES` checks each handler's answer against `server/api_types.ts`,
 * so a handler whose answer drifts from its declared shape does not compile.
 */
export type JsonAnswer<B> = Response & { readonly [BODY]: B };

/** A success envelope `{"data": T}`: what a handler of an enveloped route returns. */
export type Answer<T> = JsonAnswer<{ data: T }>;

/**
 * A success envelope: `{"data": …}`. `T` is never inferred from `data`: it
 * comes from the handler's declared answer (`(c) => Answer<Api.Token[]>`) or
 * is given (`json<Api.Token[]>(rows)`), so `data` is checked against it,
 * literal fields included; with neither, nothing but `never` fits.
 */
export function json<T = never>(
  data: NoInfer<T>,
  status = 200,
  headers: HeadersInit = {},
): Answer<T> {
  return new Response(JSON.stringify({ data }), {
    status,
    headers: { ...JSON_TYPE, ...Object.fromEntries(new Headers(headers)) },
  }) as Answer<T>;
}

/** `Response.json`, no envelope (`/health`, MCP discovery), typed as `json` is. */
export function plainJson<B = never>(body: NoInfer<B>, init?: ResponseInit): JsonAnswer<B> {
  return Response.json(body, init) as JsonAnswer<B>;
}

/** The status of each store refusal the API names apart (its code is the reason itself). */
const REASON_STATUS: Record<StorageErrorReason, number> = {
  DOMAIN_TAKEN: 409,
  DOMAIN_LIMIT: 409,
};

/**
 * What the API answers for an error the layers below throw at input they
 * refuse; `undefined` for anything else. Handlers let these through, so
 * every store speaks HTTP the same way. Their messages describe the input,
 * never the SQL.
 */
export function httpErrorOf(err: unknown): HttpError | undefined {
  if (err instanceof HttpError) return err;
  if (err instanceof StorageError && err.reason) {
    const details = { ...(err.field === undefined ? {} : { field: err.field }), ...err.details };
    return new HttpError(REASON_STATUS[err.reason], err.reason, err.message, { details });
  }
  if (err instanceof StorageError) {
    switch (err.code) {
      case "NOT_FOUND":
        return new HttpError(404, "NOT_FOUND", err.message);
      case "CONFLICT":
        return new HttpError(409, "CONFLICT", err.message, {
          details: err.field === undefined ? undefined : { field: err.field },
        });
      case "VALIDATION_FAILED":
      case "LIMIT_EXCEEDED":
        return HttpError.validation(err.field ?? "query", "storage_rule", err.message);
      case "STANDBY":
        return new HttpError(503, "STANDBY", err.message, { headers: { "retry-after": "60" } });
      case "QUOTA_EXCEEDED":
        return new HttpError(507, "QUOTA_EXCEEDED", err.message);
      case "FULL":
        return new HttpError(507, "STORAGE_FULL", err.message);
      case "BUSY":
        return new HttpError(503, "DATABASE_BUSY", err.message, {
          headers: { "retry-after": "5" },
        });
    }
  }
  if (err instanceof SettingError) {
    return HttpError.validation(err.key, err.constraint, err.message);
  }
  if (err instanceof BodyTooLargeError) {
    const message = `The request body is larger than ${err.max} bytes`;
    return new HttpError(413, "PAYLOAD_TOO_LARGE", message, {
      details: { field: "body", constraint: "max_bytes" },
    });
  }
  return undefined;
}

/** Turns anything thrown into an error envelope; unknown errors are logged, never described. */
export function toErrorResponse(err: unknown, log: (msg: string) => void): Response {
  const known = httpErrorOf(err);
  if (known) return errorResponse(known);
  log(`internal error: ${err instanceof Error ? err.stack ?? err.message : String(err)}`);
  return errorResponse(new HttpError(500, "INTERNAL_ERROR", "Internal server error"));
}
