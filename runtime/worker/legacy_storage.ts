/**
 * The original fazt's synchronous storage API, `fazt.storage.kv`, `.ds` and
 * `.s3`, for original-style scripts: each method blocks on a storage call.
 * @module
 */
import type { Page } from "../app_types.ts";
import type { OpName } from "../protocol.ts";
import type { HostCalls } from "./host_calls.ts";

export interface LegacyStorage {
  kv: {
    get(key: string): unknown;
    /** `ttlMs`: expire after this many milliseconds. */
    set(key: string, value: unknown, ttlMs?: number): unknown;
    delete(key: string): unknown;
    list(prefix?: string): unknown[];
  };
  ds: {
    insert(collection: string, doc: unknown): string;
    find(collection: string, query?: unknown): unknown[];
    findOne(collection: string, id: string): unknown;
    /** `changes` without `$` operators are what to `$set`. */
    update(collection: string, query: unknown, changes: Record<string, unknown>): unknown;
    delete(collection: string, query: unknown): unknown;
  };
  s3: {
    put(path: string, data: string, mime?: string): unknown;
    /** `{data (base64), mime, size}` or `null`. */
    get(path: string): unknown;
    delete(path: string): unknown;
    list(prefix?: string): unknown[];
  };
}

export function legacyStorage(calls: HostCalls): LegacyStorage {
  const sync = <T = unknown>(op: OpName, args: unknown[]) => calls.callSync<T>(op, args);
  return {
    kv: {
      get: (key) => sync("kv.get", [key]),
      set: (key, value, ttlMs) => sync("kv.set", [key, value, ttlMs ? { ttl: ttlMs } : {}]),
      delete: (key) => sync("kv.delete", [key]),
      list: (prefix) => sync<Page<unknown>>("kv.list", [{ prefix, limit: 1000 }]).items,
    },
    ds: {
      insert: (c, doc) => sync<{ id: string }>("docs.insert", [c, doc]).id,
      find: (c, query) => sync<Page<unknown>>("docs.find", [c, query ?? {}, { limit: 1000 }]).items,
      findOne: (c, id) => sync("docs.get", [c, id]) ?? null,
      update: (c, query, changes) => {
        const ops = Object.keys(changes).some((k) => k.startsWith("$"));
        return sync("docs.update", [c, query, ops ? changes : { $set: changes }]);
      },
      delete: (c, query) => sync("docs.delete", [c, query]),
    },
    s3: {
      put: (path, data, mime) =>
        sync("blobs.putText", [path.replace(/^\/+/, "").replace(/\/{2,}/g, "/"), data, mime]),
      get: (path) => sync("blobs.getBase64", [path.replace(/^\/+/, "")]) ?? null,
      delete: (path) => sync("blobs.delete", [path.replace(/^\/+/, "")]),
      list: (prefix) => sync<Page<unknown>>("blobs.list", [{ prefix, limit: 1000 }]).items,
    },
  };
}
