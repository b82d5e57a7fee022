/**
 * The framing between the server and an app host process, over the child's
 * stdin and stdout. A frame is `u32 length | u32 id | u8 type | u32 metaLength
 * | meta (JSON) | body (bytes)`. Binary bodies travel as they are: no base64,
 * no per-request connection, many requests in flight on one pipe.
 *
 * This module is loaded by the app host too, so it imports nothing at run
 * time but `lib/bytes.ts` (the storage import below is a type).
 */
import { concatBytes } from "../lib/bytes.ts";
import type { Build, NewLogEntry } from "../storage/mod.ts";

export const FRAME = {
  /** server → host: code, permissions, env, limits */
  INIT: 1,
  /** host → server: the app's code loaded */
  READY: 2,
  /** server → host: an HTTP request */
  REQUEST: 3,
  /** host → server: its response */
  RESPONSE: 4,
  /** host → server: a storage call */
  CALL: 5,
  /** server → host: the call's result */
  RESULT: 6,
  /** host → server: log lines */
  LOG: 7,
  /** host → server: the app could not be loaded */
  FAILED: 8,
} as const;

export type FrameType = (typeof FRAME)[keyof typeof FRAME];

/**
 * Every storage operation an app can call: `bridge.ts` runs them on the
 * server, the Worker's `ctx` and `fazt.storage` call them.
 */
export type OpName =
  | "kv.get"
  | "kv.set"
  | "kv.delete"
  | "kv.list"
  | "kv.increment"
  | "docs.insert"
  | "docs.get"
  | "docs.find"
  | "docs.update"
  | "docs.delete"
  | "docs.count"
  | "blobs.put"
  | "blobs.get"
  | "blobs.delete"
  | "blobs.list"
  // The original's `fazt.storage.s3`: text in, base64 out.
  | "blobs.putText"
  | "blobs.getBase64";

/** One line of an app's log as it travels: the Worker, the host, the server, the store. */
export type LogLine = Omit<NewLogEntry, "appId">;

/** INIT: what the host needs to start the app's Worker. */
export interface InitMeta {
  style: Build["style"];
  code: string;
  scripts?: Record<string, string>;
  net: string[];
  env: Record<string, string>;
  app: { name: string };
  /** fazt's version, as `ctx.version`. */
  version: string;
  maxWorkers: number;
}

/** REQUEST: the request line and headers; the body is the frame's body. */
export interface RequestMeta {
  method: string;
  url: string;
  headers: [string, string][];
}

/** RESPONSE: status and headers; the body is the frame's body. */
export interface ResponseMeta {
  status: number;
  headers: [string, string][];
}

/** CALL: a storage operation; `blobs.put` sends its bytes as the frame's body. */
export interface CallMeta {
  op: OpName;
  args: unknown[];
}

/** A storage call's refusal, as the app sees it (`err.code`, `err.message`). */
export interface CallError {
  code: string;
  message: string;
}

/** RESULT: a call's value or error; `blobs.get` sends the bytes as the frame's body. */
export interface ResultMeta {
  value?: unknown;
  error?: CallError;
}

/** FAILED: why the app's code could not be loaded. */
export interface FailedMeta {
  message: string;
}

/** The meta each frame type carries. */
export interface FrameMeta {
  [FRAME.INIT]: InitMeta;
  [FRAME.READY]: null;
  [FRAME.REQUEST]: RequestMeta;
  [FRAME.RESPONSE]: ResponseMeta;
  [FRAME.CALL]: CallMeta;
  [FRAME.RESULT]: ResultMeta;
  [FRAME.LOG]: LogLine[];
  [FRAME.FAILED]: FailedMeta;
}

/** A frame as its sender means it; a union over `type`, so a switch narrows `meta`. */
export type Frame<T extends FrameType = FrameType> = {
  [K in T]: { id: number; type: K; meta: FrameMeta[K]; body: Uint8Array };
}[T];

/** What the server sends a host. */
export type ServerFrame = Frame<typeof FRAME.INIT | typeof FRAME.REQUEST | typeof FRAME.RESULT>;

/** What a host sends the server. */
export type HostFrame = Frame<
  | typeof FRAME.READY
  | typeof FRAME.RESPONSE
  | typeof FRAME.CALL
  | typeof FRAME.LOG
  | typeof FRAME.FAILED
>;

/**
 * A frame as it came off the pipe, before anyone vouches for it. App code
 * can post anything to its host, which relays it, so the server reads the
 * meta of host frames as this and checks every field.
 */
export interface RawFrame {
  id: number;
  type: number;
  meta: unknown;
  body: Uint8Array;
}

const HEADER = 13;
const encoder = new TextEncoder();
const decoder = new TextDecoder();

export function encodeFrame<T extends FrameType>(
  id: number,
  type: T,
  meta: FrameMeta[T],
  body?: Uint8Array,
): Uint8Array {
  const json = encoder.encode(meta === undefined ? "null" : JSON.stringify(meta));
  const bodyLength = body?.byteLength ?? 0;
  const out = new Uint8Array(HEADER + json.byteLength + bodyLength);
  const view = new DataView(out.buffer);
  view.setUint32(0, out.byteLength - 4);
  view.setUint32(4, id);
  out[8] = type;
  view.setUint32(9, json.byteLength);
  out.set(json, HEADER);
  if (body) out.set(body, HEADER + json.byteLength);
  return out;
}

/**
 * Reassembles frames from arbitrary chunks of a byte stream. `F` is what the
 * reader takes the frames to be: `ServerFrame` in a host, whose parent is
 * the server; `RawFrame` (the default) in the server, which trusts nothing
 * a host sends.
 */
export class FrameReader<F extends RawFrame | Frame = RawFrame> {
  #buf = new Uint8Array(0);
  #start = 0;
  #end = 0;

  constructor(readonly maxFrame = 256 * 1024 * 1024) {}

  push(chunk: Uint8Array): F[] {
    this.#append(chunk);
    const frames: F[] = [];
    while (this.#end - this.#start >= 4) {
      const view = new DataView(this.#buf.buffer, this.#buf.byteOffset + this.#start);
      const length = view.getUint32(0);
      if (length < HEADER - 4 || length > this.maxFrame) throw new Error("malformed frame");
      if (this.#end - this.#start < 4 + length) break;
      const id = view.getUint32(4);
      const type = this.#buf[this.#start + 8];
      const metaLength = view.getUint32(9);
      if (metaLength > length - (HEADER - 4)) throw new Error("malformed frame");
      const metaStart = this.#start + HEADER;
      const meta = JSON.parse(
        decoder.decode(this.#buf.subarray(metaStart, metaStart + metaLength)),
      );
      // Copy the body: the buffer is reused for later chunks.
      const body = this.#buf.slice(metaStart + metaLength, this.#start + 4 + length);
      frames.push({ id, type, meta, body } as F);
      this.#start += 4 + length;
    }
    if (this.#start === this.#end) this.#start = this.#end = 0;
    return frames;
  }

  #append(chunk: Uint8Array): void {
    if (this.#end + chunk.byteLength > this.#buf.byteLength) {
      const live = this.#end - this.#start;
      const size = Math.max(this.#buf.byteLength, 64 * 1024, (live + chunk.byteLength) * 2);
      const next = new Uint8Array(size);
      next.set(this.#buf.subarray(this.#start, this.#end));
      this.#buf = next;
      this.#start = 0;
      this.#end = live;
    }
    this.#buf.set(chunk, this.#end);
    this.#end += chunk.byteLength;
  }
}

/**
 * Queues frames and writes them in one system call per task, so the frames
 * a task makes (a batch of responses, a burst of requests read together)
 * cost one write, not one each. Flushing on a timer instead, to gather
 * several tasks, was measured at a third of the requests/s: a timer waits
 * for the next turn of the event loop.
 */
export class FrameWriter {
  #queue: Uint8Array[] = [];
  #scheduled = false;
  #closed = false;

  constructor(
    private writer: WritableStreamDefaultWriter<Uint8Array>,
    private onError: (e: unknown) => void,
  ) {}

  send(frame: Uint8Array): void {
    if (this.#closed) return;
    this.#queue.push(frame);
    if (!this.#scheduled) {
      this.#scheduled = true;
      queueMicrotask(() => this.#flush());
    }
  }

  #flush(): void {
    this.#scheduled = false;
    if (this.#closed || this.#queue.length === 0) return;
    // One frame goes as it is; several are joined into one buffer, one write.
    const data = this.#queue.length === 1 ? this.#queue[0] : concatBytes(this.#queue);
    this.#queue = [];
    this.writer.write(data).catch((e) => {
      this.#closed = true;
      this.onError(e);
    });
  }

  close(): void {
    this.#closed = true;
    this.writer.close().catch(() => {});
  }
}
