import { type SettingKey, type Settings, Storage } from "../storage/mod.ts";
import { authorize } from "./auth.ts";
import type { Route, RouteContext, ServerContext } from "./context.ts";
import { classifyHost, type HostTarget } from "./hosts.ts";
import { HttpError } from "./http_error.ts";
import { notFoundPage } from "./pages.ts";
import { toErrorResponse } from "./respond.ts";
import { ROUTES, TRACKING_ROUTES } from "./route_table.ts";
import { matchRoute } from "./router.ts";
import { Sites } from "./sites.ts";
import type { SiteIndex } from "./site_index.ts";
import { AppRuntime, type AppTarget, type Manifest, routeMatches } from "../runtime/mod.ts";
import { serveStatic } from "./static_site.ts";
import { Analytics, type AnalyticsOptions } from "./analytics.ts";
import { Compressor } from "./compress.ts";
import type { Upgrader } from "./upgrader.ts";
import { clientIp, isHttps, ownOrigin } from "./request_origin.ts";
import { FailureWindows } from "./failure_windows.ts";
import { ForwardingWatch } from "./forwarding_watch.ts";
import { sessionLifetime } from "./session_cookie.ts";
import { serveAdminUi } from "./admin_ui.ts";
import { rateOf } from "./request_rate.ts";
import { reservedPath } from "./tracking.ts";
import { BackupScheduler } from "./backup_scheduler.ts";

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
}

export interface RunningServer {
  readonly context: ServerContext;
  readonly hostname: string;
  readonly port: number;
  /** `http://<listen address>:<port>` */
  readonly url: string;
  /** Stops accepting requests, waits for those in flight, closes the database. */
  close(): Promise<void>;
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
export type ServerState = Omit<
  ServerContext,
  "routes" | "dispatch" | "tokenFailures" | "forwarding"
>;

/**
 * Completes a node's state with its routes, its in-process dispatch and what
 * it remembers about requests this run (failed tokens, ignored proxy headers).
 */
export function withRoutes(state: ServerState): ServerContext {
  const { settings } = state;
  const ctx: ServerContext = {
    ...state,
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
  return (req, info) => {
    rate.hit();
    const host = req.headers.get("host") ?? "";
    const target = classify(host);
    if (target.kind === "app") {
      const site = target.version === undefined
        ? ctx.sites.live(target.name)
        : ctx.sites.version(target.name, target.version);
      if (!site) return notFoundPage(req, `There is no app called '${target.name}' here.`);
      const path = pathnameOf(req.url);
      // `/_fazt/` is fazt's on every app host: never a file, never app code.
      const reserved = reservedPath(path);
      if (reserved !== undefined) {
        const c = {
          req,
          url: new URL(req.url),
          server: ctx,
          remote: info?.remoteAddr,
          app: { name: target.name, version: target.version },
        };
        return answerRoute(APP_ROUTES, reserved, c, () => {
          throw new HttpError(404, "NOT_FOUND", `Nothing at ${reserved.slice(0, 200)}`);
        });
      }
      if (site.server && handledByServerCode(site, path)) {
        const app = { appId: site.appId, appName: target.name, version: site.version };
        if (target.version === undefined) return ctx.runtime.handle(req, app, site.server.manifest);
        return previewServerCode(req, ctx, app, site.server.manifest, info?.remoteAddr);
      }
      const onPage = ctx.analytics.enabled && target.version === undefined
        ? (revalidated: boolean) =>
          ctx.analytics.page({
            req,
            remote: () => info?.remoteAddr,
            host,
            app: target.name,
            path,
            revalidated,
          })
        : undefined;
      return serveStatic({ req, path, site, sites: ctx.sites, app: target.name, onPage });
    }
    if (target.kind === "admin") return handleAdmin(req, ctx, info?.remoteAddr);
    return notFoundPage(req, `This node does not serve '${target.host}'.`);
  };
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
): Promise<Response> {
  const url = new URL(req.url);
  ctx.forwarding.note(req, remote, ctx.settings);
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
  const { req, url, server: ctx, remote } = base;
  try {
    const match = matchRoute(routes, req.method, path);
    if (match.kind === "method") {
      throw new HttpError(405, "METHOD_NOT_ALLOWED", `Use ${match.allowed.join(" or ")} here`, {
        headers: { allow: match.allowed.join(", ") },
      });
    }
    if (match.kind === "none") return await orElse();
    const principal = match.route.auth === "public"
      ? undefined
      : authorize(req, ctx.storage, match.route.auth, {
        life: sessionLifetime(ctx.settings),
        origin: ownOrigin(req, isHttps(req, url, remote, ctx.settings)),
      }, { client: clientIp(req, remote, ctx.settings), failures: ctx.tokenFailures });
    return await match.route.handler({ ...base, params: match.params, principal });
  } catch (err) {
    return toErrorResponse(err, ctx.log);
  }
}

/** Opens the database, applies settings, and starts listening. */
export function startServer(options: ServerOptions = {}): Promise<RunningServer> {
  const storage = options.storage ?? Storage.open(options.db ?? ":memory:");
  let settings: Settings;
  try {
    settings = storage.settings.load(options.overrides);
  } catch (err) {
    if (!options.storage) storage.close();
    throw err;
  }
  const log = options.log ?? defaultLog;
  const closing = new AbortController();
  const ctx = withRoutes({
    storage,
    settings,
    sites: new Sites(storage, settings.cache_bytes),
    runtime: new AppRuntime(storage, settings, log),
    analytics: new Analytics(storage, settings, log, options.analytics),
    compressor: new Compressor(),
    upgrader: options.upgrader,
    backups: storage.db.path === ":memory:"
      ? undefined
      : new BackupScheduler({ dbPath: storage.db.path, settings, log }),
    startedAt: Date.now(),
    closing: closing.signal,
    log,
  });
  const handler = createHandler(ctx);
  let server: Deno.HttpServer<Deno.NetAddr>;
  try {
    server = Deno.serve({
      hostname: settings.host,
      port: settings.port,
      onListen: () => {},
      onError: (err) => toErrorResponse(err, ctx.log),
    }, handler);
  } catch (err) {
    ctx.analytics.abort();
    ctx.runtime.close();
    ctx.compressor.close();
    if (!options.storage) storage.close();
    return Promise.reject(err);
  }
  ctx.backups?.start();
  // The spare app host starts once the node listens, so start-up does not wait for it.
  if (storage.apps.anyLiveServerCode()) setTimeout(() => ctx.runtime.prepare(), 0);
  const addr = server.addr;
  const host = addr.hostname.includes(":") ? `[${addr.hostname}]` : addr.hostname;
  return Promise.resolve({
    context: ctx,
    hostname: addr.hostname,
    port: addr.port,
    url: `http://${host}:${addr.port}`,
    finished: server.finished,
    async close() {
      closing.abort(); // ends live streams (log tails) so shutdown need not wait for them
      await server.shutdown();
      await ctx.backups?.close();
      // Events still in memory are written before the database closes.
      await ctx.analytics.close();
      ctx.runtime.close();
      ctx.compressor.close();
      storage.close();
    },
  });
}
