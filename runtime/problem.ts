import { errorResponse } from "../lib/error_response.ts";

/** An error answer in fazt's JSON envelope, for failures around app code. */
export function problem(
  status: number,
  code: string,
  message: string,
  headers: Record<string, string> = {},
): Response {
  return errorResponse({ status, code, message, headers });
}
