/**
 * The frame codec shared by the server, the app host's main thread and the
 * Worker bootstrap (which may import nothing outside this folder, so the
 * codec lives here and `runtime/protocol.ts` documents the frame set).
 *
 * A frame is `u32 length | u32 id | u8 type | u32 metaLength | meta | body`;
 * `length` counts the bytes after itself. Frames are encoded straight into
 * one outgoing buffer and written once per turn of the event loop; incoming
 * frames are decoded in place, only bodies are copied.
 * @module
 */

/** Every frame type; `runtime/protocol.ts` says who sends each and what its meta is. */
export const FRAME = {
  HELLO: 1,
  INIT: 2,
  READY: 3,
  FAILED: 4,
  REQUEST: 5,
  RESPONSE: 6,
  HEAD: 7,
  DATA: 8,
  END: 9,
  CREDIT: 10,
  CANCEL: 11,
  CALL: 12,
  RESULT: 13,
  LOG: 14,
  MEM: 15,
  JOB: 16,
  JOBDONE: 17,
  ACCEPT: 18,
  OPEN: 19,
  SLOT_ERROR: 20,
  SCALL: 21,
  SRESULT: 22,
  TICKET: 23,
  GRANT: 24,
  TERMINATE: 25,
  WSMSG: 26,
  WSCLOSE: 27,
  START: 28,
} as const;

export type FrameType = (typeof FRAME)[keyof typeof FRAME];

/**
 * The frame types whose meta is JSON (`runtime/protocol.ts` gives each its
 * shape: `UpMeta` and `DownMeta`); every other frame's meta is text lines.
 */
export type JsonFrameType =
  | typeof FRAME.HELLO
  | typeof FRAME.INIT
  | typeof FRAME.READY
  | typeof FRAME.FAILED
  | typeof FRAME.CALL
  | typeof FRAME.RESULT
  | typeof FRAME.LOG
  | typeof FRAME.JOB
  | typeof FRAME.ACCEPT
  | typeof FRAME.SCALL
  | typeof FRAME.SRESULT
  | typeof FRAME.START;

declare const jsonOf: unique symbol;

/**
 * The JSON meta of a frame of type `T`, as `frame_meta.ts` encodes it from
 * that frame's shape: a string the type checker tells apart from any other,
 * so no frame can carry some other JSON. It is a plain string at run time.
 */
export type JsonMeta<T extends JsonFrameType> = string & { readonly [jsonOf]: T };

/**
 * What `FrameWriter.frame` takes as the meta of a frame of type `T`: its
 * encoded JSON (READY's may be empty: the module registered nothing), or
 * text for the frames whose meta is lines.
 */
export type MetaText<T extends FrameType> = T extends typeof FRAME.READY ? JsonMeta<T> | ""
  : T extends JsonFrameType ? JsonMeta<T>
  : string;

/** Bytes before a frame's meta. */
export const HEADER_BYTES = 13;

/** Bytes a streamed body may have in flight before its reader grants more. */
export const STREAM_WINDOW = 256 * 1024;

/** A body of at most this many bytes goes in one frame; a larger one streams. */
export const INLINE_BODY_BYTES = 1024 * 1024;

/** The largest DATA chunk either side sends. */
export const CHUNK_BYTES = 64 * 1024;

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** What a frame writer writes to: a `Deno.Conn`, or anything that writes like one. */
export interface ByteSink {
  write(data: Uint8Array): Promise<number>;
}

const START = 64 * 1024;

/**
 * Queues frames in one buffer and writes them with one call per turn, or,
 * while a write is in flight, as soon as it finishes (double buffering).
 * `maxBuffered` bounds what may wait: a peer that stops reading must not
 * make its writer hold unbounded memory.
 */
export class FrameWriter {
  #buf = new Uint8Array(START);
  #spare: Uint8Array<ArrayBuffer> | undefined = new Uint8Array(START);
  #len = 0;
  #busy = false;
  #scheduled = false;
  #closed = false;
  #pump = () => {
    this.#scheduled = false;
    this.#flush();
  };

  /**
   * `schedule` runs the write after the frames queued now: by default at the
   * end of the current task (a microtask); the server passes `setImmediate`,
   * which runs once the event loop has handled every socket ready in this
   * turn, so the frames of many requests and storage results share one
   * write (and one wake-up of the Worker) instead of a write per task.
   */
  constructor(
    private sink: ByteSink,
    private onError: (err: unknown) => void,
    private maxBuffered = 64 * 1024 * 1024,
    private schedule: (run: () => void) => void = queueMicrotask,
  ) {}

  get closed(): boolean {
    return this.#closed;
  }

  /** Bytes queued and not yet handed to the sink. */
  get buffered(): number {
    return this.#len;
  }

  /**
   * Queues one frame; `meta` is text lines, or JSON encoded for this frame
   * type (`MetaText`), `body` bytes or text (encoded as UTF-8 straight into
   * the buffer).
   */
  frame<T extends FrameType>(
    id: number,
    type: T,
    meta: NoInfer<MetaText<T>>,
    body?: Uint8Array | string,
  ): void {
    if (this.#closed) return;
    const text = typeof body === "string";
    // Three bytes per UTF-16 unit is the most UTF-8 can need.
    const room = body === undefined ? 0 : text ? body.length * 3 : body.byteLength;
    this.#ensure(HEADER_BYTES + meta.length * 3 + room);
    if (this.#closed) return;
    const b = this.#buf;
    const at = this.#len;
    const metaLength = meta.length === 0
      ? 0
      : encoder.encodeInto(meta, b.subarray(at + HEADER_BYTES)).written;
    let bodyLength = 0;
    if (text) {
      bodyLength = encoder.encodeInto(body, b.subarray(at + HEADER_BYTES + metaLength)).written;
    } else if (body !== undefined && body.byteLength) {
      bodyLength = body.byteLength;
      b.set(body, at + HEADER_BYTES + metaLength);
    }
    const total = 9 + metaLength + bodyLength;
    b[at] = total >>> 24;
    b[at + 1] = total >>> 16;
    b[at + 2] = total >>> 8;
    b[at + 3] = total;
    b[at + 4] = id >>> 24;
    b[at + 5] = id >>> 16;
    b[at + 6] = id >>> 8;
    b[at + 7] = id;
    b[at + 8] = type;
    b[at + 9] = metaLength >>> 24;
    b[at + 10] = metaLength >>> 16;
    b[at + 11] = metaLength >>> 8;
    b[at + 12] = metaLength;
    this.#len = at + HEADER_BYTES + metaLength + bodyLength;
    if (!this.#busy && !this.#scheduled) {
      this.#scheduled = true;
      const schedule = this.schedule;
      schedule(this.#pump);
    }
  }

  #ensure(n: number): void {
    if (this.#len + n <= this.#buf.byteLength) return;
    if (this.#len + n > this.maxBuffered) {
      this.#fail(new Error("the peer is not reading its frames"));
      return;
    }
    const next = new Uint8Array(Math.max(this.#buf.byteLength * 2, this.#len + n + 1024));
    next.set(this.#buf.subarray(0, this.#len));
    this.#buf = next;
  }

  async #flush(): Promise<void> {
    if (this.#busy || this.#closed) return;
    this.#busy = true;
    try {
      while (this.#len && !this.#closed) {
        const full = this.#buf;
        const data = full.subarray(0, this.#len);
        this.#buf = this.#spare ?? new Uint8Array(START);
        this.#spare = undefined;
        this.#len = 0;
        let off = 0;
        while (off < data.byteLength) off += await this.sink.write(data.subarray(off));
        // Keep a modest buffer for the next swap; let a huge one go.
        this.#spare = full.byteLength <= 1024 * 1024 ? full : undefined;
      }
    } catch (err) {
      this.#fail(err);
    } finally {
      this.#busy = false;
    }
  }

  #fail(err: unknown): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#len = 0;
    this.onError(err);
  }

  /** Drops whatever is queued; later frames are ignored. */
  close(): void {
    this.#closed = true;
    this.#len = 0;
  }
}

/** A frame as decoded: `meta` is text, `body` a copy (or undefined when empty). */
export type FrameHandler = (
  id: number,
  type: number,
  meta: string,
  body: Bytes | undefined,
) => void;

/** Bytes that own their buffer (what `readFrames` hands out). */
export type Bytes = Uint8Array<ArrayBuffer>;

/** Thrown when a peer sends bytes that are not frames (or too large ones). */
export class MalformedFrame extends Error {}

/**
 * Reads frames until the source ends. `maxFrame(type)` is asked as soon as a
 * frame's header has arrived: a frame larger than its type allows is refused
 * before its bytes are buffered. Resolves on a clean end; rejects with
 * `MalformedFrame` on garbage.
 */
export async function readFrames(
  read: (into: Uint8Array) => Promise<number | null>,
  onFrame: FrameHandler,
  maxFrame: (type: number) => number,
): Promise<void> {
  let buf: Bytes = new Uint8Array(START * 4);
  let s = 0;
  let e = 0;
  for (;;) {
    if (buf.byteLength - e < START) {
      if (s > 0) {
        buf.copyWithin(0, s, e);
        e -= s;
        s = 0;
      }
      if (buf.byteLength - e < START) {
        const next = new Uint8Array(buf.byteLength * 2);
        next.set(buf.subarray(0, e));
        buf = next;
      }
    }
    const n = await read(buf.subarray(e));
    if (n === null) {
      if (s !== e) throw new MalformedFrame("the connection ended inside a frame");
      return;
    }
    e += n;
    while (e - s >= HEADER_BYTES) {
      const len = ((buf[s] << 24) | (buf[s + 1] << 16) | (buf[s + 2] << 8) | buf[s + 3]) >>> 0;
      const type = buf[s + 8];
      if (len < 9 || len > maxFrame(type)) throw new MalformedFrame("malformed frame");
      const metaLength =
        ((buf[s + 9] << 24) | (buf[s + 10] << 16) | (buf[s + 11] << 8) | buf[s + 12]) >>> 0;
      if (metaLength > len - 9) throw new MalformedFrame("malformed frame");
      if (e - s < 4 + len) {
        if (4 + len > buf.byteLength) {
          const next = new Uint8Array(4 + len + START);
          next.set(buf.subarray(s, e));
          e -= s;
          s = 0;
          buf = next;
        }
        break;
      }
      const id = ((buf[s + 4] << 24) | (buf[s + 5] << 16) | (buf[s + 6] << 8) | buf[s + 7]) >>> 0;
      const metaStart = s + HEADER_BYTES;
      const meta = metaLength
        ? decoder.decode(buf.subarray(metaStart, metaStart + metaLength))
        : "";
      const bodyStart = metaStart + metaLength;
      const end = s + 4 + len;
      const body = end > bodyStart ? buf.slice(bodyStart, end) : undefined;
      s = end;
      onFrame(id, type, meta, body);
    }
    if (s === e) {
      s = e = 0;
      // A large frame grew the buffer: give it back once it is drained.
      if (buf.byteLength > START * 16) buf = new Uint8Array(START * 4);
    }
  }
}

/** `name\nvalue\n…` pairs from `lines` starting at `from`, as a header list. */
export function headerPairs(lines: string[], from: number): [string, string][] {
  const out: [string, string][] = [];
  for (let i = from; i + 1 < lines.length; i += 2) out.push([lines[i], lines[i + 1]]);
  return out;
}
