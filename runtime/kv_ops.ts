/**
 * The server's side of `Deno.openKv()`: the `denokv.*` storage calls,
 * bound to the app of the connection they came in on like every other
 * call. Keys and values travel as base64 (keys already in Deno KV's tuple
 * encoding, values serialised by the Worker); commits go through the write
 * queue; `watch` and `take` wait for the app's next commit (`KvSignals`),
 * bounded by `WAIT_MS`, after which the Worker asks again.
 * @module
 */
import {
  type KvCheck,
  type KvEncoding,
  type KvEnqueue,
  type KvEntryRow,
  type KvMutation,
  type Storage,
  StorageError,
} from "../storage/mod.ts";
import type { KvSignals } from "./kv_signals.ts";
import type { WriteQueue } from "./write_queue.ts";

/** The longest a `watch` or `take` call waits before answering "nothing yet". */
export const WAIT_MS = 20_000;

type Args = unknown[];

function bad(message: string): never {
  throw new StorageError("VALIDATION_FAILED", message);
}

function bytes(v: unknown, what: string): Uint8Array {
  if (typeof v !== "string" || v.length > 200_000) bad(`${what} must be base64`);
  try {
    return Uint8Array.fromBase64(v as string);
  } catch {
    bad(`${what} must be base64`);
  }
}

function list(v: unknown, what: string, max: number): unknown[] {
  if (!Array.isArray(v) || v.length > max) bad(`${what} must be a list of at most ${max}`);
  return v as unknown[];
}

function record(v: unknown, what: string): Record<string, unknown> {
  if (typeof v !== "object" || v === null || Array.isArray(v)) bad(`${what} must be an object`);
  return v as Record<string, unknown>;
}

function optNumber(v: unknown, what: string): number | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== "number" || !Number.isFinite(v)) bad(`${what} must be a number`);
  return v as number;
}

function versionstamp(v: unknown): string | null {
  if (v === null) return null;
  if (typeof v !== "string" || !/^[0-9a-f]{20}$/.test(v)) bad("a versionstamp is 20 hex digits");
  return v as string;
}

const ENCODINGS = new Set([1, 2, 3]);

function mutation(v: unknown): KvMutation {
  const m = record(v, "a mutation");
  const key = bytes(m.key, "key");
  switch (m.type) {
    case "delete":
      return { type: "delete", key };
    case "set": {
      if (!ENCODINGS.has(m.encoding as number)) bad("unknown value encoding");
      return {
        type: "set",
        key,
        value: bytes(m.value, "value"),
        encoding: m.encoding as KvEncoding,
        expireIn: optNumber(m.expireIn, "expireIn"),
      };
    }
    case "sum":
    case "min":
    case "max":
      return { type: m.type, key, value: bytes(m.value, "value") };
    default:
      bad("unknown mutation type");
  }
}

function enqueue(v: unknown): KvEnqueue {
  const e = record(v, "a message");
  return {
    payload: bytes(e.payload, "payload"),
    delay: optNumber(e.delay, "delay"),
    keysIfUndelivered: e.keysIfUndelivered === undefined
      ? undefined
      : list(e.keysIfUndelivered, "keysIfUndelivered", 100).map((k) => bytes(k, "key")),
    backoffSchedule: e.backoffSchedule === undefined
      ? undefined
      : list(e.backoffSchedule, "backoffSchedule", 10) as number[],
  };
}

const wire = (e: KvEntryRow | null) =>
  e && {
    key: e.key.toBase64(),
    value: e.value.toBase64(),
    encoding: e.encoding,
    versionstamp: e.versionstamp,
  };

export interface KvOpContext {
  storage: Storage;
  writes: WriteQueue;
  appId: number;
  signals?: KvSignals;
  /** The app's storage quota (0 or absent: none); commits past it are refused. */
  maxStoredBytes?: number;
  /**
   * Whether the Worker that called is still there: a `take` still waiting
   * when its app stopped must not lease a message nobody will handle.
   */
  alive?: () => boolean;
}

async function watch(c: KvOpContext, a: Args) {
  const keys = list(a[0], "keys", 10).map((k) => bytes(k, "key"));
  const known = list(a[1], "versionstamps", 10).map(versionstamp);
  if (known.length !== keys.length) bad("one versionstamp per key");
  const until = Date.now() + WAIT_MS;
  for (;;) {
    const now = c.storage.denoKv.get(c.appId, keys);
    if (now.some((e, i) => (e?.versionstamp ?? null) !== known[i])) return now.map(wire);
    const left = until - Date.now();
    if (!c.signals || left <= 0) return null;
    if (await c.signals.wait(c.appId, left) === "released") return null;
  }
}

async function take(c: KvOpContext) {
  const until = Date.now() + WAIT_MS;
  for (;;) {
    const r = await c.writes.run(
      c.appId,
      () => c.alive?.() === false ? undefined : c.storage.denoKv.take(c.appId),
    );
    if (!r) return null;
    if ("message" in r) {
      const { id, payload, attempt } = r.message;
      return { id, payload: payload.toBase64(), attempt };
    }
    const left = Math.min(until, r.next ?? Infinity) - Date.now();
    if (!c.signals || until - Date.now() <= 0) return null;
    if (await c.signals.wait(c.appId, left) === "released") return null;
  }
}

/** Runs one `denokv.*` call; store errors are thrown as they are. */
export async function kvOp(c: KvOpContext, op: string, a: Args): Promise<unknown> {
  const { storage, appId } = c;
  switch (op) {
    case "denokv.get":
      return storage.denoKv.get(appId, list(a[0], "keys", 10).map((k) => bytes(k, "key")))
        .map(wire);
    case "denokv.range": {
      const limit = optNumber(a[2], "limit") ?? 100;
      if (!Number.isInteger(limit) || limit < 1) bad("limit must be a positive integer");
      return storage.denoKv.range(
        appId,
        bytes(a[0], "start"),
        bytes(a[1], "end"),
        limit,
        a[3] === true,
      )
        .map(wire);
    }
    case "denokv.commit": {
      const checks: KvCheck[] = list(a[0], "checks", 100).map((v) => {
        const r = record(v, "a check");
        return { key: bytes(r.key, "key"), versionstamp: versionstamp(r.versionstamp) };
      });
      const mutations = list(a[1], "mutations", 1000).map(mutation);
      const enqueues = list(a[2], "enqueues", 1000).map(enqueue);
      const commit = () => storage.denoKv.commit(appId, checks, mutations, enqueues);
      // Deno KV counts toward the app's storage quota like its other data.
      const max = c.maxStoredBytes ?? 0;
      const result = await c.writes.run(
        appId,
        max > 0 ? () => storage.usage.guard(appId, max, commit) : commit,
      );
      if (result.ok) {
        c.signals?.changed(appId);
        if (enqueues.length) c.signals?.enqueued(appId);
      }
      return result;
    }
    case "denokv.watch":
      return await watch(c, a);
    case "denokv.take":
      return await take(c);
    case "denokv.settle": {
      const id = a[0];
      if (!Number.isSafeInteger(id)) bad("a message id is a whole number");
      const done = await c.writes.run(
        appId,
        () => storage.denoKv.settle(appId, id as number, a[1] === true),
      );
      c.signals?.changed(appId);
      return done;
    }
    case "denokv.release":
      c.signals?.release(appId);
      return null;
    default:
      bad(`no storage operation ${op}`);
  }
}
