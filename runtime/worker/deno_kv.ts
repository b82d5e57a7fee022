/**
 * `Deno.openKv()` for app code: Deno KV's API over the app's own storage on
 * the node (`denokv.*` calls; the server's side is `runtime/kv_ops.ts`).
 * Keys are encoded here (`kv_key.ts`), values serialised here as Deno KV
 * does: `Uint8Array` as bytes, `Deno.KvU64` as 8 bytes, anything else with
 * V8's structured-clone serialisation (`node:v8`).
 * @module
 */
import type { OpName } from "../protocol.ts";
import { decodeKey, encodeKey, type KvKey, type KvKeyPart, KvU64 } from "./kv_key.ts";

export { KvU64 };

/** How calls reach the server: the Worker's `HostCalls.call`, or a test's. */
export type KvTransport = (op: OpName, args: unknown[]) => Promise<unknown>;

type Encoding = 1 | 2 | 3;
type WireEntry = { key: string; value: string; encoding: Encoding; versionstamp: string };

export interface KvEntry<T = unknown> {
  key: KvKeyPart[];
  value: T;
  versionstamp: string;
}
export type KvEntryMaybe<T = unknown> = KvEntry<T> | {
  key: KvKeyPart[];
  value: null;
  versionstamp: null;
};

export type KvListSelector =
  | { prefix: KvKey }
  | { prefix: KvKey; start: KvKey }
  | { prefix: KvKey; end: KvKey }
  | { start: KvKey; end: KvKey };

export interface KvListOptions {
  limit?: number;
  cursor?: string;
  reverse?: boolean;
  consistency?: "strong" | "eventual";
  batchSize?: number;
}

export type KvCommitResult = { ok: true; versionstamp: string };
export type KvCommitError = { ok: false };

interface V8 {
  serialize(v: unknown): Uint8Array;
  deserialize(b: Uint8Array): unknown;
}

let v8: V8 | undefined;
async function loadV8(): Promise<V8> {
  // Loaded on first use: most apps never open a KV.
  v8 ??= await import("node:v8") as unknown as V8;
  return v8;
}

async function serialize(value: unknown): Promise<{ value: string; encoding: Encoding }> {
  if (value instanceof Uint8Array) return { value: value.toBase64(), encoding: 3 };
  if (value instanceof KvU64) return { value: u64Bytes(value.value).toBase64(), encoding: 2 };
  const bytes = (await loadV8()).serialize(value);
  return { value: bytes.toBase64(), encoding: 1 };
}

function u64Bytes(n: bigint): Uint8Array<ArrayBuffer> {
  const b = new Uint8Array(8);
  new DataView(b.buffer).setBigUint64(0, n, true);
  return b;
}

async function deserialize(value: string, encoding: Encoding): Promise<unknown> {
  const bytes = Uint8Array.fromBase64(value);
  if (encoding === 3) return bytes;
  if (encoding === 2) return new KvU64(new DataView(bytes.buffer).getBigUint64(0, true));
  return (await loadV8()).deserialize(bytes);
}

async function toEntry(key: KvKeyPart[], e: WireEntry | null): Promise<KvEntryMaybe> {
  if (!e) return { key, value: null, versionstamp: null };
  return { key, value: await deserialize(e.value, e.encoding), versionstamp: e.versionstamp };
}

const b64 = (key: KvKey) => encodeKey(key).toBase64();

/** A refusal from the server, as Deno KV would throw it. */
function kvError(err: unknown): unknown {
  const e = err as { code?: string; message?: string };
  if (e?.code === "VALIDATION_FAILED" || e?.code === "LIMIT_EXCEEDED") {
    return new TypeError(e.message);
  }
  return err;
}

function after(key: Uint8Array): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(key.length + 1);
  out.set(key);
  return out;
}

function withByte(key: Uint8Array, b: number): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(key.length + 1);
  out.set(key);
  out[key.length] = b;
  return out;
}

/** `kv.list`'s iterator; `cursor` resumes after the last entry it gave. */
export class KvListIterator<T = unknown> implements AsyncIterableIterator<KvEntry<T>> {
  #kv: Kv;
  #start: Uint8Array;
  #end: Uint8Array;
  #left: number;
  #reverse: boolean;
  #batch: number;
  #buffer: KvEntry<T>[] = [];
  #done = false;
  /** Unset until the first entry (or the end) is reached, as in Deno. */
  #cursor: string | undefined;
  #base: Uint8Array;

  constructor(kv: Kv, selector: KvListSelector, opts: KvListOptions) {
    this.#kv = kv;
    const s = selector as { prefix?: KvKey; start?: KvKey; end?: KvKey };
    if (s.prefix && s.start && s.end) {
      throw new TypeError(
        "Selector can not specify both 'start' and 'end' key when specifying 'prefix'",
      );
    }
    const prefix = s.prefix ? encodeKey(s.prefix) : undefined;
    if (!prefix && (!s.start || !s.end)) {
      throw new TypeError("Selector must specify either 'prefix' or both 'start' and 'end' key");
    }
    this.#base = prefix ?? new Uint8Array();
    this.#start = s.start ? encodeKey(s.start) : withByte(prefix!, 0x00);
    this.#end = s.end ? encodeKey(s.end) : withByte(prefix!, 0xff);
    this.#reverse = opts.reverse === true;
    this.#left = opts.limit ?? Infinity;
    if (opts.limit !== undefined && (!Number.isInteger(opts.limit) || opts.limit < 1)) {
      throw new TypeError("limit must be a positive integer");
    }
    this.#batch = Math.min(opts.batchSize ?? 100, 1000);
    if (opts.cursor) {
      // The cursor is the last key given, after the prefix, in base64url.
      const last = new Uint8Array([
        ...this.#base,
        ...Uint8Array.fromBase64(opts.cursor, { alphabet: "base64url" }),
      ]);
      if (this.#reverse) this.#end = last;
      else this.#start = after(last);
      this.#cursor = opts.cursor;
    }
  }

  get cursor(): string {
    if (this.#cursor === undefined) throw new Error("Cannot get cursor before first iteration");
    return this.#cursor;
  }

  async next(): Promise<IteratorResult<KvEntry<T>, undefined>> {
    // Past the limit the cursor stays on the last entry (the next page's
    // start); at the end of the range it becomes "", as Deno's does.
    if (this.#left <= 0) return { done: true, value: undefined };
    if (this.#buffer.length === 0 && !this.#done) await this.#fill();
    const entry = this.#buffer.shift();
    if (!entry) {
      this.#cursor = "";
      return { done: true, value: undefined };
    }
    this.#left--;
    const bytes = encodeKey(entry.key);
    this.#cursor = bytes.subarray(this.#base.length).toBase64({
      alphabet: "base64url",
      omitPadding: true,
    });
    return { done: false, value: entry };
  }

  async #fill(): Promise<void> {
    const want = Math.min(this.#batch, this.#left);
    const rows = await this.#kv._call("denokv.range", [
      this.#start.toBase64(),
      this.#end.toBase64(),
      want,
      this.#reverse,
    ]) as WireEntry[];
    if (rows.length < want) this.#done = true;
    for (const r of rows) {
      const key = Uint8Array.fromBase64(r.key);
      if (this.#reverse) this.#end = key;
      else this.#start = after(key);
      this.#buffer.push(await toEntry(decodeKey(key), r) as KvEntry<T>);
    }
  }

  [Symbol.asyncIterator](): this {
    return this;
  }
}

type Mutation = {
  type: "set" | "delete" | "sum" | "min" | "max";
  key: KvKey;
  value?: unknown;
  expireIn?: number;
};

/** `kv.atomic()`: checks, mutations and messages committed together or not at all. */
export class AtomicOperation {
  #kv: Kv;
  #checks: { key: string; versionstamp: string | null }[] = [];
  #mutations: Promise<unknown>[] = [];
  #enqueues: Promise<unknown>[] = [];

  constructor(kv: Kv) {
    this.#kv = kv;
  }

  check(...checks: { key: KvKey; versionstamp: string | null }[]): this {
    for (const c of checks) this.#checks.push({ key: b64(c.key), versionstamp: c.versionstamp });
    return this;
  }

  mutate(...mutations: Mutation[]): this {
    for (const m of mutations) {
      const key = b64(m.key);
      switch (m.type) {
        case "delete":
          this.#mutations.push(Promise.resolve({ type: "delete", key }));
          break;
        case "set":
          this.#mutations.push(
            serialize(m.value).then((v) => ({ type: "set", key, ...v, expireIn: m.expireIn })),
          );
          break;
        case "sum":
        case "min":
        case "max": {
          if (!(m.value instanceof KvU64)) {
            throw new TypeError(`Cannot ${m.type} a value that is not a Deno.KvU64`);
          }
          this.#mutations.push(
            Promise.resolve({ type: m.type, key, value: u64Bytes(m.value.value).toBase64() }),
          );
          break;
        }
        default:
          throw new TypeError("Invalid mutation type");
      }
    }
    return this;
  }

  set(key: KvKey, value: unknown, opts?: { expireIn?: number }): this {
    return this.mutate({ type: "set", key, value, expireIn: opts?.expireIn });
  }

  delete(key: KvKey): this {
    return this.mutate({ type: "delete", key });
  }

  sum(key: KvKey, n: bigint): this {
    return this.mutate({ type: "sum", key, value: new KvU64(n) });
  }

  min(key: KvKey, n: bigint): this {
    return this.mutate({ type: "min", key, value: new KvU64(n) });
  }

  max(key: KvKey, n: bigint): this {
    return this.mutate({ type: "max", key, value: new KvU64(n) });
  }

  enqueue(
    value: unknown,
    opts?: { delay?: number; keysIfUndelivered?: KvKey[]; backoffSchedule?: number[] },
  ): this {
    const keys = opts?.keysIfUndelivered?.map(b64);
    // Queue messages are always V8-serialised, whatever their type.
    this.#enqueues.push(
      loadV8().then((v8) => ({
        payload: v8.serialize(value).toBase64(),
        delay: opts?.delay,
        keysIfUndelivered: keys,
        backoffSchedule: opts?.backoffSchedule,
      })),
    );
    return this;
  }

  async commit(): Promise<KvCommitResult | KvCommitError> {
    const mutations = await Promise.all(this.#mutations);
    const enqueues = await Promise.all(this.#enqueues);
    return await this.#kv._call("denokv.commit", [this.#checks, mutations, enqueues]) as
      | KvCommitResult
      | KvCommitError;
  }
}

/** Whether the app's code has called `listenQueue` (READY tells the server after loading). */
let queueListener = false;

/** Whether `listenQueue` was called, on any KV of the app. */
export function listensQueue(): boolean {
  return queueListener;
}

/** Only `openKvFor` makes a `Kv`: `new Deno.Kv()` in app code throws, as in Deno. */
const OPEN = Symbol("openKv");

/** One `Deno.Kv`. */
export class Kv {
  #call: KvTransport;
  #closed = false;
  #listening = false;
  #stops = new Set<() => void>();

  constructor(call: KvTransport, token?: symbol) {
    if (token !== OPEN) {
      throw new TypeError("Deno.Kv can not be constructed: use Deno.openKv instead");
    }
    this.#call = call;
  }

  /** @internal */
  async _call(op: OpName, args: unknown[]): Promise<unknown> {
    if (this.#closed) throw new Deno.errors.BadResource("Bad resource ID");
    try {
      return await this.#call(op, args);
    } catch (err) {
      throw kvError(err);
    }
  }

  async get<T = unknown>(key: KvKey, _opts?: { consistency?: string }): Promise<KvEntryMaybe<T>> {
    const [e] = await this._call("denokv.get", [[b64(key)]]) as (WireEntry | null)[];
    return await toEntry([...key], e) as KvEntryMaybe<T>;
  }

  async getMany<T extends readonly unknown[]>(
    keys: readonly KvKey[],
    _opts?: { consistency?: string },
  ): Promise<{ [K in keyof T]: KvEntryMaybe<T[K]> }> {
    if (keys.length > 10) throw new TypeError("Too many ranges (max 10)");
    const rows = await this._call("denokv.get", [keys.map(b64)]) as (WireEntry | null)[];
    return await Promise.all(rows.map((e, i) => toEntry([...keys[i]], e))) as never;
  }

  async set(key: KvKey, value: unknown, opts?: { expireIn?: number }): Promise<KvCommitResult> {
    return await this.atomic().set(key, value, opts).commit() as KvCommitResult;
  }

  async delete(key: KvKey): Promise<void> {
    await this.atomic().delete(key).commit();
  }

  list<T = unknown>(selector: KvListSelector, opts: KvListOptions = {}): KvListIterator<T> {
    return new KvListIterator<T>(this, selector, opts);
  }

  atomic(): AtomicOperation {
    return new AtomicOperation(this);
  }

  async enqueue(
    value: unknown,
    opts?: { delay?: number; keysIfUndelivered?: KvKey[]; backoffSchedule?: number[] },
  ): Promise<KvCommitResult> {
    return await this.atomic().enqueue(value, opts).commit() as KvCommitResult;
  }

  /**
   * Calls `handler` with each message as it becomes due; a handler that
   * throws gets the message again after its backoff. Resolves when the KV
   * is closed.
   */
  listenQueue(handler: (value: unknown) => unknown): Promise<void> {
    if (this.#listening) throw new TypeError("Already listening for queue messages");
    this.#listening = true;
    queueListener = true;
    return new Promise((resolve) => {
      let stopped = false;
      const stop = () => {
        stopped = true;
        resolve();
      };
      this.#stops.add(stop);
      const loop = async () => {
        while (!stopped) {
          let m: { id: number; payload: string } | null;
          try {
            m = await this._call("denokv.take", []) as typeof m;
          } catch {
            if (!stopped) stop();
            return;
          }
          if (!m || stopped) continue;
          let delivered = true;
          try {
            await handler(await deserialize(m.payload, 1));
          } catch (err) {
            delivered = false;
            console.error("queue handler failed:", err);
          }
          await this._call("denokv.settle", [m.id, delivered]).catch(() => {});
        }
      };
      loop();
    });
  }

  /** A stream that gives the entries of `keys` now, then again each time one of them changes. */
  watch<T extends readonly unknown[]>(
    keys: readonly KvKey[],
    _opts?: { raw?: boolean },
  ): ReadableStream<{ [K in keyof T]: KvEntryMaybe<T[K]> }> {
    if (keys.length > 10) throw new TypeError("Too many keys (max 10)");
    const encoded = keys.map(b64);
    let known: (string | null)[] | undefined;
    let cancelled = false;
    const stop = () => {
      cancelled = true;
    };
    this.#stops.add(stop);
    return new ReadableStream({
      pull: async (controller) => {
        for (;;) {
          if (cancelled) return controller.close();
          let rows: (WireEntry | null)[] | null;
          try {
            rows = known === undefined
              ? await this._call("denokv.get", [encoded]) as (WireEntry | null)[]
              : await this._call("denokv.watch", [encoded, known]) as (WireEntry | null)[] | null;
          } catch (err) {
            if (cancelled) return controller.close();
            return controller.error(err);
          }
          if (cancelled) return controller.close();
          if (!rows) continue;
          known = rows.map((r) => r?.versionstamp ?? null);
          controller.enqueue(
            await Promise.all(rows.map((e, i) => toEntry([...keys[i]], e))) as never,
          );
          return;
        }
      },
      cancel: () => {
        this.#stops.delete(stop);
        stop();
      },
    });
  }

  close(): void {
    if (this.#closed) return;
    for (const stop of this.#stops) stop();
    this.#stops.clear();
    // Waiting calls of this app return now instead of at their deadline.
    this.#call("denokv.release", []).catch(() => {});
    this.#closed = true;
  }

  [Symbol.dispose](): void {
    this.close();
  }
}

/**
 * `Deno.openKv` for the app: every KV it opens is the app's one store on
 * the node. A path (Deno's local file, or `:memory:`) is ignored, with a
 * log line saying so.
 */
export function openKvFor(call: KvTransport, warn: (line: string) => void) {
  return (path?: string): Promise<Kv> => {
    if (path !== undefined) {
      warn(`Deno.openKv(${JSON.stringify(path)}): the path is ignored; apps on fazt have one KV`);
    }
    return Promise.resolve(new Kv(call, OPEN));
  };
}

/**
 * Gives app code `Deno.openKv`, `Deno.KvU64` and the classes its values are
 * (`kv instanceof Deno.Kv`), as Deno's own `--unstable-kv` does.
 */
export function installKv(call: KvTransport, warn: (line: string) => void): void {
  const names = {
    openKv: openKvFor(call, warn),
    KvU64,
    Kv,
    AtomicOperation,
    KvListIterator,
  };
  for (const [name, value] of Object.entries(names)) {
    Object.defineProperty(Deno, name, { value, writable: false, configurable: false });
  }
}
