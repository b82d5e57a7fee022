import { errorResponse } from "../lib/error_response.ts";

/**
 * Every error code the app runtime answers with on an app's host, around
 * the app's own answers (the API's codes are `ErrorCode` in
 * `server/http_error.ts`; a few mean the same on both sides). Clients
 * branch on them, so a code is never renamed or reused; add new ones here.
 */
export type RuntimeErrorCode =
  // Requests the app is not given.
  | "BAD_REQUEST"
  | "PAYLOAD_TOO_LARGE"
  | "RATE_LIMITED"
  | "CONCURRENCY_LIMITED"
  | "PREVIEW_CODE_OFF"
  // The app cannot answer now: try again after `Retry-After`.
  | "APP_BUSY"
  | "APP_RESTARTING"
  | "WEBSOCKETS_UNAVAILABLE"
  | "APP_WEBSOCKET_LIMIT"
  // The app failed: its code could not start, stopped, hung or answered wrongly.
  | "APP_FAILED"
  | "APP_CRASHED"
  | "APP_TIMEOUT"
  | "APP_ERROR"
  | "APP_BAD_RESPONSE"
  | "APP_RESPONSE_TOO_LARGE"
  // An app with scheduled jobs and no request handler.
  | "NOT_FOUND"
  // A storage refusal the app let through that is about the node, not the app.
  | "STORAGE_FULL"
  | "DATABASE_BUSY";

/**
 * An error answer in fazt's JSON envelope, for failures around app code.
 * The app's Worker uses it too (its bundle includes this module), so every
 * answer the runtime makes for an app has the same envelope and headers.
 */
export function problem(
  status: number,
  code: RuntimeErrorCode,
  message: string,
  headers: Record<string, string> = {},
): Response {
  return errorResponse({ status, code, message, headers });
}
