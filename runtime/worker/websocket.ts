/**
 * `Deno.upgradeWebSocket(req)` inside the Worker. The server holds the
 * client's socket; the app gets a WebSocket-like `socket` whose messages
 * travel on the app's connection, keyed by the id of the request that
 * upgraded: ACCEPT (the app answered with the upgrade's response), OPEN
 * (the server upgraded the client), WSMSG both ways (`t` text, `b` bytes)
 * and WSCLOSE both ways (`code\nreason`). Ping and pong are the server's.
 * @module
 */
import { encodeUp } from "./frame_meta.ts";
import { FRAME } from "./frames.ts";
import type { Bytes } from "./frames.ts";
import { link } from "./link.ts";

const CONNECTING = 0;
const OPEN = 1;
const CLOSING = 2;
const CLOSED = 3;

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Requests that asked for an upgrade, with their ids (set by `serve.ts`). */
const upgradable = new WeakMap<Request, number>();
/** Responses made by `upgradeWebSocket`, with their socket. */
const accepted = new WeakMap<Response, { socket: AppSocket; protocol: string }>();
const sockets = new Map<number, AppSocket>();
let maxMessage = Infinity;

/** The largest message the app may send (`app_ws_max_message_bytes`). */
export function setMaxMessage(bytes: number): void {
  maxMessage = bytes;
}

/** Marks a request whose headers ask for a WebSocket. */
export function markUpgradable(req: Request, id: number): void {
  upgradable.set(req, id);
}

/** A WebSocket as app code sees it: the browser API, over the app's connection. */
export class AppSocket extends EventTarget {
  static readonly CONNECTING = CONNECTING;
  static readonly OPEN = OPEN;
  static readonly CLOSING = CLOSING;
  static readonly CLOSED = CLOSED;
  readonly CONNECTING = CONNECTING;
  readonly OPEN = OPEN;
  readonly CLOSING = CLOSING;
  readonly CLOSED = CLOSED;
  readyState: number = CONNECTING;
  binaryType: "arraybuffer" | "blob" = "arraybuffer";
  readonly bufferedAmount = 0;
  readonly extensions = "";
  onopen: ((e: Event) => unknown) | null = null;
  onmessage: ((e: MessageEvent) => unknown) | null = null;
  onclose: ((e: CloseEvent) => unknown) | null = null;
  onerror: ((e: Event) => unknown) | null = null;

  constructor(readonly id: number, readonly url: string, readonly protocol: string) {
    super();
  }

  send(data: string | ArrayBufferLike | ArrayBufferView | Blob): void {
    if (this.readyState === CONNECTING) {
      throw new DOMException("the socket is not open yet", "InvalidStateError");
    }
    if (this.readyState !== OPEN) return;
    if (typeof data === "string") {
      if (data.length * 3 > maxMessage && encoder.encode(data).byteLength > maxMessage) {
        throw tooLarge();
      }
      link.out.frame(this.id, FRAME.WSMSG, "t", data);
      return;
    }
    if (data instanceof Blob) {
      if (data.size > maxMessage) throw tooLarge();
      data.arrayBuffer().then((b) => this.readyState === OPEN && this.send(b));
      return;
    }
    const bytes = ArrayBuffer.isView(data)
      ? new Uint8Array(data.buffer, data.byteOffset, data.byteLength)
      : new Uint8Array(data);
    if (bytes.byteLength > maxMessage) throw tooLarge();
    link.out.frame(this.id, FRAME.WSMSG, "b", bytes);
  }

  close(code?: number, reason = ""): void {
    if (code !== undefined && code !== 1000 && (code < 3000 || code > 4999)) {
      throw new DOMException(`close code ${code} is not 1000 or 3000-4999`, "InvalidAccessError");
    }
    if (encoder.encode(reason).byteLength > 123) {
      throw new DOMException("the close reason is longer than 123 bytes", "SyntaxError");
    }
    if (this.readyState >= CLOSING) return;
    this.readyState = CLOSING;
    link.out.frame(this.id, FRAME.WSCLOSE, `${code ?? 1000}\n${reason}`);
  }

  /** Dispatches to listeners and the `on…` property. */
  fire(e: Event): void {
    const handler = (this as unknown as Record<string, unknown>)["on" + e.type];
    this.dispatchEvent(e);
    if (typeof handler === "function") handler.call(this, e);
  }
}

function tooLarge(): RangeError {
  return new RangeError(`a WebSocket message may be at most ${maxMessage} bytes`);
}

/** The app's `Deno.upgradeWebSocket(req, {protocol})`. */
export function upgradeWebSocket(
  req: Request,
  options: { protocol?: string } = {},
): { socket: AppSocket; response: Response } {
  const id = upgradable.get(req);
  const upgrade = req.headers.get("upgrade") ?? "";
  if (id === undefined || !/\bwebsocket\b/i.test(upgrade)) {
    throw new TypeError("Invalid Header: 'upgrade' header must contain 'websocket'");
  }
  upgradable.delete(req);
  const protocol = options.protocol ?? "";
  const socket = new AppSocket(id, req.url.replace(/^http/, "ws"), protocol);
  // Status 101 cannot be made by `new Response`; this one is known by identity.
  const response = new Response(null, { status: 200 });
  accepted.set(response, { socket, protocol });
  return { socket, response };
}

/**
 * If the app answered with an upgrade's response: sends ACCEPT and keeps
 * the socket. `false` for any other response.
 */
export function accept(id: number, res: Response): boolean {
  const a = accepted.get(res);
  if (!a) return false;
  accepted.delete(res);
  if (a.socket.id !== id) {
    // The upgrade of another request: that request's socket never opens.
    a.socket.readyState = CLOSED;
    return false;
  }
  sockets.set(id, a.socket);
  link.out.frame(id, FRAME.ACCEPT, encodeUp(FRAME.ACCEPT, { protocol: a.protocol }));
  return true;
}

/** OPEN: the client's socket is upgraded. */
export function onOpen(id: number): void {
  const s = sockets.get(id);
  if (!s || s.readyState !== CONNECTING) return;
  s.readyState = OPEN;
  s.fire(new Event("open"));
}

/** WSMSG: a message from the client. */
export function onMessage(id: number, meta: string, body: Bytes | undefined): void {
  const s = sockets.get(id);
  if (!s || s.readyState !== OPEN) return;
  const bytes = body ?? new Uint8Array();
  const data = meta === "t"
    ? decoder.decode(bytes)
    : s.binaryType === "blob"
    ? new Blob([bytes])
    : bytes.buffer;
  s.fire(new MessageEvent("message", { data }));
}

/** WSCLOSE: the socket is closed (by the client, the server, or the app's close). */
export function onClose(id: number, meta: string): void {
  const s = sockets.get(id);
  if (!s) return;
  sockets.delete(id);
  const nl = meta.indexOf("\n");
  const code = Number(nl < 0 ? meta : meta.slice(0, nl)) || 1005;
  const reason = nl < 0 ? "" : meta.slice(nl + 1);
  const wasOpen = s.readyState === OPEN || s.readyState === CLOSING;
  s.readyState = CLOSED;
  if (!wasOpen || code === 1006 || code === 1011) s.fire(new Event("error"));
  s.fire(new CloseEvent("close", { code, reason, wasClean: code !== 1006 }));
}
