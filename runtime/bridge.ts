import { type Storage, StorageError } from "../storage/mod.ts";
import type { CallError, FRAME, JsonMeta, OpName, ResultMeta } from "./protocol.ts";
import { kvOp, type KvOpContext } from "./kv_ops.ts";
import type { AfterWrite, Write } from "./write_queue.ts";

export interface CallResult {
  value?: unknown;
  /** The value as JSON text already (a stored document), sent on as it is. */
  json?: string;
  error?: CallError;
  body?: Uint8Array;
}

/**
 * A call's answer as the Worker reads it, the meta of a RESULT or SRESULT:
 * `{value}` or `{error}` as JSON (a stored document's JSON is spliced in
 * as it is, not parsed and encoded again).
 */
export function resultJson<T extends typeof FRAME.RESULT | typeof FRAME.SRESULT>(
  _type: T,
  r: CallResult,
): JsonMeta<T> {
  if (r.json !== undefined) return `{"value":${r.json}}` as JsonMeta<T>;
  return JSON.stringify({ value: r.value, error: r.error } satisfies ResultMeta) as JsonMeta<T>;
}

type Args = unknown[];
type Op = {
  write: boolean;
  /**
   * The write only ever adds to the app's stored bytes, so its quota check
   * may be shared with the like writes next to it in a batch. Only
   * `docs.insert` is: it never replaces (a taken id is a CONFLICT), and a
   * new row only adds bytes. `kv.set`, `blobs.put(Text)` and `docs.update`
   * may replace something bigger, `kv.increment` may shorten a number.
   */
  onlyGrows?: true;
  run: (s: Storage, appId: number, a: Args, body: Uint8Array) => CallResult;
};

const str = (v: unknown, what: string): string => {
  if (typeof v !== "string") {
    throw new StorageError("VALIDATION_FAILED", `${what} must be a string`);
  }
  return v;
};
const obj = (v: unknown, what: string): Record<string, unknown> => {
  if (v === undefined || v === null) return {};
  if (typeof v !== "object" || Array.isArray(v)) {
    throw new StorageError("VALIDATION_FAILED", `${what} must be an object`);
  }
  return v as Record<string, unknown>;
};
const ttl = (o: Record<string, unknown>) => {
  if (o.ttl === undefined) return {};
  if (typeof o.ttl !== "number" || !(o.ttl > 0)) {
    throw new StorageError("VALIDATION_FAILED", "ttl must be a positive number of ms");
  }
  return { ttl: o.ttl };
};
const value = (v: unknown): CallResult => ({ value: v });

/**
 * Every storage call an app can make. The app id is never taken from the
 * message: the server binds it from the channel the call came in on.
 */
const OPS: Record<Exclude<OpName, `denokv.${string}`>, Op> = {
  "kv.get": { write: false, run: (s, id, a) => value(s.kv.get(id, str(a[0], "key"))) },
  "kv.set": {
    write: true,
    run: (s, id, a) => value(s.kv.set(id, str(a[0], "key"), a[1], ttl(obj(a[2], "options")))),
  },
  "kv.delete": { write: true, run: (s, id, a) => value(s.kv.delete(id, str(a[0], "key"))) },
  "kv.list": { write: false, run: (s, id, a) => value(s.kv.list(id, obj(a[0], "options"))) },
  "kv.increment": {
    write: true,
    run: (s, id, a) => {
      const by = a[1] ?? 1;
      if (typeof by !== "number" || !Number.isFinite(by)) {
        throw new StorageError("VALIDATION_FAILED", "by must be a number");
      }
      return value(s.kv.increment(id, str(a[0], "key"), by, ttl(obj(a[2], "options"))));
    },
  },
  "docs.insert": {
    write: true,
    onlyGrows: true,
    run: (s, id, a) => ({
      json: s.docs.insertJson(id, str(a[0], "collection"), obj(a[1], "doc")),
    }),
  },
  "docs.get": {
    write: false,
    run: (s, id, a) => value(s.docs.get(id, str(a[0], "collection"), str(a[1], "id"))),
  },
  "docs.find": {
    write: false,
    run: (s, id, a) =>
      value(s.docs.find(id, str(a[0], "collection"), obj(a[1], "filter"), obj(a[2], "options"))),
  },
  "docs.update": {
    write: true,
    run: (s, id, a) =>
      value(s.docs.update(id, str(a[0], "collection"), obj(a[1], "filter"), obj(a[2], "update"))),
  },
  "docs.delete": {
    write: true,
    run: (s, id, a) => value(s.docs.delete(id, str(a[0], "collection"), obj(a[1], "filter"))),
  },
  "docs.count": {
    write: false,
    run: (s, id, a) => value(s.docs.count(id, str(a[0], "collection"), obj(a[1], "filter"))),
  },
  "blobs.put": {
    write: true,
    run: (s, id, a, body) => {
      const o = obj(a[1], "options");
      const contentType = o.contentType === undefined
        ? undefined
        : str(o.contentType, "contentType");
      return value(s.blobs.put(id, str(a[0], "key"), body, { contentType }));
    },
  },
  "blobs.get": {
    write: false,
    run: (s, id, a) => {
      const blob = s.blobs.get(id, str(a[0], "key"));
      if (!blob) return value(undefined);
      const { data, ...meta } = blob;
      return { value: meta, body: data };
    },
  },
  "blobs.delete": { write: true, run: (s, id, a) => value(s.blobs.delete(id, str(a[0], "key"))) },
  "blobs.list": { write: false, run: (s, id, a) => value(s.blobs.list(id, obj(a[0], "options"))) },
  // The original's `fazt.storage.s3`: text in, base64 out.
  "blobs.putText": {
    write: true,
    run: (s, id, a) => {
      const data = typeof a[1] === "string" ? new TextEncoder().encode(a[1]) : new Uint8Array();
      const mime = a[2] === undefined || a[2] === null ? undefined : str(a[2], "mime");
      s.blobs.put(id, str(a[0], "path"), data, { contentType: mime });
      return value(undefined);
    },
  },
  "blobs.getBase64": {
    write: false,
    run: (s, id, a) => {
      const blob = s.blobs.get(id, str(a[0], "path"));
      return value(
        blob && { data: blob.data.toBase64(), mime: blob.content_type, size: blob.size },
      );
    },
  },
};

function isOpName(op: unknown): op is keyof typeof OPS {
  return typeof op === "string" && Object.hasOwn(OPS, op);
}

const KV_OPS = new Set<string>(
  [
    "denokv.get",
    "denokv.range",
    "denokv.commit",
    "denokv.watch",
    "denokv.take",
    "denokv.settle",
    "denokv.release",
  ] satisfies OpName[],
);

/** Whose call it is and what it may use: the KV ops' context, and where failures are logged. */
export interface CallContext extends KvOpContext {
  log: (msg: string) => void;
}

/**
 * Runs one storage call for the app `c.appId`; errors come back as values,
 * never thrown. `op` and `args` are as the app sent them. A write that
 * grows the app's data past `c.maxStoredBytes` (0: no limit) is refused with
 * `QUOTA_EXCEEDED` inside its own transaction, so nothing of it is kept.
 */
export async function handleCall(
  c: CallContext,
  op: unknown,
  args: unknown,
  body: Uint8Array,
): Promise<CallResult> {
  const { storage, writes, appId, log, maxStoredBytes = 0 } = c;
  if (typeof op === "string" && KV_OPS.has(op) && Array.isArray(args)) {
    try {
      return { value: await kvOp(c, op, args) };
    } catch (err) {
      if (err instanceof StorageError) return { error: { code: err.code, message: err.message } };
      log(`storage call ${op} failed: ${err instanceof Error ? err.message : String(err)}`);
      return { error: { code: "INTERNAL_ERROR", message: "the storage call failed" } };
    }
  }
  const spec = isOpName(op) ? OPS[op] : undefined;
  if (!spec) {
    return { error: { code: "UNKNOWN_OPERATION", message: `no storage operation ${String(op)}` } };
  }
  if (!Array.isArray(args)) {
    return { error: { code: "VALIDATION_FAILED", message: "arguments must be a list" } };
  }
  try {
    const run = () => spec.run(storage, appId, args, body);
    if (!spec.write) return run();
    // Deletes only shrink: they need no quota check, even past the quota.
    if (maxStoredBytes <= 0 || (op as OpName).endsWith(".delete")) {
      return await writes.run(appId, run);
    }
    return await writes.run(
      appId,
      quotaGuarded(storage, appId, maxStoredBytes, run),
      quotaCheck(storage, appId, maxStoredBytes, spec.onlyGrows === true),
    );
  } catch (err) {
    if (err instanceof StorageError) return { error: { code: err.code, message: err.message } };
    log(`storage call ${op} failed: ${err instanceof Error ? err.message : String(err)}`);
    return { error: { code: "INTERNAL_ERROR", message: "the storage call failed" } };
  }
}

/**
 * A write checked against the app's quota. In the write queue's first,
 * optimistic run it runs bare and `quotaCheck` follows it; in the careful
 * run `guard` decides, reading the usage before and after the write.
 */
function quotaGuarded<T>(
  storage: Storage,
  appId: number,
  maxBytes: number,
  run: () => T,
): Write<T> {
  return (careful) => careful ? storage.usage.guard(appId, maxBytes, run) : run();
}

/**
 * The optimistic run's check: a write that leaves the app within its quota
 * needs no read of its usage before it (one read of `app_usage` per write
 * instead of two); one that leaves it over may still be allowed (it shrank
 * an app already over a lowered quota), so the check fails and the queue
 * runs the batch again carefully. Writes that only grow the app share the
 * check at one limit: usage only rises through them, so within the quota
 * after the last means within it after each (one read per run of inserts).
 */
function quotaCheck(
  storage: Storage,
  appId: number,
  maxBytes: number,
  onlyGrows: boolean,
): AfterWrite {
  return {
    passes: () => storage.usage.within(appId, maxBytes),
    shared: onlyGrows ? `quota ${maxBytes}` : undefined,
  };
}
