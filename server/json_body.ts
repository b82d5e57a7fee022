import { arrivedText } from "../lib/arrived_text.ts";
import { bodyGuardOf } from "../lib/body_guard.ts";
import { readBody } from "../lib/read_body.ts";
import { HttpError } from "./http_error.ts";

const JSON_LIMIT = 1024 * 1024;
const decoder = new TextDecoder();

/**
 * A JSON object body of at most `max` bytes. An empty body counts as `{}`
 * unless `emptyIsObject` is false (then it is refused as invalid JSON).
 *
 * A body the front door guards (from the network, its declared length at
 * most 64 KiB, so HTTP's framing bounds it), within `max` and already
 * received whole is taken from Deno as text in one call
 * (`lib/arrived_text.ts`): no promise, stream, bytes or decoding (a bare
 * server reading events that way spends ~20 % less CPU on each). Any other
 * body, one still arriving too, is read as bytes by `readBody`.
 */
export async function readJsonObject(
  req: Request,
  { max = JSON_LIMIT, emptyIsObject = true }: { max?: number; emptyIsObject?: boolean } = {},
): Promise<Record<string, unknown>> {
  let value: unknown;
  const text = receivedText(req, max);
  if (text !== undefined) {
    // A byte order mark is dropped, as `TextDecoder` drops it from bytes.
    value = parse(text.charCodeAt(0) === 0xfeff ? text.slice(1) : text);
  } else {
    const bytes = await readBody(req, max);
    value = bytes.byteLength === 0 && emptyIsObject ? {} : parse(decoder.decode(bytes));
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new HttpError(400, "INVALID_JSON", "The request body must be a JSON object");
  }
  return value as Record<string, unknown>;
}

function parse(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw new HttpError(400, "INVALID_JSON", "The request body is not valid JSON");
  }
}

/** The whole body as text when the door guards it, it is within `max` and Deno holds all of it. */
function receivedText(req: Request, max: number): string | undefined {
  const guard = bodyGuardOf(req);
  if (guard === undefined) return undefined;
  const declared = Number(req.headers.get("content-length") ?? NaN);
  if (!(declared > 0 && declared <= max)) return undefined;
  const text = arrivedText(req);
  if (text !== undefined) guard.ended = true;
  return text;
}
