/**
 * Requests in, responses out, on the Worker's connection. The hot path is
 * short: a GET becomes `new Request(url)` with its headers appended (an
 * init dictionary costs more than the rest of the request), and a response
 * whose body is already complete (a string, bytes, JSON) goes back as one
 * RESPONSE frame without ever touching `res.body` (whose getter builds a
 * stream). Any other body streams: HEAD at once, then DATA within the
 * credit the server grants, then END; CANCEL (the client went away, or the
 * response passed its limit) stops the app's stream and aborts
 * `req.signal`. Request bodies that stream arrive as DATA frames, the
 * Worker granting credit as the app reads.
 * @module
 */
import { problem } from "../problem.ts";
import { CHUNK_BYTES, FRAME, headerPairs, INLINE_BODY_BYTES, STREAM_WINDOW } from "./frames.ts";
import type { Bytes } from "./frames.ts";
import { link } from "./link.ts";
import { accept, markUpgradable } from "./websocket.ts";

/** What the bootstrap gives this module: the app's handler and how to log. */
export interface Handler {
  (req: Request): unknown;
}

interface Live {
  /** Made when the app first reads `req.signal`. */
  abort?: AbortController;
  cancelled: boolean;
  /** Response bytes the server will still take. */
  credit: number;
  wake?: () => void;
  /** A streamed request body. */
  body?: ReadableStreamDefaultController<Uint8Array>;
  /** The reader of a streamed response, cancelled with it. */
  reader?: ReadableStreamDefaultReader<Uint8Array>;
  received: number;
  granted: number;
}

const live = new Map<number, Live>();

let handler: Handler = () => new Response("not ready", { status: 503 });
let onError: (err: unknown) => void = () => {};
let maxBytes = Infinity;

/** Sets the app's handler, where its errors are logged, and its response limit. */
export function serveWith(h: Handler, log: (err: unknown) => void, maxResponseBytes: number): void {
  handler = h;
  onError = log;
  maxBytes = maxResponseBytes;
}

/**
 * A whole body over the limit is refused before a byte of it is sent. (The
 * refusal itself is far below the smallest limit, 1024 bytes.)
 */
function tooLarge(id: number, state: Live, size: number): void {
  onError(new Error(`a response of ${size} bytes is over app_max_response_bytes (${maxBytes})`));
  respond(id, problem(502, "APP_RESPONSE_TOO_LARGE", "The app's response is too large"), state);
}

// The body of a Response without its getter: Deno keeps the inner response
// under a symbol. Found by probing at start; if this Deno keeps it
// elsewhere, every body takes the general path (still correct).
const innerKey = (() => {
  try {
    const probe = new Response("x");
    probe.headers.forEach(() => {});
    const key = Object.getOwnPropertySymbols(probe).find((s) => String(s) === "Symbol(response)");
    if (!key) return undefined;
    const read = (r: Response) => (r as unknown as Record<symbol, { body: unknown }>)[key].body;
    const stat = read(probe) as { streamOrStatic?: { body?: unknown } } | null;
    const none = new Response(null);
    const stream = new Response(new ReadableStream());
    const ok = stat?.streamOrStatic?.body === "x" && read(none) === null &&
      (read(stream) as { streamOrStatic?: unknown })?.streamOrStatic instanceof ReadableStream;
    return ok ? key : undefined;
  } catch {
    return undefined;
  }
})();

type Body =
  | { kind: "none" }
  | { kind: "static"; data: Uint8Array | string }
  | { kind: "stream"; stream: ReadableStream<Uint8Array> };

function bodyOf(res: Response): Body | undefined {
  if (innerKey === undefined) return undefined;
  const inner = (res as unknown as Record<symbol, { body: unknown }>)[innerKey];
  const body = inner?.body as
    | { streamOrStatic: ReadableStream | { body: unknown; consumed: boolean } }
    | null
    | undefined;
  if (body === null) return { kind: "none" };
  const s = body?.streamOrStatic;
  if (!s || s instanceof ReadableStream) return undefined;
  if (s.consumed) return undefined;
  if (typeof s.body === "string" || s.body instanceof Uint8Array) {
    return { kind: "static", data: s.body };
  }
  return undefined;
}

const gone = () => new DOMException("the client went away", "AbortError");

function started(id: number): Live {
  const state: Live = { cancelled: false, credit: STREAM_WINDOW, received: 0, granted: 0 };
  live.set(id, state);
  return state;
}

function finished(id: number, state: Live): void {
  live.delete(id);
  // The app answered without reading all of the body: the server may stop.
  if (state.body) {
    state.body = undefined;
    link.out.frame(id, FRAME.CANCEL, "");
  }
}

function requestOf(id: number, meta: string, body: Bytes | undefined, state: Live): Request {
  const lines = meta.split("\n");
  const method = lines[0];
  let req: Request;
  if (lines[2] === "1") {
    const stream = new ReadableStream<Uint8Array>({
      start: (c) => {
        state.body = c;
      },
      pull: (c) => {
        const consumed = state.received - (STREAM_WINDOW - (c.desiredSize ?? 0));
        if (consumed > state.granted) {
          link.out.frame(id, FRAME.CREDIT, String(consumed - state.granted));
          state.granted = consumed;
        }
      },
      cancel: () => {
        if (state.body) link.out.frame(id, FRAME.CANCEL, "");
        state.body = undefined;
      },
    }, { highWaterMark: STREAM_WINDOW, size: (c) => c.byteLength });
    req = new Request(lines[1], {
      method,
      headers: headerPairs(lines, 3),
      body: stream,
      duplex: "half",
    } as RequestInit);
  } else if (method === "GET" && body === undefined) {
    req = new Request(lines[1]);
    const h = req.headers;
    for (let i = 3; i + 1 < lines.length; i += 2) h.append(lines[i], lines[i + 1]);
  } else {
    req = new Request(lines[1], {
      method,
      headers: headerPairs(lines, 3),
      body: method === "GET" || method === "HEAD" ? undefined : body,
    });
  }
  // Only a request that asks for a WebSocket may be upgraded (header names are lower-case).
  if (meta.includes("\nupgrade\n")) markUpgradable(req, id);
  // `req.signal` aborts when the client goes away; made only if the app looks.
  Object.defineProperty(req, "signal", {
    get: () => {
      if (!state.abort) {
        state.abort = new AbortController();
        if (state.cancelled) state.abort.abort(gone());
      }
      return state.abort.signal;
    },
    configurable: true,
  });
  return req;
}

/** REQUEST: build the request, run the handler, send its answer. */
export function onRequest(id: number, meta: string, body: Bytes | undefined): void {
  const state = started(id);
  let out: unknown;
  try {
    out = handler(requestOf(id, meta, body, state));
  } catch (err) {
    return fail(id, state, err);
  }
  if (out instanceof Response) return respond(id, out, state);
  Promise.resolve(out).then(
    (res) => respond(id, res, state),
    (err) => fail(id, state, err),
  );
}

/**
 * What a failed request answers: 500 `APP_ERROR`, never the error itself.
 * A storage refusal the app let through that is about the node, not the
 * app (no room left, or the database locked by another process), keeps
 * its meaning: the client sees 507 or 503 as from the API, not an app bug.
 */
function failure(err: unknown): Response {
  const code = (err as { code?: unknown } | null)?.code;
  if (code === "FULL") return problem(507, "STORAGE_FULL", "No space is left");
  if (code === "BUSY") {
    return problem(503, "DATABASE_BUSY", "The database is busy: try again", {
      "retry-after": "5",
    });
  }
  return problem(500, "APP_ERROR", "The app failed to handle this request");
}

function fail(id: number, state: Live, err: unknown): void {
  onError(err);
  if (!live.has(id) || state.cancelled) return finished(id, state);
  respond(id, failure(err), state);
}

function respond(id: number, res: unknown, state: Live): void {
  if (!(res instanceof Response)) {
    return fail(id, state, new TypeError("the handler must return a Response"));
  }
  if (state.cancelled) return finished(id, state);
  // The answer of `Deno.upgradeWebSocket`: the server upgrades the client.
  if (accept(id, res)) return finished(id, state);
  let meta = String(res.status);
  res.headers.forEach((v, k) => {
    meta += "\n" + k + "\n" + v;
  });
  const body = bodyOf(res);
  if (body?.kind === "none") {
    finished(id, state);
    return link.out.frame(id, FRAME.RESPONSE, meta);
  }
  if (body?.kind === "static" && body.data.length > maxBytes) {
    return tooLarge(id, state, body.data.length);
  }
  if (body?.kind === "static" && body.data.length <= INLINE_BODY_BYTES / 3) {
    finished(id, state);
    return link.out.frame(id, FRAME.RESPONSE, meta, body.data);
  }
  if (body === undefined) {
    // The general path: a stream (or a body this probe does not know).
    const stream = res.body;
    if (stream === null) {
      finished(id, state);
      return link.out.frame(id, FRAME.RESPONSE, meta);
    }
    link.out.frame(id, FRAME.HEAD, meta);
    state.reader = stream.getReader();
    pump(id, state.reader, state).catch(() => {});
    return;
  }
  res.arrayBuffer().then((ab) => {
    if (state.cancelled) return finished(id, state);
    const bytes = new Uint8Array(ab);
    if (bytes.byteLength > maxBytes) return tooLarge(id, state, bytes.byteLength);
    if (bytes.byteLength <= INLINE_BODY_BYTES) {
      finished(id, state);
      return link.out.frame(id, FRAME.RESPONSE, meta, bytes);
    }
    link.out.frame(id, FRAME.HEAD, meta);
    pumpBytes(id, bytes, state);
  }, (err) => fail(id, state, err));
}

async function send(id: number, chunk: Uint8Array, state: Live): Promise<boolean> {
  for (let at = 0; at < chunk.byteLength; at += CHUNK_BYTES) {
    while (state.credit <= 0 && !state.cancelled) {
      await new Promise<void>((r) => (state.wake = r));
    }
    if (state.cancelled) return false;
    const piece = chunk.subarray(at, Math.min(chunk.byteLength, at + CHUNK_BYTES));
    state.credit -= piece.byteLength;
    link.out.frame(id, FRAME.DATA, "", piece);
  }
  return true;
}

async function pumpBytes(id: number, bytes: Uint8Array, state: Live): Promise<void> {
  if (await send(id, bytes, state)) link.out.frame(id, FRAME.END, "");
  finished(id, state);
}

async function pump(
  id: number,
  reader: ReadableStreamDefaultReader<Uint8Array>,
  state: Live,
): Promise<void> {
  try {
    for (;;) {
      const r = await reader.read();
      if (state.cancelled) break;
      if (r.done) {
        link.out.frame(id, FRAME.END, "");
        break;
      }
      const v = r.value as unknown;
      if (!(v instanceof Uint8Array)) {
        throw new TypeError("a response stream must give Uint8Array chunks");
      }
      if (!await send(id, v, state)) break;
    }
  } catch (err) {
    onError(err);
    if (!state.cancelled) link.out.frame(id, FRAME.END, "the app's stream failed");
  } finally {
    if (state.cancelled) reader.cancel().catch(() => {});
    finished(id, state);
  }
}

/** DATA: a chunk of a streamed request body. */
export function onData(id: number, body: Bytes | undefined): void {
  const state = live.get(id);
  if (!state?.body || !body) return;
  state.received += body.byteLength;
  state.body.enqueue(body);
}

/** END: a streamed request body is complete, or failed (`meta` says why). */
export function onEnd(id: number, meta: string): void {
  const state = live.get(id);
  const c = state?.body;
  if (!state || !c) return;
  state.body = undefined;
  if (meta) c.error(new TypeError(meta));
  else c.close();
}

/** CREDIT: the client took more of a streamed response. */
export function onCredit(id: number, meta: string): void {
  const state = live.get(id);
  if (!state) return;
  state.credit += Number(meta) || 0;
  state.wake?.();
  state.wake = undefined;
}

/** CANCEL: the client went away (or the response passed its limit). */
export function onCancel(id: number): void {
  const state = live.get(id);
  if (!state) return;
  state.cancelled = true;
  state.wake?.();
  state.wake = undefined;
  state.abort?.abort(gone());
  // A read waiting on the app's stream ends now: the app's cancel() runs.
  state.reader?.cancel(gone()).catch(() => {});
  const c = state.body;
  state.body = undefined;
  c?.error(gone());
}
