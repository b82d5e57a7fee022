/**
 * fazt's front door: its own accept loop over `Deno.listen` (HTTP) and
 * `Deno.listenTls` (HTTPS) listeners, one `serveHttpOnConnection` per
 * accepted connection, so that every connection is known and bounded.
 * `Deno.serve` has no timeouts at all and exits the process when accept()
 * fails with "Too many open files" (both measured before this was built).
 *
 * What it enforces:
 * - caps on open connections, in all and per client address (IPv6 by /64);
 *   at the global cap the connection idle longest makes room, and only when
 *   every connection is busy is a new one refused;
 * - a header timeout (no request on a new connection: silent clients,
 *   slowloris, a TLS handshake that never ends), an idle timeout (a
 *   keep-alive connection with nothing in flight) and a body stall timeout
 *   (a request body with no byte for that long: 408, then the connection is
 *   closed);
 * - running out of descriptors: idle connections are dropped, accepting
 *   backs off and goes on, the process never exits;
 * - load shedding: past `maxRequestsInFlight` requests, or while the event
 *   loop lags more than `overloadLagMs`, new requests get a fast
 *   `503 OVERLOADED` with `Retry-After` (those `unshed` picks are served);
 * - graceful shutdown: stop accepting, close idle connections, let requests
 *   in flight finish for a grace period.
 *
 * Each connection is served by Deno's internal per-connection server
 * (`lib/serve_connection.ts`), which closes it with the connection's signal
 * (forcefully) or its `shutdown()` (gracefully).
 * @module
 */
import { clientKey } from "./client_address.ts";
import { type ErrorCode, HttpError } from "./http_error.ts";
import type { Sockopt } from "./sockopt.ts";
import { BodyGuard, guardBody } from "../lib/body_guard.ts";
import { isDescriptorExhaustion } from "../lib/descriptors.ts";
import { errorResponse } from "../lib/error_response.ts";
import { type ConnectionHandler, serveConnection } from "../lib/serve_connection.ts";

/** The limits of a front door (settings of the same names, in ms). */
export interface DoorLimits {
  maxConnections: number;
  maxConnectionsPerIp: number;
  headerTimeoutMs: number;
  idleTimeoutMs: number;
  bodyStallTimeoutMs: number;
  /** Requests being answered at once, past which new ones get 503. */
  maxRequestsInFlight: number;
  /** Event-loop lag past which new requests get 503; 0: never. */
  overloadLagMs: number;
}

export interface FrontDoorOptions {
  limits: DoorLimits;
  handler: ConnectionHandler;
  onError: (error: unknown) => Response | Promise<Response>;
  log?: (message: string) => void;
  /** The FFI shim: reaps TLS connections stuck before their handshake. */
  sockopt?: Sockopt;
  /** Wait between a response that ends a connection and the close (default 1000). */
  lingerMs?: number;
  /** Which connections are served so that a WebSocket upgrade on them holds (absent: none). */
  upgrades?: UpgradeRouting;
  /**
   * Requests served even while the door sheds load: liveness probes, so a
   * busy node is not taken for a dead one. Asked only when a request would
   * be shed.
   */
  unshed?: (req: Request) => boolean;
}

/**
 * How the door tells connections that may carry a WebSocket. Deno 2.9.6
 * closes a socket upgraded through `serveHttpOnConnection` as soon as the
 * upgrade ends that connection's HTTP part, so such connections are served
 * by Deno's older per-connection server (`Deno.serveHttp`), which keeps
 * upgraded sockets but answers plain requests at ~0.6-0.75x the rate
 * (measured). Only connections that may upgrade take it:
 * - none while no app's code upgrades (`anyApp()` false);
 * - HTTPS: those that negotiated HTTP/1.1 (browsers open WebSockets on
 *   such a connection; pages come over HTTP/2);
 * - plain HTTP: those whose first request asks for `Upgrade: websocket`,
 *   read without consuming it (`peek`); without `peek`, all of them.
 */
export interface UpgradeRouting {
  /** Whether any app may upgrade a request now (cheap: called per connection). */
  anyApp(): boolean;
  /**
   * Copies the bytes waiting on socket `fd` into `buf` without consuming
   * them: how many (0: the peer closed; -1: none yet, or an error).
   */
  peek?(fd: number, buf: Uint8Array): number;
}

/** Counters, for `/api/system`, tests and benchmarks. */
export interface DoorStats {
  accepted: number;
  open: number;
  inFlight: number;
  refusedPerIp: number;
  refusedFull: number;
  evictedIdle: number;
  headerTimeouts: number;
  idleTimeouts: number;
  bodyStalls: number;
  shed: number;
  descriptorErrors: number;
  acceptErrors: number;
  reaped: number;
  lagMs: number;
}

type AnyListener = Deno.Listener<Deno.TcpConn, Deno.NetAddr> | Deno.TlsListener;
type AnyConn = Deno.TcpConn | Deno.TlsConn;

/**
 * Bodies up to this declared size are guarded, not wrapped: every reader of
 * such bodies waits through the guard (`readBody`, `boundedBody`; an app's
 * body this small is read whole before it is sent to the app).
 */
const GUARDED_BODY_MAX = 64 * 1024;

/**
 * How a request's body is watched for stalls: not at all (none, or not
 * read: the request is shed), by a guard (small and declared), or by
 * wrapping it. Decided from the head where it can be, because asking a
 * request for its `body` makes a stream.
 */
function bodyLane(req: Request): "none" | "guard" | "wrap" {
  const length = req.headers.get("content-length");
  if (length !== null) {
    const n = Number(length);
    if (n === 0) return "none";
    if (n <= GUARDED_BODY_MAX) return "guard";
    return "wrap";
  }
  if ((req.method === "GET" || req.method === "HEAD") && !req.headers.has("transfer-encoding")) {
    return "none";
  }
  return req.body === null ? "none" : "wrap";
}

/** A request body being read by a handler, watched for stalls. */
interface BodyWatch {
  /** When the pending read started; 0 when no read is pending. */
  waitingSince: number;
  ended: boolean;
  fail(err: Error): void;
}

class Connection {
  ended = false;
  shutdownCalled = false;
  inFlight = 0;
  requests = 0;
  idleSince = performance.now();
  closeAfterResponse = false;
  readonly bodies = new Set<BodyWatch>();
  readonly ctrl = new AbortController();
  server?: { shutdown(): Promise<void> };
  /** Served by `Deno.serveHttp`, so that an upgrade holds. */
  upgradable = false;
  /** WebSockets this connection carries: it stays counted until they close. */
  held = 0;
  /**
   * The socket while it is routed (peeked at, or in its TLS handshake) and
   * no server owns it yet: a cut closes it at once, as a server would.
   */
  routing?: AnyConn;
  constructor(
    readonly key: string,
    readonly peer: Deno.NetAddr,
    readonly localPort: number,
    readonly tls: boolean,
  ) {}
}

/**
 * Aborting the signal of a connection whose server has already ended makes
 * Deno's abort listener call op_http_cancel on a removed resource; the
 * BadResource it throws is reported as an uncaught error (try/catch around
 * abort() does not see it) and would end the process. A client can close a
 * tick before `finished` settles, so the race cannot be ruled out by
 * bookkeeping: exactly that error is swallowed, only while inside abort().
 */
let inDoorAbort = false;
let abortGuardInstalled = false;
function installAbortGuard(): void {
  if (abortGuardInstalled) return;
  abortGuardInstalled = true;
  addEventListener("error", (e) => {
    if (inDoorAbort && e.error instanceof Deno.errors.BadResource) e.preventDefault();
  });
}

function safeAbort(c: Connection): void {
  // After server.shutdown() the resource is gone too: an abort would throw.
  if (c.ended || c.shutdownCalled || c.ctrl.signal.aborted) return;
  inDoorAbort = true;
  try {
    c.ctrl.abort();
  } finally {
    inDoorAbort = false;
  }
}

/** Refused connections answered with a 503 at once; the rest are closed. */
const MAX_REFUSALS_ANSWERED = 32;

const RAW_503 = new TextEncoder().encode(
  "HTTP/1.1 503 Service Unavailable\r\nconnection: close\r\nretry-after: 1\r\n" +
    "content-length: 0\r\n\r\n",
);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function closeQuietly(conn: AnyConn): void {
  try {
    conn.close();
  } catch {
    // Already closed.
  }
}

/** `Deno.TlsConn` is not a global class: TLS connections are told by their `handshake()`. */
function isTls(c: Deno.Conn): c is Deno.TlsConn {
  return typeof (c as Deno.TlsConn).handshake === "function";
}

/**
 * Ordinary ends of a connection a client caused (reset, no TLS
 * close_notify, half a request): not worth an error line each.
 */
function ordinaryEnd(err: unknown): boolean {
  const m = err instanceof Error ? err.message : String(err);
  return /ConnectionReset|UnexpectedEof|WouldBlock|BrokenPipe|connection (closed|reset)|os error (104|32)|peer closed|handshake|NotConnected|Interrupted|ConnectionAborted/i
    .test(m);
}

export class FrontDoor {
  readonly stats: DoorStats = {
    accepted: 0,
    open: 0,
    inFlight: 0,
    refusedPerIp: 0,
    refusedFull: 0,
    evictedIdle: 0,
    headerTimeouts: 0,
    idleTimeouts: 0,
    bodyStalls: 0,
    shed: 0,
    descriptorErrors: 0,
    acceptErrors: 0,
    reaped: 0,
    lagMs: 0,
  };
  readonly #conns = new Set<Connection>();
  readonly #perKey = new Map<string, number>();
  readonly #loops = new Map<AnyListener, Promise<void>>();
  readonly #limits: DoorLimits;
  readonly #handler: ConnectionHandler;
  readonly #onError: FrontDoorOptions["onError"];
  readonly #log: (m: string) => void;
  readonly #sockopt?: Sockopt;
  readonly #lingerMs: number;
  readonly #upgrades?: UpgradeRouting;
  readonly #unshed?: (req: Request) => boolean;
  readonly #upgradable = new WeakMap<Request, Connection>();
  #closing = false;
  /** Refused connections being answered with a 503 (each still open). */
  #answering = 0;
  #sweeper: ReturnType<typeof setInterval>;
  #lagTimer: ReturnType<typeof setTimeout> | undefined;
  #lagSamples = [0, 0];
  readonly #closed: { promise: Promise<void>; resolve: () => void };

  constructor(options: FrontDoorOptions) {
    installAbortGuard();
    this.#limits = { ...options.limits };
    this.#handler = options.handler;
    this.#onError = options.onError;
    this.#log = options.log ?? (() => {});
    this.#sockopt = options.sockopt;
    this.#lingerMs = options.lingerMs ?? 1000;
    this.#upgrades = options.upgrades;
    this.#unshed = options.unshed;
    const l = this.#limits;
    // One sweep over all connections instead of a timer each; often enough
    // for the shortest timeout to be kept within a quarter of itself.
    const every = Math.max(
      20,
      Math.min(1000, Math.min(l.headerTimeoutMs, l.idleTimeoutMs, l.bodyStallTimeoutMs) / 4),
    );
    this.#sweeper = setInterval(() => this.#sweep(), every);
    if (l.overloadLagMs > 0) this.#watchLag();
    let resolve!: () => void;
    const promise = new Promise<void>((r) => resolve = r);
    this.#closed = { promise, resolve };
  }

  /** Settles when `shutdown()` is done. */
  get finished(): Promise<void> {
    return this.#closed.promise;
  }

  /** Connections open now. */
  get open(): number {
    return this.#conns.size;
  }

  /**
   * Accepts from one more listener: another address family, the HTTPS port,
   * or the new listener of a certificate swap. The door owns it from now on.
   */
  listen(listener: AnyListener): void {
    if (this.#closing) {
      listener.close();
      return;
    }
    this.#loops.set(listener, this.#acceptLoop(listener));
  }

  /**
   * Stops accepting from a listener (the old one after a swap). Connections
   * it accepted stay open and keep being served. Connections the kernel had
   * queued on it and not yet handed over are reset (unless
   * `net.ipv4.tcp_migrate_req` is 1, which moves them to the new listener).
   */
  async unlisten(listener: AnyListener): Promise<void> {
    try {
      listener.close();
    } catch {
      // Already closed.
    }
    await this.#loops.get(listener);
    this.#loops.delete(listener);
  }

  async #acceptLoop(listener: AnyListener): Promise<void> {
    let backoff = 0;
    while (!this.#closing) {
      let conn: AnyConn;
      try {
        conn = await listener.accept();
        backoff = 0;
      } catch (err) {
        if (
          this.#closing || err instanceof Deno.errors.BadResource ||
          err instanceof Deno.errors.Interrupted
        ) break;
        if (isDescriptorExhaustion(err)) {
          // Out of descriptors: drop idle connections, wait, go on.
          this.stats.descriptorErrors++;
          this.#evictIdle(Math.max(1, Math.ceil(this.#conns.size / 10)), 50);
          backoff = Math.min(Math.max(backoff * 2, 10), 1000);
          if (this.stats.descriptorErrors % 100 === 1) {
            this.#log(`out of file descriptors: shedding connections (${err})`);
          }
          await sleep(backoff);
          continue;
        }
        // ECONNABORTED and the like: the listener is still fine.
        this.stats.acceptErrors++;
        if (this.stats.acceptErrors % 100 === 1) this.#log(`accept failed: ${err}`);
        await sleep(10);
        continue;
      }
      this.#admit(conn);
    }
  }

  #admit(conn: AnyConn): void {
    this.stats.accepted++;
    const peer = conn.remoteAddr;
    const key = clientKey(peer.hostname);
    const n = this.#perKey.get(key) ?? 0;
    if (n >= this.#limits.maxConnectionsPerIp) {
      this.stats.refusedPerIp++;
      this.#refuse(conn, false);
      return;
    }
    if (this.#conns.size >= this.#limits.maxConnections && this.#evictIdle(1, 100) === 0) {
      this.stats.refusedFull++;
      this.#refuse(conn, true);
      return;
    }
    const c = new Connection(key, peer, conn.localAddr.port, isTls(conn));
    this.#conns.add(c);
    this.#perKey.set(key, n + 1);
    this.stats.open = this.#conns.size;
    const u = this.#upgrades;
    if (!u || !u.anyApp()) return this.#serveFast(c, conn);
    if (!isTls(conn) && !u.peek) return this.#serveUpgradable(c, conn);
    c.routing = conn;
    if (isTls(conn)) this.#routeTls(c, conn);
    else this.#routePlain(c, conn, u.peek!);
  }

  #serveFast(c: Connection, conn: AnyConn): void {
    c.routing = undefined;
    let server: Deno.HttpServer<Deno.NetAddr>;
    try {
      server = serveConnection(
        conn,
        c.ctrl.signal,
        // The peer is known from the socket: Deno's own `remoteAddr` asks
        // the runtime again for every request that reads it.
        (req, info) => this.#serve(c, req, { remoteAddr: c.peer, completed: info.completed }),
        this.#onError,
      );
    } catch (err) {
      this.#log(`could not serve a connection: ${err}`);
      c.ended = true;
      this.#forget(c);
      return;
    }
    c.server = server;
    // Every connection's `finished` is handled: an unhandled rejection (a
    // client's reset) would end the process.
    server.finished.then(() => this.#ended(c), (err) => {
      if (!ordinaryEnd(err)) this.#log(`connection ended: ${err}`);
      this.#ended(c);
    });
  }

  /** HTTPS: HTTP/2 cannot carry a WebSocket here; HTTP/1.1 may. */
  async #routeTls(c: Connection, conn: Deno.TlsConn): Promise<void> {
    let alpn: string | null;
    try {
      // The sweeper's header timeout cuts a handshake that never ends.
      alpn = (await conn.handshake()).alpnProtocol;
    } catch {
      return this.#drop(c, conn);
    }
    if (c.ctrl.signal.aborted) return this.#drop(c, conn);
    if (alpn === "h2") this.#serveFast(c, conn);
    else this.#serveUpgradable(c, conn);
  }

  /**
   * Plain HTTP: waits for the first request's head without consuming it,
   * and serves the connection so that it can upgrade when it asks to.
   */
  async #routePlain(
    c: Connection,
    conn: Deno.TcpConn,
    peek: (fd: number, buf: Uint8Array) => number,
  ): Promise<void> {
    const fd = descriptorOf(conn);
    if (fd === undefined) return this.#serveUpgradable(c, conn);
    const buf = new Uint8Array(PEEK_BYTES);
    for (let wait = 0;; wait = Math.min(Math.max(wait * 2, 1), PEEK_MAX_WAIT_MS)) {
      if (wait > 0) await sleep(wait);
      // Cut by the sweeper (header timeout) or the shutdown meanwhile.
      if (c.ctrl.signal.aborted || this.#closing) return this.#drop(c, conn);
      const n = peek(fd, buf);
      if (n === 0) return this.#drop(c, conn);
      if (n < 0) continue;
      const head = asciiLower(buf.subarray(0, n));
      const end = head.indexOf("\r\n\r\n");
      if (!WANTS_WEBSOCKET.test(end < 0 ? head : head.slice(0, end))) {
        // Not (yet) an upgrade: wait for the whole head, unless it is long.
        if (end < 0 && n < buf.length) continue;
        return this.#serveFast(c, conn);
      }
      return this.#serveUpgradable(c, conn);
    }
  }

  /** A connection that ended before it was served. */
  #drop(c: Connection, conn: AnyConn): void {
    c.routing = undefined;
    closeQuietly(conn);
    this.#ended(c);
  }

  /** Served by `Deno.serveHttp`: slower, but an upgraded socket stays open. */
  #serveUpgradable(c: Connection, conn: AnyConn): void {
    c.routing = undefined;
    let http: LegacyHttpConn;
    try {
      http = (Deno as unknown as { serveHttp(c: Deno.Conn): LegacyHttpConn }).serveHttp(conn);
    } catch (err) {
      this.#log(`could not serve a connection: ${err}`);
      return this.#drop(c, conn);
    }
    c.upgradable = true;
    const close = () => {
      try {
        http.close();
      } catch {
        // Already closed.
      }
    };
    c.ctrl.signal.addEventListener("abort", close, { once: true });
    c.server = {
      shutdown: () => {
        c.closeAfterResponse = true;
        if (c.inFlight === 0) close();
        return Promise.resolve();
      },
    };
    (async () => {
      try {
        for (;;) {
          const ev = await http.nextRequest();
          if (!ev) break;
          this.#serveEvent(c, ev);
        }
      } catch (err) {
        if (!ordinaryEnd(err) && !c.ctrl.signal.aborted) this.#log(`connection ended: ${err}`);
      }
      this.#ended(c);
    })();
  }

  #serveEvent(c: Connection, ev: LegacyRequestEvent): void {
    let settle!: (ok: boolean) => void;
    const completed = new Promise<void>((resolve, reject) => {
      settle = (ok) => ok ? resolve() : reject(new Error("the response was not sent"));
    });
    completed.catch(() => {});
    const info = { remoteAddr: c.peer, completed } as Deno.ServeHandlerInfo<Deno.NetAddr>;
    this.#upgradable.set(ev.request, c);
    const answer = (async () => {
      try {
        return await this.#serve(c, ev.request, info);
      } catch (err) {
        return await this.#onError(err);
      }
    })();
    ev.respondWith(answer).then(() => settle(true), () => settle(false));
  }

  /** Whether `req` came on a connection where `Deno.upgradeWebSocket` holds. */
  canUpgrade(req: Request): boolean {
    return this.#upgradable.has(req);
  }

  /**
   * `req`'s connection now carries a WebSocket: it stays counted against
   * the caps, and is neither timed out nor evicted, until the returned
   * function is called (the socket closed).
   */
  hold(req: Request): () => void {
    const c = this.#upgradable.get(req);
    if (!c) return () => {};
    c.held++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      c.held--;
      if (c.held === 0 && c.ended) this.#forget(c);
    };
  }

  #ended(c: Connection): void {
    c.ended = true;
    for (const b of c.bodies) b.fail(new Error("connection closed"));
    if (c.held === 0) this.#forget(c);
  }

  #serve(
    c: Connection,
    req: Request,
    info: Deno.ServeHandlerInfo<Deno.NetAddr>,
  ): Response | Promise<Response> {
    c.inFlight++;
    c.requests++;
    this.stats.inFlight++;
    if (this.#closing) c.closeAfterResponse = true;
    const shed = (this.stats.inFlight > this.#limits.maxRequestsInFlight || this.#lagging()) &&
      !this.#unshed?.(req);
    const lane = shed ? "none" : bodyLane(req);
    const watched = lane === "wrap" ? this.#watchBody(c, req) : undefined;
    const watch = lane === "guard" ? this.#guard(c, req) : watched?.watch;
    let done = false;
    const finish = () => {
      if (done) return;
      done = true;
      c.inFlight--;
      this.stats.inFlight--;
      c.idleSince = performance.now();
      if (watch) {
        c.bodies.delete(watch);
        // A body nobody read to its end: Deno would keep reading it.
        if (!watch.ended) c.closeAfterResponse = true;
      }
      // Pitfall: for an async handler `completed` settles a tick before
      // the bytes are written (an abort right then lost every response), so
      // the close comes later; the wait also lets the client read the
      // answer before the reset that unread upload bytes cause.
      if (c.closeAfterResponse && c.inFlight === 0) {
        setTimeout(() => safeAbort(c), this.#lingerMs);
      }
    };
    info.completed.then(finish, finish);
    if (shed) {
      this.stats.shed++;
      // Its body is not read: the connection cannot be reused.
      if (req.body) c.closeAfterResponse = true;
      return overloaded();
    }
    return this.#handler(watched ? watched.req : req, info);
  }

  /** A small body's guard: its readers wait through it (`lib/body_guard.ts`). */
  #guard(c: Connection, req: Request): BodyWatch {
    const guard = new BodyGuard();
    guardBody(req, guard);
    c.bodies.add(guard);
    return guard;
  }

  /**
   * The request with its body read through a watch: a read that waits
   * longer than the body stall timeout fails with 408 and the connection is
   * closed after the answer.
   */
  #watchBody(c: Connection, req: Request): { req: Request; watch: BodyWatch } {
    const source = req.body!.getReader();
    let controller!: ReadableStreamDefaultController<Uint8Array>;
    let failed = false;
    const watch: BodyWatch = {
      waitingSince: 0,
      ended: false,
      fail: (err) => {
        if (failed || watch.ended) return;
        failed = true;
        watch.waitingSince = 0;
        try {
          controller.error(err);
        } catch {
          // The stream is already closed.
        }
        source.cancel().catch(() => {});
      },
    };
    const body = new ReadableStream<Uint8Array>({
      start: (ctrl) => {
        controller = ctrl;
      },
      pull: async (ctrl) => {
        watch.waitingSince = performance.now();
        let r: ReadableStreamReadResult<Uint8Array>;
        try {
          r = await source.read();
        } catch (err) {
          watch.waitingSince = 0;
          if (!failed) {
            failed = true;
            ctrl.error(err);
          }
          return;
        }
        watch.waitingSince = 0;
        if (failed) return;
        if (r.done) {
          watch.ended = true;
          ctrl.close();
        } else ctrl.enqueue(r.value);
      },
      cancel: (reason) => {
        watch.ended = watch.ended || failed;
        return source.cancel(reason);
      },
    }, { highWaterMark: 0 });
    c.bodies.add(watch);
    const init: RequestInit & { duplex: "half" } = {
      method: req.method,
      headers: req.headers,
      body,
      duplex: "half",
    };
    return { req: new Request(req.url, init), watch };
  }

  #refuse(conn: AnyConn, full: boolean): void {
    const tls = isTls(conn);
    if (!full || tls || this.#answering >= MAX_REFUSALS_ANSWERED) {
      const peer = conn.remoteAddr, port = conn.localAddr.port;
      closeQuietly(conn);
      // close() alone does not close a TLS socket before its handshake.
      if (tls) this.#reap(port, peer);
      return;
    }
    // Plain HTTP and every connection busy: a raw 503, half-close, drain
    // briefly so the client reads it rather than a reset. A few at a time:
    // each holds a descriptor the cap does not count.
    this.#answering++;
    (async () => {
      try {
        await conn.write(RAW_503);
        await conn.closeWrite();
        const buf = new Uint8Array(4096);
        const until = performance.now() + 1000;
        while (performance.now() < until) {
          const n = await Promise.race([conn.read(buf), sleep(until - performance.now())]);
          if (n === null || n === undefined) break;
        }
      } catch {
        // The peer went away.
      }
      this.#answering--;
      closeQuietly(conn);
    })();
  }

  #reapQueue = new Map<number, Deno.NetAddr[]>();
  #reapTimer: ReturnType<typeof setTimeout> | undefined;

  /** Batches reaps: one descriptor scan per 50 ms. */
  #reap(localPort: number, peer: Deno.NetAddr): void {
    if (!this.#sockopt) return;
    let q = this.#reapQueue.get(localPort);
    if (!q) this.#reapQueue.set(localPort, q = []);
    q.push(peer);
    this.#reapTimer ??= setTimeout(() => {
      this.#reapTimer = undefined;
      for (const [port, peers] of this.#reapQueue) {
        this.stats.reaped += this.#sockopt!.shutdownPeers(port, peers);
      }
      this.#reapQueue.clear();
    }, 50);
  }

  /**
   * Cuts a connection; a TLS one that never sent a request may be stuck in
   * its handshake. One being routed is closed now, not at its router's next
   * look: under a flood, thousands of descriptors counted free but still
   * open ran the process out of them, and a thread Deno starts then (a
   * Worker) panics the whole process.
   */
  #cut(c: Connection): void {
    safeAbort(c);
    if (c.routing) closeQuietly(c.routing);
    if (c.tls && c.requests === 0) this.#reap(c.localPort, c.peer);
  }

  #forget(c: Connection): void {
    if (!this.#conns.delete(c)) return;
    const n = (this.#perKey.get(c.key) ?? 1) - 1;
    if (n <= 0) this.#perKey.delete(c.key);
    else this.#perKey.set(c.key, n);
    this.stats.open = this.#conns.size;
  }

  /**
   * Closes up to `count` connections with nothing in flight that have been
   * idle at least `minIdleMs`: first those that never sent a request
   * (silent, slowloris), then keep-alive ones, each longest idle first.
   */
  #evictIdle(count: number, minIdleMs: number): number {
    const now = performance.now();
    if (count === 1) {
      // The common case (one new connection at the cap): one pass, no sort.
      let best: Connection | undefined;
      for (const c of this.#conns) {
        if (
          c.inFlight > 0 || c.held > 0 || c.ctrl.signal.aborted || now - c.idleSince < minIdleMs
        ) {
          continue;
        }
        if (!best || evictsBefore(c, best)) best = c;
      }
      if (!best) return 0;
      this.#cut(best);
      this.#forget(best);
      this.stats.evictedIdle++;
      return 1;
    }
    const idle: Connection[] = [];
    for (const c of this.#conns) {
      if (
        c.inFlight === 0 && c.held === 0 && !c.ctrl.signal.aborted &&
        now - c.idleSince >= minIdleMs
      ) {
        idle.push(c);
      }
    }
    idle.sort((a, b) => evictsBefore(a, b) ? -1 : evictsBefore(b, a) ? 1 : 0);
    const chosen = idle.slice(0, count);
    for (const c of chosen) {
      this.#cut(c);
      // The descriptor is released by the abort: count the slot free now.
      this.#forget(c);
    }
    this.stats.evictedIdle += chosen.length;
    return chosen.length;
  }

  #sweep(): void {
    const now = performance.now();
    const l = this.#limits;
    for (const c of this.#conns) {
      if (c.ctrl.signal.aborted) continue;
      for (const b of c.bodies) {
        if (b.waitingSince > 0 && now - b.waitingSince > l.bodyStallTimeoutMs) {
          this.stats.bodyStalls++;
          c.closeAfterResponse = true;
          b.fail(
            new HttpError(
              408,
              "REQUEST_TIMEOUT",
              `No byte of the request body arrived for ${l.bodyStallTimeoutMs} ms`,
            ),
          );
        }
      }
      if (c.inFlight > 0 || c.held > 0) continue;
      const first = c.requests === 0;
      if (now - c.idleSince > (first ? l.headerTimeoutMs : l.idleTimeoutMs)) {
        if (first) this.stats.headerTimeouts++;
        else this.stats.idleTimeouts++;
        this.#cut(c);
        this.#forget(c);
      }
    }
  }

  /**
   * Event-loop lag: how late a 100 ms timer fires. Two late samples in a
   * row mean requests wait for the CPU, not one long task.
   */
  #watchLag(): void {
    const every = 100;
    let expected = performance.now() + every;
    const tick = () => {
      const now = performance.now();
      const lag = Math.max(0, now - expected);
      this.#lagSamples = [this.#lagSamples[1], lag];
      this.stats.lagMs = Math.round(lag);
      expected = now + every;
      this.#lagTimer = setTimeout(tick, every);
      Deno.unrefTimer(this.#lagTimer);
    };
    this.#lagTimer = setTimeout(tick, every);
    Deno.unrefTimer(this.#lagTimer);
  }

  #lagging(): boolean {
    const limit = this.#limits.overloadLagMs;
    return limit > 0 && Math.min(this.#lagSamples[0], this.#lagSamples[1]) > limit;
  }

  /**
   * Stops accepting, closes idle connections and lets requests in flight
   * finish for up to `graceMs` (HTTP/1.1 closes after its answer, HTTP/2
   * gets GOAWAY). Resolves with how many connections were still busy then;
   * those are left to the process's exit.
   */
  async shutdown(graceMs: number): Promise<{ busyAfterGrace: number }> {
    if (this.#closing) {
      await this.#closed.promise;
      return { busyAfterGrace: 0 };
    }
    this.#closing = true;
    for (const l of this.#loops.keys()) {
      try {
        l.close();
      } catch {
        // Already closed.
      }
    }
    clearInterval(this.#sweeper);
    if (this.#lagTimer !== undefined) clearTimeout(this.#lagTimer);
    for (const c of this.#conns) {
      if (c.held > 0) continue;
      if (c.inFlight === 0) this.#cut(c);
      else {
        c.shutdownCalled = true;
        c.server!.shutdown().catch(() => {});
      }
    }
    const until = performance.now() + graceMs;
    const busy = () => [...this.#conns].filter((c) => !c.ended && !c.ctrl.signal.aborted);
    while (busy().length > 0 && performance.now() < until) await sleep(20);
    const left = busy();
    for (const c of left) safeAbort(c);
    await Promise.all(this.#loops.values());
    this.#closed.resolve();
    return { busyAfterGrace: left.length };
  }
}

/** Eviction order: never-used connections first, then keep-alive ones; longest idle first. */
function evictsBefore(a: Connection, b: Connection): boolean {
  const aSilent = a.requests === 0, bSilent = b.requests === 0;
  if (aSilent !== bSilent) return aSilent;
  return a.idleSince < b.idleSince;
}

function overloaded(): Response {
  return errorResponse({
    status: 503,
    code: "OVERLOADED" satisfies ErrorCode,
    message: "This node is overloaded; try again shortly",
    headers: { "retry-after": "1" },
  });
}

/** Deno's legacy per-connection server (`Deno.serveHttp`), which has no public type in 2.9. */
interface LegacyHttpConn {
  nextRequest(): Promise<LegacyRequestEvent | null>;
  close(): void;
}

interface LegacyRequestEvent {
  readonly request: Request;
  respondWith(r: Response | Promise<Response>): Promise<void>;
}

/** How much of a plain connection's first request is looked at. */
const PEEK_BYTES = 8192;
/**
 * The longest wait between two looks: a request's head nearly always
 * arrives with the handshake's last packet (the first look, at once, or the
 * next, 1 ms later, sees it); silent and slow clients are looked at a few
 * times a second until the header timeout closes them.
 */
const PEEK_MAX_WAIT_MS = 128;

/** An `Upgrade` header naming websocket, in a lower-cased request head. */
const WANTS_WEBSOCKET = /\r\nupgrade:[ \t]*[^\r]*\bwebsocket\b/;

function asciiLower(bytes: Uint8Array): string {
  let s = "";
  for (let i = 0; i < bytes.length; i += 4096) {
    s += String.fromCharCode(...bytes.subarray(i, i + 4096));
  }
  return s.toLowerCase();
}

let fdSymbol: symbol | undefined | null;

/** The socket descriptor Deno keeps on a connection (internal, 2.9.6), if any. */
function descriptorOf(conn: Deno.Conn): number | undefined {
  if (fdSymbol === undefined) {
    fdSymbol = Object.getOwnPropertySymbols(conn).find((s) =>
      s.description === "Deno.internal.fd"
    ) ??
      null;
  }
  if (fdSymbol === null) return undefined;
  const fd = (conn as unknown as Record<symbol, unknown>)[fdSymbol];
  return typeof fd === "number" ? fd : undefined;
}
