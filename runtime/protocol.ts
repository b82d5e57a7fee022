/**
 * The framing between the server and an app host process, over the child's
 * stdin and stdout. A frame is `u32 length | u32 id | u8 type | u32 metaLength
 * | meta (JSON) | body (bytes)`. Binary bodies travel as they are: no base64,
 * no per-request connection, many requests in flight on one pipe.
 *
 * This module is loaded by the app host too, so it imports nothing.
 */
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

export interface Frame {
  id: number;
  type: number;
  meta: unknown;
  body: Uint8Array;
}

const HEADER = 13;
const encoder = new TextEncoder();
const decoder = new TextDecoder();

export function encodeFrame(
  id: number,
  type: number,
  meta: unknown,
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

/** Reassembles frames from arbitrary chunks of a byte stream. */
export class FrameReader {
  #buf = new Uint8Array(0);
  #start = 0;
  #end = 0;

  constructor(readonly maxFrame = 256 * 1024 * 1024) {}

  push(chunk: Uint8Array): Frame[] {
    this.#append(chunk);
    const frames: Frame[] = [];
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
      frames.push({ id, type, meta, body });
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
  #size = 0;
  #scheduled = false;
  #closed = false;

  constructor(
    private writer: WritableStreamDefaultWriter<Uint8Array>,
    private onError: (e: unknown) => void,
  ) {}

  send(frame: Uint8Array): void {
    if (this.#closed) return;
    this.#queue.push(frame);
    this.#size += frame.byteLength;
    if (!this.#scheduled) {
      this.#scheduled = true;
      queueMicrotask(() => this.#flush());
    }
  }

  #flush(): void {
    this.#scheduled = false;
    if (this.#closed || this.#queue.length === 0) return;
    let data: Uint8Array;
    if (this.#queue.length === 1) data = this.#queue[0];
    else {
      data = new Uint8Array(this.#size);
      let at = 0;
      for (const f of this.#queue) {
        data.set(f, at);
        at += f.byteLength;
      }
    }
    this.#queue = [];
    this.#size = 0;
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
