import { concatBytes } from "../lib/bytes.ts";
import type { Bytes } from "../storage/mod.ts";
import { HttpError } from "./http_error.ts";

/** The request body as bytes, refused with 413 as soon as it passes `max`. */
export async function readBody(req: Request, max: number): Promise<Bytes> {
  const declared = Number(req.headers.get("content-length") ?? NaN);
  if (declared > max) throw tooLarge(max);
  if (!req.body) return new Uint8Array();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of req.body) {
    size += chunk.byteLength;
    if (size > max) throw tooLarge(max);
    chunks.push(chunk);
  }
  return concatBytes(chunks);
}

function tooLarge(max: number): HttpError {
  return new HttpError(413, "PAYLOAD_TOO_LARGE", `The request body is larger than ${max} bytes`, {
    details: { field: "body", constraint: "max_bytes" },
  });
}

const JSON_LIMIT = 1024 * 1024;

/** A JSON object body; an empty body counts as `{}`. */
export async function readJsonObject(req: Request): Promise<Record<string, unknown>> {
  const bytes = await readBody(req, JSON_LIMIT);
  if (bytes.byteLength === 0) return {};
  let value: unknown;
  try {
    value = JSON.parse(new TextDecoder().decode(bytes));
  } catch {
    throw new HttpError(400, "INVALID_JSON", "The request body is not valid JSON");
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new HttpError(400, "INVALID_JSON", "The request body must be a JSON object");
  }
  return value as Record<string, unknown>;
}
