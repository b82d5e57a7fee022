/**
 * One app's connection, seen from the server: the Worker that runs the app
 * owns the other end. Requests go out as frames and come back as responses,
 * whole or streamed; storage calls come in and are answered; log lines and
 * memory reports arrive. Every frame from the app is checked: app code can
 * write anything to its own connection.
 * @module
 */
import { type CallResult, resultJson } from "./bridge.ts";
import { problem, type RuntimeErrorCode } from "./problem.ts";
import {
  type CallMeta,
  CHUNK_BYTES,
  type Claimed,
  FRAME,
  type FrameType,
  type InitMeta,
  INLINE_BODY_BYTES,
  type JobMeta,
  type LogLine,
  STREAM_WINDOW,
} from "./protocol.ts";
import type { Peer } from "./host_socket.ts";
import { encodeDown, parseUp } from "./worker/frame_meta.ts";
import type { Bytes, FrameWriter } from "./worker/frames.ts";

export interface ChannelLimits {
  timeoutMs: number;
  streamMaxMs: number;
  maxBodyBytes: number;
  maxResponseBytes: number;
  /** The largest WebSocket message either way; a client's larger one closes its socket (1009). */
  wsMaxMessageBytes: number;
}

export interface ChannelEvents {
  /** `op` and `args` as the app sent them: the bridge checks them. */
  call(op: unknown, args: unknown, body: Uint8Array): Promise<CallResult>;
  log(entries: LogLine[]): void;
  /** A request got no answer in time: the app is stuck and its host must go. */
  timedOut(): void;
  /** The app reported its heap and external bytes. */
  memory(bytes: number): void;
  /** The connection ended: the Worker (or its host) is gone, or broke the protocol. */
  closed(err?: unknown): void;
  /**
   * The app accepted a WebSocket on `req`: "limit" refuses it (the app's
   * cap), "unavailable" too (the connection it came on cannot hold one).
   */
  socketOpening(req: Request): "ok" | "limit" | "unavailable";
  /** The socket upgraded from `req` is open: call the answer once it closes. */
  socketHeld(req: Request): () => void;
  /** One of the app's WebSockets closed. */
  socketClosed(): void;
}

interface Pending {
  /** Set until the app answers (RESPONSE or HEAD). */
  resolve?: (res: Response) => void;
  /** When this request next must hear from the app. */
  due: number;
  /** The end of a stream's total time. */
  streamEnd?: number;
  stream?: ReadableStreamDefaultController<Uint8Array>;
  /** Response bytes received. */
  bytes: number;
  /** Response bytes taken by the client, not yet granted back. */
  unacked: number;
  /** A request body being sent. */
  upload?: Upload;
  /** The client's request, kept while it may still be upgraded to a WebSocket. */
  req?: Request;
}

interface Upload {
  reader: ReadableStreamDefaultReader<Uint8Array>;
  window: number;
  wake?: () => void;
  done: boolean;
}

const MAX_BLOB = 50 * 1024 * 1024;
const MIB = 1024 * 1024;

/** The largest frame of each type an app may send. */
function maxFrame(type: number): number {
  switch (type) {
    case FRAME.CALL:
      return MAX_BLOB + MIB;
    case FRAME.RESPONSE:
    case FRAME.HEAD:
      return INLINE_BODY_BYTES + 256 * 1024;
    case FRAME.DATA:
      return CHUNK_BYTES + 1024;
    case FRAME.LOG:
    case FRAME.FAILED:
      return 10 * MIB;
    default:
      return 64 * 1024;
  }
}

const LEVELS: ReadonlySet<unknown> = new Set(["debug", "info", "warn", "error"]);

/** Log lines as the app sent them, made well-formed: it may send anything. */
export function logLines(entries: unknown[]): LogLine[] {
  return entries.map((entry) => {
    const e = entry as Partial<Record<keyof LogLine, unknown>> | null | undefined;
    return {
      level: LEVELS.has(e?.level) ? e!.level as LogLine["level"] : "info",
      message: String(e?.message ?? ""),
      at: Number.isFinite(e?.at) ? e!.at as number : Date.now(),
    };
  });
}

const headerCache = new Map<string, Headers>();
const decoder = new TextDecoder();
const encoder = new TextEncoder();

/** Frames queued to the app past which a client's message closes its socket (1013). */
const SOCKET_BACKLOG = 16 * 1024 * 1024;

function utf8(text: string): number {
  return encoder.encode(text).byteLength;
}

/** Closes a socket that may already be closing (Deno throws then). */
function closeQuietly(socket: WebSocket, code: number, reason: string): void {
  try {
    socket.close(code, reason);
  } catch {
    // Already closing or closed.
  }
}

/** Headers from `name\nvalue…` text, one object per distinct text (copied by each Response). */
function headersOf(text: string): Headers {
  let h = headerCache.get(text);
  if (!h) {
    const parts = text === "" ? [] : text.split("\n");
    if (parts.length % 2) throw new TypeError("odd header list");
    const list: [string, string][] = [];
    for (let i = 0; i < parts.length; i += 2) list.push([parts[i], parts[i + 1]]);
    h = new Headers(list);
    if (headerCache.size >= 1000) headerCache.clear();
    headerCache.set(text, h);
  }
  return h;
}

export class AppChannel implements Peer {
  /** Heap and external bytes the app last reported. */
  memory = 0;
  /** When a request last started or ended (for "busy within the last second"). */
  lastActivity = Date.now();
  #pending = new Map<number, Pending>();
  #nextId = 1;
  /** Clients' WebSockets the app holds, by the id of the request that upgraded. */
  #sockets = new Map<number, WebSocket>();
  /** What to call when each socket closes (the front door stops counting its connection). */
  #releases = new Map<number, () => void>();
  #timer: ReturnType<typeof setTimeout> | undefined;
  #timerAt = Infinity;
  #ready: ((err?: Error) => void) | undefined;
  /** What READY said: the jobs the app's code registered with `Deno.cron`. */
  #codeCrons: unknown[] = [];
  /** What READY said: whether the app's code called `listenQueue` while it loaded. */
  #listensQueue = false;
  #closed = false;
  #loaded = false;

  constructor(
    private out: FrameWriter,
    private limits: ChannelLimits,
    private events: ChannelEvents,
  ) {}

  get inflight(): number {
    return this.#pending.size;
  }

  #release(id: number): void {
    this.#releases.get(id)?.();
    this.#releases.delete(id);
  }

  /** WebSockets open now. */
  get sockets(): number {
    return this.#sockets.size;
  }

  get closed(): boolean {
    return this.#closed;
  }

  /**
   * Whether the app's module has loaded (READY came back). Until then the
   * Worker has no handler: a request sent to it is answered by its
   * placeholder, a plain-text 503.
   */
  get loaded(): boolean {
    return this.#loaded;
  }

  maxFrame(type: number): number {
    return type === FRAME.WSMSG ? this.limits.wsMaxMessageBytes + 1024 : maxFrame(type);
  }

  /**
   * Gives the waiting Worker its app; resolves when it is loaded, with the
   * jobs its code registered (as the app sent them: the caller checks them)
   * and whether it listens on its queue.
   */
  init(meta: InitMeta): Promise<{ crons: unknown[]; queue: boolean }> {
    return new Promise((resolve, reject) => {
      this.#ready = (err) =>
        err ? reject(err) : resolve({ crons: this.#codeCrons, queue: this.#listensQueue });
      this.out.frame(0, FRAME.INIT, encodeDown(FRAME.INIT, meta));
    });
  }

  onFrame(id: number, type: FrameType, meta: string, body: Bytes | undefined): void {
    switch (type) {
      case FRAME.RESPONSE:
        return this.#onResponse(id, meta, body);
      case FRAME.HEAD:
        return this.#onHead(id, meta);
      case FRAME.DATA:
        return this.#onData(id, body);
      case FRAME.END:
        return this.#onEnd(id, meta);
      case FRAME.CREDIT:
        return this.#onCredit(id, meta);
      case FRAME.CANCEL:
        return this.#stopUpload(id);
      case FRAME.CALL:
        return this.#onCall(id, meta, body);
      case FRAME.LOG: {
        let lines: unknown;
        try {
          lines = parseUp(FRAME.LOG, meta);
        } catch {
          throw new Error("a malformed log frame");
        }
        if (Array.isArray(lines)) this.events.log(logLines(lines.slice(0, 1000)));
        return;
      }
      case FRAME.MEM: {
        const [heap, external] = meta.split(" ").map(Number);
        if (Number.isFinite(heap) && Number.isFinite(external)) {
          this.memory = heap + external;
          this.events.memory(this.memory);
        }
        return;
      }
      case FRAME.JOBDONE:
        return this.#onJobDone(id, meta);
      case FRAME.ACCEPT:
        return this.#onAccept(id, meta);
      case FRAME.WSMSG:
        return this.#onSocketMessage(id, meta, body);
      case FRAME.WSCLOSE:
        return this.#onSocketClose(id, meta);
      case FRAME.READY:
        if (meta) {
          try {
            const said = parseUp(FRAME.READY, meta);
            if (Array.isArray(said?.crons)) this.#codeCrons = said.crons.slice(0, 100);
            this.#listensQueue = said?.queue === true;
          } catch {
            throw new Error("a malformed READY frame");
          }
        }
        this.#loaded = true;
        this.#ready?.();
        this.#ready = undefined;
        return;
      case FRAME.FAILED: {
        let message = "unknown error";
        try {
          message = String(parseUp(FRAME.FAILED, meta)?.message ?? message);
        } catch {
          // Keep the default.
        }
        this.events.log([{
          level: "error",
          message: `the app failed to load: ${message}`,
          at: Date.now(),
        }]);
        this.#ready?.(new Error("the app failed to load"));
        this.#ready = undefined;
        return;
      }
      default:
        throw new Error(`an unexpected frame type ${type}`);
    }
  }

  onClose(err?: unknown): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#ready?.(new Error("the app's Worker is gone"));
    this.#ready = undefined;
    this.events.closed(err);
  }

  /** Sends a request; resolves with the app's answer or an error response. */
  request(req: Request, inline: Uint8Array | undefined): Promise<Response> {
    const id = this.#nextId++;
    if (this.#nextId > 0x7fffffff) this.#nextId = 1;
    const streamed = inline === undefined && req.method !== "GET" && req.method !== "HEAD" &&
      req.body !== null;
    let meta = req.method + "\n" + req.url + (streamed ? "\n1" : "\n0");
    req.headers.forEach((v, k) => {
      meta += "\n" + k + "\n" + v;
    });
    this.lastActivity = Date.now();
    return new Promise<Response>((resolve) => {
      const p: Pending = { resolve, due: Date.now() + this.limits.timeoutMs, bytes: 0, unacked: 0 };
      if (req.method === "GET" && req.headers.has("upgrade")) p.req = req;
      this.#pending.set(id, p);
      this.#arm(p.due);
      this.out.frame(id, FRAME.REQUEST, meta, inline);
      if (streamed) this.#upload(id, p, req.body!);
    });
  }

  /**
   * Runs a scheduled job under the request
   * deadline: 204 when it finished, 500 with the reason when it failed, and
   * the answers a request would get when it timed out (504, the host is
   * killed) or the app went away (502, 503).
   */
  job(job: JobMeta): Promise<Response> {
    const id = this.#nextId++;
    if (this.#nextId > 0x7fffffff) this.#nextId = 1;
    this.lastActivity = Date.now();
    return new Promise<Response>((resolve) => {
      const p: Pending = { resolve, due: Date.now() + this.limits.timeoutMs, bytes: 0, unacked: 0 };
      this.#pending.set(id, p);
      this.#arm(p.due);
      this.out.frame(id, FRAME.JOB, encodeDown(FRAME.JOB, job));
    });
  }

  #onJobDone(id: number, meta: string): void {
    const p = this.#pending.get(id);
    if (!p?.resolve) return;
    this.#finish(id, p);
    p.resolve(
      meta
        ? new Response(meta.slice(0, 2000), { status: 500 })
        : new Response(null, { status: 204 }),
    );
  }

  /**
   * ACCEPT: the app answered with `Deno.upgradeWebSocket`'s response. The
   * client's request is upgraded here and its messages relayed; a refusal
   * (the app's cap, a request that cannot be upgraded) answers the client
   * and closes the app's socket.
   */
  #onAccept(id: number, meta: string): void {
    const p = this.#pending.get(id);
    if (!p?.resolve) return;
    const resolve = p.resolve;
    this.#finish(id, p);
    const refuse = (res: Response, code: number, reason: string) => {
      this.out.frame(id, FRAME.WSCLOSE, `${code}\n${reason}`);
      resolve(res);
    };
    if (!p.req) {
      return refuse(
        problem(400, "BAD_REQUEST", "This request cannot be upgraded to a WebSocket"),
        1002,
        "not a WebSocket request",
      );
    }
    let protocol: string | undefined;
    try {
      const asked = parseUp(FRAME.ACCEPT, meta)?.protocol;
      if (typeof asked === "string" && asked !== "") protocol = asked.slice(0, 200);
    } catch {
      // No protocol.
    }
    const room = this.events.socketOpening(p.req);
    if (room === "unavailable") {
      this.events.log([{
        level: "warn",
        message: "a WebSocket was refused: it came on a connection that could not hold one " +
          "(the node routes this app's next ones so that they can)",
        at: Date.now(),
      }]);
      return refuse(
        problem(
          503,
          "WEBSOCKETS_UNAVAILABLE",
          "This connection cannot hold a WebSocket; connect again",
          { "retry-after": "1" },
        ),
        1013,
        "connect again",
      );
    }
    if (room === "limit") {
      return refuse(
        problem(503, "APP_WEBSOCKET_LIMIT", "The app has as many WebSockets open as it may", {
          "retry-after": "5",
        }),
        1013,
        "too many sockets (app_max_websockets)",
      );
    }
    let upgraded: { socket: WebSocket; response: Response };
    try {
      upgraded = Deno.upgradeWebSocket(p.req, protocol ? { protocol } : {});
    } catch {
      this.events.socketClosed();
      return refuse(
        problem(400, "BAD_REQUEST", "This request cannot be upgraded to a WebSocket"),
        1002,
        "not a WebSocket request",
      );
    }
    const socket = upgraded.socket;
    socket.binaryType = "arraybuffer";
    this.#sockets.set(id, socket);
    this.#releases.set(id, this.events.socketHeld(p.req));
    socket.onopen = () => this.out.frame(id, FRAME.OPEN, "");
    socket.onmessage = (e) => {
      this.lastActivity = Date.now();
      const text = typeof e.data === "string";
      const max = this.limits.wsMaxMessageBytes;
      // UTF-8 takes at most three bytes per UTF-16 unit: most texts need no count.
      const bytes = !text
        ? (e.data as ArrayBuffer).byteLength
        : e.data.length * 3 <= max
        ? 0
        : utf8(e.data);
      // Deno has read the whole message: the limit is checked on what arrived.
      if (bytes > max) {
        this.events.log([{
          level: "warn",
          message: `a WebSocket message of ${bytes} bytes was refused (app_ws_max_message_bytes ` +
            `${this.limits.wsMaxMessageBytes}): socket closed with 1009`,
          at: Date.now(),
        }]);
        return closeQuietly(socket, 1009, "message too large");
      }
      if (this.out.buffered > SOCKET_BACKLOG) {
        // The app is not keeping up: this client waits no longer.
        return closeQuietly(socket, 1013, "the app is not keeping up");
      }
      this.out.frame(id, FRAME.WSMSG, text ? "t" : "b", text ? e.data : new Uint8Array(e.data));
    };
    socket.onclose = (e) => {
      if (this.#sockets.get(id) !== socket) return;
      this.#sockets.delete(id);
      this.#release(id);
      this.events.socketClosed();
      this.out.frame(id, FRAME.WSCLOSE, `${e.code}\n${e.reason}`);
    };
    socket.onerror = () => {};
    resolve(upgraded.response);
  }

  #onSocketMessage(id: number, meta: string, body: Bytes | undefined): void {
    const socket = this.#sockets.get(id);
    if (!socket || socket.readyState !== WebSocket.OPEN) return;
    this.lastActivity = Date.now();
    const bytes = body ?? new Uint8Array();
    socket.send(meta === "t" ? decoder.decode(bytes) : bytes);
  }

  #onSocketClose(id: number, meta: string): void {
    const socket = this.#sockets.get(id);
    if (!socket) return;
    const nl = meta.indexOf("\n");
    let code = Number(nl < 0 ? meta : meta.slice(0, nl));
    if (code !== 1000 && !(code >= 3000 && code <= 4999)) code = 1000;
    closeQuietly(socket, code, nl < 0 ? "" : meta.slice(nl + 1, nl + 124));
  }

  /**
   * Closes every WebSocket with `code` (1012: the app restarts; 1011: it
   * failed; 1001: the node stops) and says why in the app's log.
   */
  closeSockets(code: number, why: string): void {
    if (this.#sockets.size === 0) return;
    const n = this.#sockets.size;
    for (const [id, socket] of this.#sockets) {
      this.#sockets.delete(id);
      this.#release(id);
      this.events.socketClosed();
      closeQuietly(socket, code, why.slice(0, 123));
    }
    this.events.log([{
      level: code === 1011 ? "error" : "info",
      message: `${n} WebSocket(s) closed with ${code}: ${why}`,
      at: Date.now(),
    }]);
  }

  /** How a request body too large for one frame reaches the app, counted as it goes. */
  async #upload(id: number, p: Pending, body: ReadableStream<Uint8Array>): Promise<void> {
    const up: Upload = { reader: body.getReader(), window: STREAM_WINDOW, done: false };
    p.upload = up;
    let total = 0;
    try {
      for (;;) {
        const r = await up.reader.read();
        if (up.done) return;
        if (r.done) break;
        total += r.value.byteLength;
        if (total > this.limits.maxBodyBytes) {
          this.out.frame(id, FRAME.END, "the request body is too large");
          up.done = true;
          up.reader.cancel().catch(() => {});
          const max = this.limits.maxBodyBytes;
          return this.#answer(
            id,
            problem(413, "PAYLOAD_TOO_LARGE", `The request body is larger than ${max} bytes`),
          );
        }
        for (let at = 0; at < r.value.byteLength; at += CHUNK_BYTES) {
          while (up.window <= 0 && !up.done) await new Promise<void>((w) => (up.wake = w));
          if (up.done) return;
          const piece = r.value.subarray(at, Math.min(r.value.byteLength, at + CHUNK_BYTES));
          up.window -= piece.byteLength;
          this.out.frame(id, FRAME.DATA, "", piece);
        }
      }
      if (!up.done) this.out.frame(id, FRAME.END, "");
    } catch {
      if (!up.done) this.out.frame(id, FRAME.END, "the client's request body failed");
    }
    up.done = true;
  }

  #stopUpload(id: number): void {
    const up = this.#pending.get(id)?.upload;
    if (!up || up.done) return;
    up.done = true;
    up.wake?.();
    up.reader.cancel().catch(() => {});
  }

  /** Answers the client in the app's place (413, a limit) and tells the app to stop. */
  #answer(id: number, res: Response): void {
    const p = this.#pending.get(id);
    if (!p) return;
    if (p.resolve) {
      p.resolve(res);
      p.resolve = undefined;
    }
    this.#finish(id, p);
    this.out.frame(id, FRAME.CANCEL, "");
  }

  #finish(id: number, p: Pending): void {
    this.#pending.delete(id);
    this.lastActivity = Date.now();
    if (p.upload && !p.upload.done) {
      p.upload.done = true;
      p.upload.wake?.();
      p.upload.reader.cancel().catch(() => {});
    }
  }

  /** Status and headers from a RESPONSE or HEAD, or the 502 the app earned. */
  #head(meta: string): { status: number; headers: Headers } | Response {
    const nl = meta.indexOf("\n");
    const status = Number(nl < 0 ? meta : meta.slice(0, nl));
    if (!Number.isInteger(status) || status < 200 || status > 599) {
      return problem(502, "APP_BAD_RESPONSE", "The app returned an invalid response");
    }
    try {
      return { status, headers: headersOf(nl < 0 ? "" : meta.slice(nl + 1)) };
    } catch {
      return problem(502, "APP_BAD_RESPONSE", "The app returned invalid headers");
    }
  }

  #onResponse(id: number, meta: string, body: Bytes | undefined): void {
    const p = this.#pending.get(id);
    if (!p?.resolve) return;
    this.#finish(id, p);
    if ((body?.byteLength ?? 0) > this.limits.maxResponseBytes) {
      return p.resolve(problem(502, "APP_RESPONSE_TOO_LARGE", "The app's response is too large"));
    }
    const head = this.#head(meta);
    if (head instanceof Response) return p.resolve(head);
    const nullBody = head.status === 204 || head.status === 205 || head.status === 304;
    p.resolve(new Response(nullBody ? null : body ?? null, head));
  }

  #onHead(id: number, meta: string): void {
    const p = this.#pending.get(id);
    if (!p?.resolve) return;
    const resolve = p.resolve;
    p.resolve = undefined;
    const now = Date.now();
    p.streamEnd = now + this.limits.streamMaxMs;
    p.due = Math.min(now + this.limits.timeoutMs, p.streamEnd);
    const body = new ReadableStream<Uint8Array>({
      start: (c) => {
        p.stream = c;
      },
      pull: () => {
        // The client drained the queue: grant back what it took.
        if (p.unacked > 0 && this.#pending.get(id) === p) {
          this.out.frame(id, FRAME.CREDIT, String(p.unacked));
          p.unacked = 0;
        }
      },
      cancel: () => {
        if (this.#pending.get(id) !== p) return;
        this.#finish(id, p);
        this.out.frame(id, FRAME.CANCEL, "");
      },
    }, { highWaterMark: STREAM_WINDOW, size: (c) => c.byteLength });
    const head = this.#head(meta);
    if (head instanceof Response) {
      // A head the app got wrong: answer for it and stop its stream.
      this.#finish(id, p);
      this.out.frame(id, FRAME.CANCEL, "");
      return resolve(head);
    }
    const nullBody = head.status === 204 || head.status === 205 || head.status === 304;
    resolve(new Response(nullBody ? null : body, head));
  }

  #onData(id: number, body: Bytes | undefined): void {
    const p = this.#pending.get(id);
    const c = p?.stream;
    if (!p || !c || !body) return;
    p.bytes += body.byteLength;
    if (p.bytes > this.limits.maxResponseBytes) {
      // Counted as it arrives: past the limit the client's stream ends here.
      this.#finish(id, p);
      this.out.frame(id, FRAME.CANCEL, "");
      c.error(new Error("the app's response is too large"));
      this.events.log([{
        level: "error",
        message: `response cut at ${this.limits.maxResponseBytes} bytes (app_max_response_bytes)`,
        at: Date.now(),
      }]);
      return;
    }
    p.due = Math.min(Date.now() + this.limits.timeoutMs, p.streamEnd!);
    c.enqueue(body);
    p.unacked += body.byteLength;
    if ((c.desiredSize ?? 0) > 0) {
      this.out.frame(id, FRAME.CREDIT, String(p.unacked));
      p.unacked = 0;
    }
  }

  #onEnd(id: number, meta: string): void {
    const p = this.#pending.get(id);
    const c = p?.stream;
    if (!p || !c) return;
    this.#finish(id, p);
    if (meta) c.error(new Error(meta.slice(0, 200)));
    else c.close();
  }

  #onCredit(id: number, meta: string): void {
    const up = this.#pending.get(id)?.upload;
    const n = Number(meta);
    if (!up || !Number.isSafeInteger(n) || n <= 0) return;
    up.window += n;
    up.wake?.();
    up.wake = undefined;
  }

  #onCall(id: number, meta: string, body: Bytes | undefined): void {
    let m: Claimed<CallMeta> = null;
    try {
      m = parseUp(FRAME.CALL, meta);
    } catch {
      // Answered below as a refused call.
    }
    this.events.call(m?.op, m?.args, body ?? new Uint8Array()).then((r) => {
      if (this.#closed) return;
      this.out.frame(id, FRAME.RESULT, resultJson(FRAME.RESULT, r), r.body);
    });
  }

  /** One timer for every deadline of this app: it is armed for the earliest. */
  #arm(at: number): void {
    if (this.#closed || at >= this.#timerAt) return;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timerAt = at;
    this.#timer = setTimeout(() => this.#check(), Math.max(0, at - Date.now()) + 1);
  }

  #check(): void {
    this.#timer = undefined;
    this.#timerAt = Infinity;
    const now = Date.now();
    let next = Infinity;
    let stuck = false;
    for (const [id, p] of this.#pending) {
      if (p.due > now) {
        next = Math.min(next, p.due);
        continue;
      }
      if (p.resolve) {
        // No answer in time: code stuck in a loop can only be killed.
        this.#finish(id, p);
        p.resolve(problem(
          504,
          "APP_TIMEOUT",
          `The app did not answer within ${this.limits.timeoutMs} ms`,
        ));
        stuck = true;
      } else if (p.stream) {
        // A stream that stalled or ran past its total time ends here.
        this.#finish(id, p);
        this.out.frame(id, FRAME.CANCEL, "");
        const tooLong = p.streamEnd !== undefined && now >= p.streamEnd;
        p.stream.error(new Error(tooLong ? "the stream ran too long" : "the stream stalled"));
        this.events.log([{
          level: "warn",
          message: tooLong
            ? `stream ended after ${this.limits.streamMaxMs} ms (app_stream_max_ms)`
            : `stream ended: no data for ${this.limits.timeoutMs} ms`,
          at: now,
        }]);
      }
    }
    if (stuck) {
      this.events.log([{
        level: "error",
        message: `request timed out after ${this.limits.timeoutMs} ms; host restarted`,
        at: now,
      }]);
      return this.events.timedOut();
    }
    if (next < Infinity) this.#arm(next);
  }

  /** Ends every request in flight with an error answer (the app's host is going). */
  fail(status: number, code: RuntimeErrorCode, message: string): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#timerAt = Infinity;
    for (const [id, p] of this.#pending) {
      this.#finish(id, p);
      p.resolve?.(problem(status, code, message, { "retry-after": "1" }));
      p.stream?.error(new Error(message));
    }
  }

  /** Stops talking to the app: its Worker is being ended. */
  close(): void {
    this.out.close();
    this.onClose();
  }
}
