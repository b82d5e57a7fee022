/**
 * The error the app-scoped stores throw for input they refuse, and the checks
 * they share. The runtime hands `code` and `field` back to app code, so
 * messages describe the input and never the SQL.
 * @module
 */

export type StorageErrorCode = "VALIDATION_FAILED" | "NOT_FOUND" | "CONFLICT" | "LIMIT_EXCEEDED";

export class StorageError extends Error {
  override readonly name = "StorageError";

  constructor(readonly code: StorageErrorCode, message: string, readonly field?: string) {
    super(message);
  }
}

/** Deeper values are refused: SQLite's JSON functions stop at 1000 levels. */
const MAX_JSON_DEPTH = 64;

export function invalid(field: string, message: string): StorageError {
  return new StorageError("VALIDATION_FAILED", message, field);
}

/** An id bound by the runtime; a bad one is a runtime bug, caught before it reads as NULL. */
export function checkAppId(appId: number): void {
  if (!Number.isSafeInteger(appId) || appId < 1) throw invalid("appId", "appId must be an app id");
}

/** A string key of `1..max` UTF-16 units; lone surrogates would not survive the UTF-8 column. */
export function checkKey(key: unknown, field: string, max: number): string {
  if (typeof key !== "string" || key.length < 1 || key.length > max || !key.isWellFormed()) {
    throw invalid(field, `${field} must be a string of 1 to ${max} characters`);
  }
  return key;
}

/** A prefix filter: like a key, but may be empty. */
export function checkPrefix(prefix: unknown, max: number): string {
  if (prefix === undefined || prefix === "") return "";
  return checkKey(prefix, "prefix", max);
}

export function checkLimit(limit: unknown, fallback = 100, max = 1000): number {
  if (limit === undefined) return fallback;
  if (typeof limit !== "number" || !Number.isInteger(limit) || limit < 1) {
    throw invalid("limit", "limit must be a positive integer");
  }
  return Math.min(limit, max);
}

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

/** Milliseconds to an absolute expiry; absent means never. */
export function expiryOf(ttl: unknown, now: number): number | null {
  if (ttl === undefined) return null;
  if (typeof ttl !== "number" || !(ttl > 0) || !Number.isSafeInteger(now + Math.ceil(ttl))) {
    throw invalid("ttl", "ttl must be a positive number of milliseconds");
  }
  return now + Math.ceil(ttl);
}

/**
 * The least string above every string that starts with `prefix`, for an
 * index range scan (LIKE would treat `%` and `_` as wildcards). SQLite
 * compares TEXT as UTF-8 bytes, which orders like code points, so bumping the
 * last code point works; null when the prefix is all U+10FFFF.
 */
export function prefixEnd(prefix: string): string | null {
  const points = [...prefix];
  while (points.length) {
    const last = points.pop()!.codePointAt(0)!;
    if (last < 0x10ffff) {
      return points.join("") + String.fromCodePoint(last === 0xd7ff ? 0xe000 : last + 1);
    }
  }
  return null;
}

/** Cursors are base64url text so apps treat them as opaque tokens. */
export function encodeCursor(text: string): string {
  const bytes = new TextEncoder().encode(text);
  let binary = "";
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");
}

export function decodeCursor(cursor: unknown): string | undefined {
  if (cursor === undefined || cursor === null) return undefined;
  try {
    if (typeof cursor !== "string" || !/^[A-Za-z0-9_-]+$/.test(cursor)) throw new Error();
    const binary = atob(cursor.replaceAll("-", "+").replaceAll("_", "/"));
    const bytes = Uint8Array.from(binary, (c) => c.charCodeAt(0));
    return new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    throw invalid("cursor", "cursor is not one this store returned");
  }
}

/**
 * Runs a write; a foreign-key failure means the app row is gone (deleted
 * between the runtime binding its id and this call).
 */
export function forApp<T>(write: () => T): T {
  try {
    return write();
  } catch (err) {
    if (err instanceof Error && /FOREIGN KEY constraint failed/.test(err.message)) {
      throw new StorageError("NOT_FOUND", "the app no longer exists", "appId");
    }
    throw err;
  }
}
