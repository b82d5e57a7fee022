/**
 * JSON values the stores keep: only what reads back equal to what was
 * written, within a size and depth bound.
 * @module
 */
import { invalid, StorageError } from "./storage_error.ts";

/** Deeper values are refused: SQLite's JSON functions stop at 1000 levels. */
const MAX_JSON_DEPTH = 64;

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== "object" || value === null) return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/**
 * Serialises `value`, refusing anything JSON would silently change (NaN,
 * undefined in arrays, class instances) so what is read back equals what was
 * written. Undefined object properties are dropped, as JSON does.
 */
export function toJson(value: unknown, field: string, maxBytes: number): string {
  if (value === undefined) throw invalid(field, `${field} must be a JSON value`);
  checkJson(value, field, 0);
  const text = JSON.stringify(value);
  if (utf8Length(text) > maxBytes) {
    throw new StorageError("LIMIT_EXCEEDED", `${field} exceeds ${maxBytes} bytes as JSON`, field);
  }
  return text;
}

function checkJson(value: unknown, field: string, depth: number): void {
  if (value === null || typeof value === "string" || typeof value === "boolean") return;
  if (typeof value === "number") {
    if (Number.isFinite(value)) return;
    throw invalid(field, `${field} contains a number JSON cannot hold`);
  }
  // The depth bound also turns a cycle into a refusal instead of a stack overflow.
  if (depth >= MAX_JSON_DEPTH) throw invalid(field, `${field} is nested too deeply`);
  if (Array.isArray(value)) {
    for (const item of value) {
      if (item === undefined) throw invalid(field, `${field} has an undefined array element`);
      checkJson(item, field, depth + 1);
    }
    return;
  }
  if (!isPlainObject(value)) throw invalid(field, `${field} must be JSON-compatible`);
  for (const item of Object.values(value)) {
    if (item !== undefined) checkJson(item, field, depth + 1);
  }
}

/** Bytes `text` takes as UTF-8, without allocating the encoding. */
export function utf8Length(text: string): number {
  let bytes = 0;
  for (let i = 0; i < text.length; i++) {
    const unit = text.charCodeAt(i);
    if (unit < 0x80) bytes += 1;
    else if (unit < 0x800) bytes += 2;
    else if (unit >= 0xd800 && unit <= 0xdbff && i + 1 < text.length) {
      bytes += 4;
      i++;
    } else bytes += 3;
  }
  return bytes;
}
