/**
 * fazt's JSON envelope, read the same way by every client (the CLI, the MCP
 * tools, the dashboard): `{"data": …}` on success, `{"error": {"code",
 * "message", "details"?}}` on failure. Pure web APIs, so the dashboard
 * bundles it too.
 * @module
 */
import { BodyTooLargeError, readBody } from "./read_body.ts";

/** The `error` of a failed API answer. `code` is UPPER_SNAKE and stable. */
export interface ErrorBody {
  /** e.g. `APP_NOT_FOUND`, `VALIDATION_FAILED`. */
  code: string;
  /** Safe to show: never SQL, paths or secrets. */
  message: string;
  /** e.g. `{field, constraint}` for `VALIDATION_FAILED`. */
  details?: Record<string, unknown>;
}

/** Every `/api/*` answer: its `data`, or its `error`. */
export type Envelope<T> = { data: T; error?: undefined } | { error: ErrorBody; data?: undefined };

/**
 * Why an answer was not the `data` asked for:
 * - `api`: the node refused with its error envelope (`code` is the node's)
 * - `status`: a failed status without an error envelope (`code` is `HTTP_<status>`)
 * - `not_json`: the body is not JSON, so not fazt's API (`code` is `BAD_RESPONSE`)
 * - `unreadable`: the body broke off while being read (`code` is `UNREACHABLE`)
 * - `too_large`: the body passed the reader's limit; reading stopped there
 *   (`code` is `RESPONSE_TOO_LARGE`)
 */
export type ApiErrorKind = "api" | "status" | "not_json" | "unreadable" | "too_large";

/** A refused or unreadable API answer. Clients wrap it in their own error as they need. */
export class ApiError extends Error {
  /** An error as `readEnvelope` makes it; clients make them for their own failures too. */
  constructor(
    /** The answer's HTTP status (0 when there was none). */
    readonly status: number,
    /** The node's error code, or one of `kind`'s. */
    readonly code: string,
    message: string,
    /** The error envelope's `details`. */
    readonly details?: Record<string, unknown>,
    /** Why the answer was refused. */
    readonly kind: ApiErrorKind = "api",
  ) {
    super(message);
    this.name = "ApiError";
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function errorBody(value: unknown): ErrorBody | undefined {
  if (!isObject(value)) return undefined;
  return {
    code: typeof value.code === "string" ? value.code : "ERROR",
    message: typeof value.message === "string" ? value.message : "The request failed",
    ...(isObject(value.details) ? { details: value.details } : {}),
  };
}

/**
 * The most of an answer `readEnvelope` reads unless told otherwise: the
 * API's largest answers (exports of an app's documents) are well under it,
 * and a node that sends more, or sends without end, cannot fill the
 * client's memory.
 */
export const MAX_ENVELOPE_BYTES = 64 * 1024 * 1024;

/**
 * The `data` of an API answer, or an `ApiError`. An error envelope wins
 * whatever the status; a success status without one gives `data` as is.
 * At most `maxBytes` of the body are read.
 */
export async function readEnvelope<T>(
  res: Response,
  maxBytes = MAX_ENVELOPE_BYTES,
): Promise<T> {
  let text: string;
  try {
    text = new TextDecoder().decode(await readBody(res, maxBytes));
  } catch (err) {
    if (err instanceof BodyTooLargeError) {
      throw new ApiError(
        res.status,
        "RESPONSE_TOO_LARGE",
        `The node's answer is larger than ${maxBytes} bytes`,
        undefined,
        "too_large",
      );
    }
    throw new ApiError(
      res.status,
      "UNREACHABLE",
      "The node stopped answering mid-response",
      undefined,
      "unreadable",
    );
  }
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw new ApiError(
      res.status,
      "BAD_RESPONSE",
      `The node answered ${res.status} with something that is not fazt's API`,
      undefined,
      "not_json",
    );
  }
  const error = isObject(body) ? errorBody(body.error) : undefined;
  if (error) throw new ApiError(res.status, error.code, error.message, error.details, "api");
  if (!res.ok) {
    throw new ApiError(
      res.status,
      `HTTP_${res.status}`,
      `The node answered ${res.status} ${res.statusText}`.trim(),
      undefined,
      "status",
    );
  }
  return (isObject(body) ? body.data : undefined) as T;
}
