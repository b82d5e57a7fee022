/**
 * Checks of the arguments the app-scoped stores share: the app id the runtime
 * binds, keys, prefixes, page sizes and time-to-live.
 * @module
 */
import { invalid } from "./storage_error.ts";

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

/** Milliseconds to an absolute expiry; absent means never. */
export function expiryOf(ttl: unknown, now: number): number | null {
  if (ttl === undefined) return null;
  if (typeof ttl !== "number" || !(ttl > 0) || !Number.isSafeInteger(now + Math.ceil(ttl))) {
    throw invalid("ttl", "ttl must be a positive number of milliseconds");
  }
  return now + Math.ceil(ttl);
}
