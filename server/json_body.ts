import { readBody } from "../lib/read_body.ts";
import { HttpError } from "./http_error.ts";

const JSON_LIMIT = 1024 * 1024;
const decoder = new TextDecoder();

/**
 * A JSON object body of at most `max` bytes. An empty body counts as `{}`
 * unless `emptyIsObject` is false (then it is refused as invalid JSON).
 */
export async function readJsonObject(
  req: Request,
  { max = JSON_LIMIT, emptyIsObject = true }: { max?: number; emptyIsObject?: boolean } = {},
): Promise<Record<string, unknown>> {
  const bytes = await readBody(req, max);
  if (bytes.byteLength === 0 && emptyIsObject) return {};
  let value: unknown;
  try {
    value = JSON.parse(decoder.decode(bytes));
  } catch {
    throw new HttpError(400, "INVALID_JSON", "The request body is not valid JSON");
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new HttpError(400, "INVALID_JSON", "The request body must be a JSON object");
  }
  return value as Record<string, unknown>;
}
