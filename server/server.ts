import {
  Checkpointer,
  SettingError,
  type SettingKey,
  type Settings,
  Storage,
} from "../storage/mod.ts";
import { authorize, type Principal } from "./auth.ts";
import type { Route, RouteContext, ServerContext } from "./context.ts";
import { classifyHost, hostname, type HostTarget } from "./hosts.ts";
import { HttpError } from "./http_error.ts";
import { notFoundPage } from "./pages.ts";
import { toErrorResponse } from "./respond.ts";
import { ANY_HOST_ROUTES, ROUTES, TRACKING_ROUTES } from "./route_table.ts";
import { matchRoute } from "./router.ts";
import { Sites } from "./sites.ts";
import type { SiteIndex } from "./site_index.ts";
import {
  AppRuntime,
  type AppTarget,
  CronScheduler,
  type Manifest,
  problem,
  routeMatches,
} from "../runtime/mod.ts";
import { serveStatic } from "./static_site.ts";
import { Analytics, type AnalyticsOptions } from "./analytics.ts";
import { Compressor } from "./compress.ts";
import type { Upgrader } from "./upgrader.ts";
import { clientIp, isHttps, ownOrigin } from "./request_origin.ts";
import { FailureWindows } from "./failure_windows.ts";
import { ForwardingWatch } from "./forwarding_watch.ts";
import { readSessionCookies, sessionLifetime } from "./session_cookie.ts";
import { serveAdminUi } from "./admin_ui.ts";
import { rateOf, type RequestRate } from "./request_rate.ts";
import { reservedPath } from "./tracking.ts";
import { CustomDomains } from "./custom_domains.ts";
import {
  certifiableDomain,
  CertManager,
  type CertManagerOptions,
  Challenges,
} from "./certs/mod.ts";
import { BackupScheduler } from "./backup_scheduler.ts";
import { Replicator } from "./replicator.ts";
import type { Standby } from "./standby.ts";
import { connectionCap, descriptorLimit } from "./descriptor_limit.ts";
import { AppGate } from "./app_gate.ts";
import { type DoorLimits, FrontDoor } from "./front_door.ts";
import { WebSocketApps } from "./websocket_apps.ts";
import { withHttpsRules } from "./https_rules.ts";
import { IdleTrim, mallocTrim } from "./idle_trim.ts";
import { openListeners } from "./listen.ts";
import { requestHost } from "./request_host.ts";
import { openSockopt, type Sockopt } from "./sockopt.ts";
import { type HttpsOptions, TlsFront } from "./tls_front.ts";

export interface ServerOptions {
  /** Database file; ignored when `storage` is given. */
  db?: string;
  storage?: Storage;
  /** Settings for this run only (command-line flags), over the stored ones. */
  overrides?: Partial<Record<SettingKey, unknown>>;
  log?: (message: string) => void;
  /** Analytics clock, salt source and write cadence (tests). */
  analytics?: AnalyticsOptions;
  /** How this node replaces its program (given by `fazt server start`). */
  upgrader?: Upgrader;
  /** Serve as a warm standby of another node (given by `fazt standby`). */
  standby?: Standby;
  /**
   * Serve HTTPS too: a TLS port with a certificate per SNI name from
   * `certificates` (the ACME module's store, or `StaticCertificates`). The
   * `port` setting then is the plain HTTP port, which redirects the hosts
   * this node serves to HTTPS (see https_rules.ts).
   */
  https?: HttpsOptions;
  /** The certificate manager's clock, retry waits and issuer (tests). */
  acme?: CertManagerOptions;
}

export interface RunningServer {
  readonly context: ServerContext;
  /** The connections layer: its counters (`stats`) and listeners. */
  readonly door: FrontDoor;
  /** The HTTPS port, when `https` was given. */
  readonly https?: { readonly port: number; readonly front: TlsFront };
  readonly hostname: string;
  readonly port: number;
  /** `http://<listen address>:<port>` */
  readonly url: string;
  /**
   * Stops accepting, lets requests in flight finish (up to
   * `shutdown_grace_ms`), writes buffered analytics, stops app hosts,
   * checkpoints and closes the database. Calling it again waits for the same.
   */
  close(): Promise<void>;
  /** Settles when `close()` is done: the node has stopped and its database is closed. */
  readonly finished: Promise<void>;
}

const defaultLog = (message: string) => console.error(`${new Date().toISOString()} ${message}`);

/** The path of an absolute request URL, without parsing all of it. */
function pathnameOf(url: string): string {
  const start = url.indexOf("/", url.indexOf("//") + 2);
  if (start === -1) return "/";
  const query = url.indexOf("?", start);
  return query === -1 ? url.slice(start) : url.slice(start, query);
}

/**
 * `/api` and `/api/*` always go to an app's server code; paths its manifest
 * lists go there too, unless a static file of that path exists and the
 * manifest keeps static files first (the default).
 */
function handledByServerCode(site: SiteIndex, path: string): boolean {
  if (path === "/api" || path.startsWith("/api/")) return true;
  const manifest = site.server!.manifest;
  if (!routeMatches(manifest.routes, path)) return false;
  return !(manifest.staticFirst && site.files.has(path.slice(1)));
}

/** What the admin host routes: the API, then the original's tracking paths. */
const ADMIN_ROUTES = [...ROUTES, ...TRACKING_ROUTES.filter((r) => r.host !== "app")];
/** What every app host routes under `/_fazt/`. */
const APP_ROUTES = TRACKING_ROUTES.filter((r) => r.host === "app");

/** A node's state before `withRoutes` gives it its routes, dispatch and request guards. */
export type ServerState =
  & Omit<
    ServerContext,
    "routes" | "dispatch" | "tokenFailures" | "forwarding" | "domains" | "certs" | "crons"
  >
  & { certs?: CertManager };

/**
 * Completes a node's state with its routes, its in-process dispatch and what
 * it remembers about requests this run (failed tokens, ignored proxy headers).
 */
export function withRoutes(state: ServerState): ServerContext {
  const { settings, storage, log } = state;
  const certs = state.certs ?? new CertManager(storage, settings, log);
  const domains = new CustomDomains(storage);
  // A new app or domain needs a certificate; a removed one no longer gets one.
  state.sites.onChange(() => certs.wake());
  domains.onChange(() => certs.wake());
  const crons = new CronScheduler(storage, state.runtime, settings, log);
  // A deploy, rollback or delete changes the app's jobs.
  state.sites.onChange((name) => crons.refresh(name));
  const ctx: ServerContext = {
    ...state,
    certs,
    crons,
    domains,
    tokenFailures: new FailureWindows(
      settings.token_failures_max,
      settings.token_failures_window_s * 1000,
    ),
    forwarding: new ForwardingWatch(),
    routes: ROUTES,
    dispatch: (req) => handleAdmin(req, ctx),
  };
  return ctx;
}

/** Builds the request handler for a node; exposed for tests and embedding. */
export function createHandler(
  state: ServerState | ServerContext,
): (req: Request, info?: Deno.ServeHandlerInfo<Deno.NetAddr>) => Response | Promise<Response> {
  const ctx = "dispatch" in state ? state : withRoutes(state);
  // Hosts repeat, so each is classified once (bounded against random names).
  const targets = new Map<string, HostTarget>();
  const classify = (host: string): HostTarget => {
    let t = targets.get(host);
    if (!t) {
      t = classifyHost(host, ctx.settings.domain);
      if (targets.size > 1000) targets.clear();
      targets.set(host, t);
    }
    return t;
  };
  const rate = rateOf(ctx);
  const gate = new AppGate(ctx.settings.app_queue_ms);
  const idle = ctx.idleTrim;
  return (req, info) => {
    idle?.touch();
    // HTTP/2 has no Host header: its `:authority` is the host.
    const host = requestHost(req);
    if (req.url.includes(Challenges.PREFIX)) {
      // The CA asks on the name it validates, whatever that name serves.
      const path = pathnameOf(req.url);
      if (path.startsWith(Challenges.PREFIX)) {
        rate.hit();
        return answerRoute(
          ANY_HOST_ROUTES,
          path,
          { req, url: new URL(req.url), server: ctx, remote: info?.remoteAddr },
          () => notFoundPage(req, "Nothing here."),
        );
      }
    }
    const custom = ctx.domains.size > 0 ? ctx.domains.appFor(hostname(host)) : undefined;
    const target: HostTarget = custom ? { kind: "app", name: custom } : classify(host);
    // The admin host counts in handleAdmin, which can tell the dashboard's own calls.
    if (target.kind !== "admin") rate.hit();
    if (target.kind === "app") {
      const site = target.version === undefined
        ? ctx.sites.live(target.name)
        : ctx.sites.version(target.name, target.version);
      if (!site) return notFoundPage(req, `There is no app called '${target.name}' here.`);
      const path = pathnameOf(req.url);
      // `/_fazt/` is fazt's on every app host: never a file, never app code.
      const reserved = reservedPath(path);
      if (reserved !== undefined) {
        const c = new ReservedContext(req, ctx, info?.remoteAddr, {
          name: target.name,
          version: target.version,
        });
        return answerRoute(APP_ROUTES, reserved, c, () => {
          throw new HttpError(404, "NOT_FOUND", `Nothing at ${reserved.slice(0, 200)}`);
        });
      }
      if (site.server && handledByServerCode(site, path)) {
        if (ctx.standby && !SAFE_METHODS.has(req.method)) return standbyRefusal(ctx);
        const app = { appId: site.appId, appName: target.name, version: site.version };
        if (target.version !== undefined) {
          return previewServerCode(req, ctx, app, site.server.manifest, info?.remoteAddr);
        }
        const lane = `${site.appId}:${site.version}`;
        // Requests the fair share holds back wait by the server's choice, not
        // the app's slowness; refusing them would cost the server as much as
        // answering (the client asks again at once).
        const arrived = gate.enter(lane, ctx.runtime.fair.holding(site.appId));
        if (arrived === undefined) return appBusy();
        const answer = ctx.runtime.handle(req, app, site.server.manifest);
        const leave = () => gate.leave(lane, arrived);
        answer.then(leave, leave);
        return answer;
      }
      const counted = ctx.analytics.enabled && target.version === undefined;
      const view = (revalidated: boolean, notFound = false) =>
        ctx.analytics.page({
          req,
          remote: () => info?.remoteAddr,
          host,
          app: target.name,
          path,
          revalidated,
          notFound,
        });
      return serveStatic({
        req,
        path,
        site,
        sites: ctx.sites,
        app: target.name,
        onPage: counted ? view : undefined,
        onNotFound: counted ? () => view(false, true) : undefined,
      });
    }
    if (target.kind === "admin") return handleAdmin(req, ctx, info?.remoteAddr, rate);
    return notFoundPage(req, `This node does not serve '${target.host}'.`);
  };
}

const SAFE_METHODS = new Set(["GET", "HEAD", "OPTIONS"]);

/**
 * The context of a route under an app host's `/_fazt/`: its URL is parsed
 * when a route reads it (the pixels' queries), not for every tracking call.
 * A class, not a literal with a getter: V8 builds such a literal slowly.
 */
class ReservedContext implements RouteContext {
  params: Record<string, string> = {};
  principal: Principal | undefined = undefined;
  #url: URL | undefined;

  constructor(
    readonly req: Request,
    readonly server: ServerContext,
    readonly remote: Deno.NetAddr | undefined,
    readonly app: { name: string; version?: number },
  ) {}

  get url(): URL {
    return this.#url ??= new URL(this.req.url);
  }
}

/** A standby answers reads only: its copy is replaced at each refresh. */
function standbyRefusal(ctx: ServerContext): Response {
  return toErrorResponse(
    new HttpError(
      503,
      "STANDBY",
      "This node is a standby serving a read-only copy: send writes to the primary",
      { headers: { "retry-after": "60" } },
    ),
    ctx.log,
  );
}

/** An app whose requests wait longer than `app_queue_ms` (see app_gate.ts). */
function appBusy(): Response {
  return problem(503, "APP_BUSY", "The app is busy; try again shortly", { "retry-after": "1" });
}

/**
 * Server code of a preview host (`<app>--v<N>`) runs an old or draft
 * version with today's secrets and data, so it runs only for the owner: a
 * token with the deploy scope, which the app never sees.
 */
async function previewServerCode(
  req: Request,
  ctx: ServerContext,
  app: AppTarget,
  manifest: Manifest,
  remote?: Deno.NetAddr,
): Promise<Response> {
  try {
    if (!req.headers.has("authorization")) {
      throw new HttpError(
        401,
        "UNAUTHORIZED",
        "The server code of a preview runs only for the owner: send a token with the deploy scope",
        { headers: { "www-authenticate": 'Bearer realm="fazt"' } },
      );
    }
    authorize(req, ctx.storage, "deploy", undefined, {
      client: clientIp(req, remote, ctx.settings),
      failures: ctx.tokenFailures,
    });
  } catch (err) {
    return toErrorResponse(err, ctx.log);
  }
  const headers = new Headers(req.headers);
  headers.delete("authorization");
  return await ctx.runtime.handle(new Request(req, { headers }), app, manifest, { preview: true });
}

/** The admin host's answer to a request (MCP tools over HTTP call the API through it too). */
function handleAdmin(
  req: Request,
  ctx: ServerContext,
  remote?: Deno.NetAddr,
  rate?: RequestRate,
): Promise<Response> {
  const url = new URL(req.url);
  ctx.forwarding.note(req, remote, ctx.settings);
  // The overview's requests per minute (`rate`; none for calls dispatched
  // inside the node, such as MCP's) are the node's traffic, not the
  // dashboard watching it: its page and files, and its calls (made with
  // the owner's session cookie), are not counted. A token's calls are.
  const api = url.pathname === "/api" || url.pathname.startsWith("/api/");
  const dashboard = readSessionCookies(req).length > 0 ||
    (!api && matchRoute(ADMIN_ROUTES, req.method, url.pathname).kind === "none");
  if (!dashboard) rate?.hit();
  return answerRoute(ADMIN_ROUTES, url.pathname, { req, url, server: ctx, remote }, () => {
    if (url.pathname === "/api" || url.pathname.startsWith("/api/")) {
      throw new HttpError(404, "NOT_FOUND", `No API route ${req.method} ${url.pathname}`);
    }
    return serveAdminUi(req, url);
  });
}

/**
 * Routes a request through a table: 405 for a known path with another
 * method, `orElse` for an unknown one, else the route's auth policy, then
 * its handler. Anything thrown becomes an error envelope.
 */
async function answerRoute(
  routes: readonly Route[],
  path: string,
  base: Omit<RouteContext, "params" | "principal">,
  orElse: () => Response | Promise<Response>,
): Promise<Response> {
  const { req, server: ctx, remote } = base;
  try {
    const match = matchRoute(routes, req.method, path);
    if (match.kind === "method") {
      throw new HttpError(405, "METHOD_NOT_ALLOWED", `Use ${match.allowed.join(" or ")} here`, {
        headers: { allow: match.allowed.join(", ") },
      });
    }
    if (match.kind === "none") return await orElse();
    if (
      ctx.standby && !SAFE_METHODS.has(req.method) && match.route.path.startsWith("/api/") &&
      match.route.path !== "/api/standby/promote"
    ) {
      return standbyRefusal(ctx);
    }
    const principal = match.route.auth === "public"
      ? undefined
      : authorize(req, ctx.storage, match.route.auth, {
        life: sessionLifetime(ctx.settings),
        origin: ownOrigin(req, isHttps(req, base.url, remote, ctx.settings)),
      }, { client: clientIp(req, remote, ctx.settings), failures: ctx.tokenFailures });
    // Completed in place, not copied: a copy would read a lazy `url`.
    const c = base as RouteContext;
    c.params = match.params;
    c.principal = principal;
    return await match.route.handler(c);
  } catch (err) {
    return toErrorResponse(err, ctx.log);
  }
}

/** The front door's limits from the settings. */
function doorLimits(settings: Settings): DoorLimits {
  return {
    maxConnections: settings.max_connections,
    maxConnectionsPerIp: settings.max_connections_per_ip,
    headerTimeoutMs: settings.header_timeout_ms,
    idleTimeoutMs: settings.idle_timeout_ms,
    bodyStallTimeoutMs: settings.body_stall_timeout_ms,
    maxRequestsInFlight: settings.max_requests_in_flight,
    overloadLagMs: settings.overload_lag_ms,
  };
}

/** Trims malloc's free memory once requests stop (idle_trim.ts), where libc allows it. */
function idleTrim(): IdleTrim | undefined {
  const trim = mallocTrim();
  return typeof trim === "string" ? undefined : new IdleTrim({ trim });
}

/** Opens the database, applies settings, and starts listening. */
export async function startServer(options: ServerOptions = {}): Promise<RunningServer> {
  const storage = options.storage ?? Storage.open(options.db ?? ":memory:");
  let settings: Settings;
  try {
    settings = storage.settings.load(options.overrides);
  } catch (err) {
    if (!options.storage) storage.close();
    throw err;
  }
  const log = options.log ?? defaultLog;
  if (settings.https === 1 && !certifiableDomain(settings.domain)) {
    if (!options.storage) storage.close();
    return Promise.reject(
      new SettingError(
        "domain",
        "certifiable",
        `HTTPS needs the node's domain to be a public DNS name (--domain): ` +
          `'${settings.domain}' cannot have a certificate`,
      ),
    );
  }
  // Asked of a child process (prlimit): it runs while the node is put together.
  const fdLimitSoon = descriptorLimit();
  const closing = new AbortController();
  const trimmer = idleTrim();
  const ctx = withRoutes({
    storage,
    settings,
    fromFlags: new Set(
      Object.entries(options.overrides ?? {}).filter(([, v]) => v !== undefined).map(([k]) => k),
    ),
    sites: new Sites(storage, settings.cache_bytes),
    runtime: new AppRuntime(storage, settings, log),
    analytics: new Analytics(storage, settings, log, {
      onWriterStopped: () => trimmer?.touch(),
      ...options.analytics,
    }),
    compressor: new Compressor(),
    upgrader: options.upgrader,
    backups: storage.db.path === ":memory:" || options.standby
      ? undefined
      : new BackupScheduler({ dbPath: storage.db.path, settings, log }),
    replication: storage.db.path === ":memory:" || options.standby
      ? undefined
      : new Replicator({ dbPath: storage.db.path, db: storage.db, settings, log }),
    standby: options.standby,
    startedAt: Date.now(),
    idleTrim: trimmer,
    checkpointer: storage.db.path === ":memory:"
      ? undefined
      : new Checkpointer(storage.db, { log }),
    closing: closing.signal,
    log,
    certs: new CertManager(storage, settings, log, options.acme),
  });
  const stopParts = () => {
    void ctx.checkpointer?.close();
    ctx.idleTrim?.close();
    ctx.crons.close();
    ctx.analytics.abort();
    ctx.runtime.close();
    ctx.compressor.close();
    if (!options.storage) storage.close();
  };
  // The connection cap must leave descriptors for the database, app hosts
  // and outgoing requests: it is lowered below the process's limit.
  const limits = doorLimits(settings);
  const fdLimit = await fdLimitSoon;
  limits.maxConnections = connectionCap(settings.max_connections, fdLimit);
  if (limits.maxConnections < settings.max_connections) {
    log(
      `max_connections ${settings.max_connections} lowered to ${limits.maxConnections}: ` +
        `this process may open ${fdLimit} files (raise LimitNOFILE to allow more)`,
    );
  }
  const handler = createHandler(ctx);
  // With the https setting the node gets its own certificates (ACME): plain
  // HTTP moves to http_port (HTTP-01 and redirects), HTTPS on https_port.
  const acme = !options.https && ctx.certs.enabled;
  const https: HttpsOptions | undefined = options.https ??
    (acme ? { port: settings.https_port, certificates: ctx.certs.tls } : undefined);
  const plainPort = acme ? settings.http_port : settings.port;
  // Descriptors are handed out lowest first, so with at most this many
  // connections (plus the reserve) open, the sockets sit below this bound:
  // the FFI shim scans no further.
  const sockopt = https
    ? openSockopt(Math.min(fdLimit ?? 65536, limits.maxConnections + 1024))
    : undefined;
  if (typeof sockopt === "string") {
    log(
      `HTTPS without the socket fixes (${sockopt}): responses wait for delayed ACKs and ` +
        "a client that never starts its TLS handshake keeps its connection until it leaves",
    );
  }
  // The HTTPS port is known once it is open (it may be picked at random).
  const rules = {
    httpsPort: https?.port ?? 443,
    classify: (host: string): HostTarget => {
      const custom = ctx.domains.size > 0 ? ctx.domains.appFor(hostname(host)) : undefined;
      return custom ? { kind: "app", name: custom } : classifyHost(host, settings.domain);
    },
    secured: (name: string) => https?.certificates.lookup(name) !== undefined,
  };
  // Connections that may carry a WebSocket are served so that the upgrade
  // holds (front_door.ts); plain ones are told by peeking at their first
  // request, which needs the FFI shim.
  const webSocketApps = new WebSocketApps(storage.apps);
  ctx.sites.onChange(() => webSocketApps.forget());
  // Opened when a plain connection first may carry a WebSocket:
  // loading libc through FFI costs ~10 ms of start-up.
  let peeker: Sockopt | string | undefined = typeof sockopt === "object" ? sockopt : undefined;
  const upgrades = {
    anyApp: () => webSocketApps.any(),
    get peek() {
      peeker ??= openSockopt(1024);
      const shim = peeker;
      return typeof shim === "object"
        ? (fd: number, buf: Uint8Array) => shim.peek(fd, buf)
        : undefined;
    },
  };
  const door = new FrontDoor({
    limits,
    handler: https ? withHttpsRules(handler, rules) : (req, info) => handler(req, info),
    onError: (err) => toErrorResponse(err, ctx.log),
    log,
    sockopt: typeof sockopt === "object" ? sockopt : undefined,
    upgrades,
    // Routes the table marks `unshed` (liveness) are answered while the rest is shed.
    unshed: (req) => {
      if (rules.classify(requestHost(req)).kind !== "admin") return false;
      const match = matchRoute(ADMIN_ROUTES, req.method, pathnameOf(req.url));
      return match.kind === "found" && match.route.unshed === true;
    },
  });
  ctx.runtime.upgrades = {
    canUpgrade: (req) => door.canUpgrade(req),
    hold: (req) => door.hold(req),
    missed: () => webSocketApps.learn(),
  };
  let listeners: Deno.Listener<Deno.TcpConn, Deno.NetAddr>[];
  let tls: TlsFront | undefined;
  try {
    listeners = openListeners(
      settings.host,
      plainPort,
      false,
      (hostname, port) => Deno.listen({ hostname, port }),
    );
    for (const l of listeners) door.listen(l);
    if (https) {
      tls = await TlsFront.open({
        door,
        hostname: https.hostname ?? settings.host,
        port: https.port,
        certificates: https.certificates,
        fallbackNames: [settings.domain],
        sockopt: typeof sockopt === "string" ? undefined : sockopt,
        log,
      });
      rules.httpsPort = tls.addresses[0].port;
    }
  } catch (err) {
    await door.shutdown(0);
    await ctx.certs.close();
    stopParts();
    throw err;
  }
  ctx.certs.start();
  ctx.backups?.start();
  // A replica that cannot be reached does not stop the node: Litestream retries it.
  ctx.replication?.start();
  ctx.standby?.start(() => ctx.sites.reset());
  // A standby's copy is read-only: its primary runs the jobs.
  if (!ctx.standby) ctx.crons.start();
  // The spare app host starts once the node listens, so start-up does not wait for it.
  if (storage.apps.anyLiveServerCode()) setTimeout(() => ctx.runtime.prepare(), 0);
  const addr = listeners[0].addr;
  const host = addr.hostname.includes(":") ? `[${addr.hostname}]` : addr.hostname;
  let stopped: Promise<void> | undefined;
  let done!: () => void;
  const finished = new Promise<void>((r) => done = r);
  const stop = async () => {
    // Ends live streams (log tails) so the grace period is not spent on them.
    closing.abort();
    tls?.close();
    // Requests in flight finish, app requests included: hosts are stopped after.
    const { busyAfterGrace } = await door.shutdown(settings.shutdown_grace_ms);
    if (busyAfterGrace > 0) {
      log(`${busyAfterGrace} connection(s) still busy after ${settings.shutdown_grace_ms} ms`);
    }
    await ctx.certs.close();
    await ctx.backups?.close();
    await ctx.standby?.close();
    // Events still in memory are written before the database closes.
    await ctx.analytics.close();
    ctx.idleTrim?.close();
    ctx.crons.close();
    ctx.runtime.close();
    ctx.compressor.close();
    await ctx.checkpointer?.close();
    // Litestream checkpoints while it replicates; otherwise the WAL is
    // folded in now, so a copied file is whole without its -wal.
    if (!ctx.replication?.enabled) {
      try {
        storage.checkpoint();
      } catch (err) {
        log(`checkpoint at shutdown failed: ${err instanceof Error ? err.message : err}`);
      }
    }
    // After the last write: Litestream's final sync ships it.
    await ctx.replication?.close();
    storage.close();
    done();
  };
  return {
    context: ctx,
    door,
    hostname: addr.hostname,
    port: addr.port,
    url: `http://${host}:${addr.port}`,
    https: tls && { port: tls.addresses[0].port, front: tls },
    finished,
    close() {
      stopped ??= stop();
      return stopped;
    },
  };
}
