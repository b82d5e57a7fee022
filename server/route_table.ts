import { lazyExport, once } from "../lib/lazy.ts";
import type { ApiData, PlainAnswers } from "./api_types.ts";
import type { Route, RouteContext } from "./context.ts";
import type { Answer, JsonAnswer } from "./respond.ts";
import { health, system } from "./handlers/system.ts";
import {
  analyticsScript,
  legacyPixel,
  legacyTrack,
  trackEvent,
  trackPixel,
  trackPreflight,
} from "./tracking.ts";

// Handlers load on their first request: a node starts without them.
const appsModule = once(() => import("./handlers/apps.ts"));
const appFilesModule = once(() => import("./handlers/app_files.ts"));
const mcpModule = once(() => import("./handlers/mcp.ts"));
const appEnvModule = once(() => import("./handlers/app_env.ts"));
const appLimitsModule = once(() => import("./handlers/app_limits.ts"));
const cronsModule = once(() => import("./handlers/crons.ts"));
const appLogsModule = once(() => import("./handlers/app_logs.ts"));
const deployModule = once(() => import("./handlers/deploy.ts"));
const statsModule = once(() => import("./handlers/stats.ts"));
const backupModule = once(() => import("./handlers/backup.ts"));
const replicationModule = once(() => import("./handlers/replication.ts"));
const upgradeModule = once(() => import("./handlers/upgrade.ts"));
const releaseUpgradeModule = once(() => import("./handlers/release_upgrade.ts"));
const tokensModule = once(() => import("./handlers/tokens.ts"));
const appDataModule = once(() => import("./handlers/app_data.ts"));
const logStreamModule = once(() => import("./handlers/log_stream.ts"));
const peersStatusModule = once(() => import("./handlers/peers_status.ts"));
const requestsModule = once(() => import("./handlers/requests.ts"));
const restartModule = once(() => import("./handlers/restart.ts"));
const peersModule = once(() => import("./handlers/peers.ts"));
const loginModule = once(() => import("./handlers/login.ts"));
const settingsModule = once(() => import("./handlers/settings.ts"));
const certificatesModule = once(() => import("./handlers/certificates.ts"));
const domainsModule = once(() => import("./handlers/domains.ts"));

type RouteKey = keyof ApiData | keyof PlainAnswers;

/** What the route `"METHOD path"` answers: its envelope, its plain JSON, or some other body. */
type AnswerOf<K extends RouteKey> = K extends keyof ApiData ? Answer<ApiData[K]>
  : K extends keyof PlainAnswers ? PlainAnswers[K] extends string ? Response
    : JsonAnswer<PlainAnswers[K]>
  : never;

/**
 * A `ROUTES` line whose method and path are declared in `server/api_types.ts`
 * and whose handler answers what is declared there: a route without a
 * declared answer, or a handler whose answer differs, does not compile.
 */
type DeclaredRoute = {
  [K in RouteKey]: K extends `${infer M extends Route["method"]} ${infer P}` ?
      & Omit<Route, "method" | "path" | "handler">
      & {
        method: M;
        path: P;
        handler: (c: RouteContext) => AnswerOf<K> | Promise<AnswerOf<K>>;
      }
    : never;
}[RouteKey];

/**
 * Every route of the admin host's API, with who may call it; a test walks
 * this table to prove each policy holds. With `TRACKING_ROUTES` below, it is
 * everything fazt routes: nothing is routed anywhere else (other requests
 * are an app's files or server code, or the dashboard).
 */
export const ROUTES: readonly Route[] = [
  {
    method: "GET",
    path: "/health",
    auth: "public",
    summary: "Liveness, version, uptime",
    handler: health,
    // An upgrade's check or a supervisor must not take a busy node for a dead one.
    unshed: true,
  },
  {
    method: "GET",
    path: "/api/system",
    auth: "read",
    summary: "Node facts: version, OS, memory, database",
    handler: system,
  },
  {
    method: "GET",
    path: "/api/upgrade",
    auth: "read",
    summary: "Whether this node can replace its program, and its form and platform",
    handler: lazyExport(upgradeModule, "upgradeInfo"),
  },
  {
    method: "POST",
    path: "/api/upgrade",
    auth: "admin",
    summary:
      'Upload a newer fazt (`?sha256=`, `&signature=` when keyed), or `{"from":"feed"}` to take it from the release feed: checked, swapped, restarted',
    handler: lazyExport(releaseUpgradeModule, "postUpgrade"),
  },
  {
    method: "GET",
    path: "/api/upgrade/release",
    auth: "admin",
    summary:
      "What the release feed offers this node (`?version=`, `?feed=`): checked, not downloaded",
    handler: lazyExport(releaseUpgradeModule, "releaseInfo"),
  },
  {
    method: "GET",
    path: "/api/stats",
    auth: "read",
    summary: "Analytics: totals, time series, top lists (and v0.9's fields)",
    handler: lazyExport(statsModule, "stats"),
  },
  {
    method: "GET",
    path: "/api/stats/realtime",
    auth: "read",
    summary: "Visitors of the last 5 minutes and their pages",
    handler: lazyExport(statsModule, "realtime"),
  },
  {
    method: "GET",
    path: "/api/stats/events",
    auth: "read",
    summary: "Named events over time, with the newest",
    handler: lazyExport(statsModule, "events"),
  },
  {
    method: "POST",
    path: "/api/deploy",
    auth: "deploy",
    summary: "Deploy a ZIP as a new version (`?name=`, `&draft=1`; or multipart)",
    handler: lazyExport(deployModule, "deploy"),
  },
  {
    method: "GET",
    path: "/api/apps",
    auth: "read",
    summary: "List apps",
    handler: lazyExport(appsModule, "listApps"),
  },
  {
    method: "GET",
    path: "/api/apps/:name",
    auth: "read",
    summary: "One app with its versions",
    handler: lazyExport(appsModule, "getApp"),
  },
  {
    method: "DELETE",
    path: "/api/apps/:name",
    auth: "admin",
    summary: "Delete an app and its versions",
    handler: lazyExport(appsModule, "deleteApp"),
  },
  {
    method: "POST",
    path: "/api/apps/:name/rollback",
    auth: "deploy",
    summary: "Make an earlier version live",
    handler: lazyExport(appsModule, "rollbackApp"),
  },
  {
    method: "POST",
    path: "/api/apps/:name/promote",
    auth: "deploy",
    summary: "Make a version (a draft) live",
    handler: lazyExport(appsModule, "promoteApp"),
  },
  {
    method: "GET",
    path: "/api/apps/:name/domains",
    auth: "read",
    summary: "An app's custom domains, each with its certificate's state",
    handler: lazyExport(domainsModule, "listDomains"),
  },
  {
    method: "POST",
    path: "/api/apps/:name/domains",
    auth: "admin",
    summary:
      'Serve the app on a custom domain `{"name": "shop.example.com"}` (with HTTPS: its certificate is requested)',
    handler: lazyExport(domainsModule, "addDomain"),
  },
  {
    method: "DELETE",
    path: "/api/apps/:name/domains/:domain",
    auth: "admin",
    summary: "Stop serving the app on a custom domain (its certificate is no longer renewed)",
    handler: lazyExport(domainsModule, "removeDomain"),
  },
  {
    method: "GET",
    path: "/api/apps/:name/files",
    auth: "read",
    summary: "The files of a version (`?version=`; default: the live one)",
    handler: lazyExport(appFilesModule, "listFiles"),
  },
  {
    method: "GET",
    path: "/api/apps/:name/files/*path",
    auth: "read",
    summary: "One file of a version, text or base64",
    handler: lazyExport(appFilesModule, "getFile"),
  },
  {
    method: "GET",
    path: "/api/apps/:name/env",
    auth: "read",
    summary: "Names of an app's env vars (never values)",
    handler: lazyExport(appEnvModule, "listEnv"),
  },
  {
    method: "PUT",
    path: "/api/apps/:name/env",
    auth: "admin",
    summary: "Set or remove an app's env vars",
    handler: lazyExport(appEnvModule, "putEnv"),
  },
  {
    method: "GET",
    path: "/api/apps/:name/limits",
    auth: "read",
    summary: "An app's limits (defaults and overrides) and the bytes it stores",
    handler: lazyExport(appLimitsModule, "getLimits"),
  },
  {
    method: "PUT",
    path: "/api/apps/:name/limits",
    auth: "admin",
    summary: "Override an app's limits (`null`: back to the node's default)",
    handler: lazyExport(appLimitsModule, "putLimits"),
  },
  {
    method: "GET",
    path: "/api/apps/:name/crons",
    auth: "read",
    summary: "An app's scheduled jobs, next and last runs, and recent runs",
    handler: lazyExport(cronsModule, "listCrons"),
  },
  {
    method: "POST",
    path: "/api/apps/:name/crons/:job/run",
    auth: "deploy",
    summary: "Run an app's scheduled job now",
    handler: lazyExport(cronsModule, "runCron"),
  },
  {
    method: "GET",
    path: "/api/apps/:name/logs",
    auth: "read",
    summary: "An app's recent log lines, oldest first (`?limit=&after=`)",
    handler: lazyExport(appLogsModule, "appLogs"),
  },
  // The owner's dashboard: live log tail, an app's data (read, delete, replace a value or a document).
  {
    method: "GET",
    path: "/api/apps/:name/logs/stream",
    auth: "read",
    summary:
      "An app's log as Server-Sent Events, a live tail (`Last-Event-ID` or `?after=` resumes)",
    handler: lazyExport(logStreamModule, "streamLogs"),
  },
  {
    method: "GET",
    path: "/api/apps/:name/kv",
    auth: "admin",
    summary: "An app's key-value entries (`?prefix=&limit=&cursor=`)",
    handler: lazyExport(appDataModule, "listKv"),
  },
  {
    method: "PUT",
    path: "/api/apps/:name/kv/*key",
    auth: "admin",
    summary: 'Replace the value of one of an app\'s live keys (`{"value": …}`; its expiry stays)',
    handler: lazyExport(appDataModule, "replaceKv"),
  },
  {
    method: "DELETE",
    path: "/api/apps/:name/kv/*key",
    auth: "admin",
    summary: "Delete one of an app's keys",
    handler: lazyExport(appDataModule, "deleteKv"),
  },
  {
    method: "GET",
    path: "/api/apps/:name/denokv",
    auth: "admin",
    summary: "An app's Deno KV entries, as text (`?limit=&cursor=`)",
    handler: lazyExport(appDataModule, "listDenoKv"),
  },
  {
    method: "GET",
    path: "/api/apps/:name/docs",
    auth: "admin",
    summary: "An app's document collections with counts",
    handler: lazyExport(appDataModule, "listCollections"),
  },
  {
    method: "GET",
    path: "/api/apps/:name/docs/:collection",
    auth: "admin",
    summary: "Query a collection (`?filter={json}&sort={json}&limit=&cursor=`)",
    handler: lazyExport(appDataModule, "findDocs"),
  },
  {
    method: "PUT",
    path: "/api/apps/:name/docs/:collection/:id",
    auth: "admin",
    summary: "Replace one document (a JSON object; its id stays)",
    handler: lazyExport(appDataModule, "replaceDoc"),
  },
  {
    method: "DELETE",
    path: "/api/apps/:name/docs/:collection/:id",
    auth: "admin",
    summary: "Delete one document",
    handler: lazyExport(appDataModule, "deleteDoc"),
  },
  {
    method: "GET",
    path: "/api/apps/:name/blobs",
    auth: "admin",
    summary: "An app's blobs, metadata only (`?prefix=&limit=&cursor=`)",
    handler: lazyExport(appDataModule, "listBlobs"),
  },
  {
    method: "GET",
    path: "/api/apps/:name/blobs/*key",
    auth: "admin",
    summary: "Download one blob (as an attachment)",
    handler: lazyExport(appDataModule, "getBlob"),
  },
  {
    method: "DELETE",
    path: "/api/apps/:name/blobs/*key",
    auth: "admin",
    summary: "Delete one blob",
    handler: lazyExport(appDataModule, "deleteBlob"),
  },
  {
    method: "GET",
    path: "/api/tokens",
    auth: "admin",
    summary: "List API tokens",
    handler: lazyExport(tokensModule, "listTokens"),
  },
  {
    method: "POST",
    path: "/api/tokens",
    auth: "admin",
    summary: "Create an API token",
    handler: lazyExport(tokensModule, "createToken"),
  },
  {
    method: "DELETE",
    path: "/api/tokens/:id",
    auth: "admin",
    summary: "Revoke an API token",
    handler: lazyExport(tokensModule, "revokeToken"),
  },
  // Owner sign-in for the dashboard (a session cookie on the admin host only).
  {
    method: "POST",
    path: "/api/auth/login",
    auth: "public",
    summary: "Sign in as the owner: sets the session cookie (rate-limited)",
    handler: lazyExport(loginModule, "login"),
  },
  {
    method: "POST",
    path: "/api/auth/logout",
    auth: "public",
    summary: "End this browser's session and clear its cookie",
    handler: lazyExport(loginModule, "logout"),
  },
  {
    method: "GET",
    path: "/api/auth/me",
    auth: "read",
    summary: "Who is calling (`kind`: `session` or `token`)",
    handler: lazyExport(loginModule, "me"),
  },
  {
    method: "GET",
    path: "/api/auth/sessions",
    auth: "admin",
    summary: "Signed-in browsers",
    handler: lazyExport(loginModule, "listSessions"),
  },
  {
    method: "DELETE",
    path: "/api/auth/sessions/:id",
    auth: "admin",
    summary: "Sign one browser out",
    handler: lazyExport(loginModule, "revokeSession"),
  },
  {
    method: "GET",
    path: "/api/settings",
    auth: "admin",
    summary: "Every setting: value, default, range",
    handler: lazyExport(settingsModule, "getSettings"),
  },
  {
    method: "PUT",
    path: "/api/settings",
    auth: "admin",
    summary: 'Change settings `{"key": value}` (all or none; applied at the next start)',
    handler: lazyExport(settingsModule, "putSettings"),
  },
  {
    method: "GET",
    path: "/api/system/requests",
    auth: "read",
    summary: "Requests per minute over the last hour",
    handler: lazyExport(requestsModule, "systemRequests"),
  },
  {
    method: "POST",
    path: "/api/system/restart",
    auth: "admin",
    summary: "Stop and start the node again on the same program: saved settings apply",
    handler: lazyExport(restartModule, "restartNode"),
  },
  {
    method: "GET",
    path: "/api/certificates",
    auth: "read",
    summary:
      "HTTPS: every served name's certificate: issuer, expiry, last error, next attempt (never keys)",
    handler: lazyExport(certificatesModule, "listCertificates"),
  },
  {
    method: "GET",
    path: "/api/peers",
    auth: "admin",
    summary: "Known peers (never their tokens)",
    handler: lazyExport(peersStatusModule, "listPeers"),
  },
  {
    method: "POST",
    path: "/api/peers",
    auth: "admin",
    summary:
      'Add a peer `{"name", "url", "token"}` (as `fazt remote add`; the token is never answered)',
    handler: lazyExport(peersModule, "addPeer"),
  },
  {
    method: "DELETE",
    path: "/api/peers/:name",
    auth: "admin",
    summary: "Remove a peer",
    handler: lazyExport(peersModule, "removePeer"),
  },
  {
    method: "GET",
    path: "/api/peers/status",
    auth: "admin",
    summary: "Each peer's `/health` checked live: reachable, version, latency",
    handler: lazyExport(peersStatusModule, "peersStatus"),
  },
  {
    method: "GET",
    path: "/api/backup",
    auth: "admin",
    summary: "Download a consistent snapshot of the database, checked (SQLite file)",
    handler: lazyExport(backupModule, "downloadBackup"),
  },
  {
    method: "GET",
    path: "/api/replication",
    auth: "read",
    summary: "Replication: state, replica position, lag, last error (never credentials)",
    handler: lazyExport(replicationModule, "getReplication"),
  },
  {
    method: "PUT",
    path: "/api/replication",
    auth: "admin",
    summary: "Replicate to a replica URL (with credentials); applied at once",
    handler: lazyExport(replicationModule, "putReplication"),
  },
  {
    method: "DELETE",
    path: "/api/replication",
    auth: "admin",
    summary: "Stop replicating and forget the replica's credentials",
    handler: lazyExport(replicationModule, "deleteReplication"),
  },
  {
    method: "POST",
    path: "/api/standby/promote",
    auth: "admin",
    summary: "Promote this warm standby to a primary that replicates (202)",
    handler: lazyExport(replicationModule, "promoteStandby"),
  },
  {
    method: "POST",
    path: "/mcp",
    auth: "read",
    summary: "MCP over Streamable HTTP; the token's scope decides the tools",
    handler: lazyExport(mcpModule, "mcpEndpoint"),
  },
  {
    method: "GET",
    path: "/.well-known/mcp.json",
    auth: "public",
    summary: "How an agent connects to this node",
    handler: lazyExport(mcpModule, "wellKnownMcp"),
  },
  {
    method: "GET",
    path: "/llms.txt",
    auth: "public",
    summary: "This node described for language models",
    handler: lazyExport(mcpModule, "llmsTxt"),
  },
] satisfies DeclaredRoute[];

/**
 * Answered on every host, before the host is looked at: the CA asks for
 * HTTP-01 challenges on the very name it validates.
 */
export const ANY_HOST_ROUTES: readonly Route[] = [
  {
    host: "any",
    method: "GET",
    path: "/.well-known/acme-challenge/:token",
    auth: "public",
    summary: "HTTP-01: the key authorization for a token while the node gets a certificate",
    handler: lazyExport(certificatesModule, "acmeChallenge"),
  },
];

/**
 * fazt's public paths outside the API: the tracking endpoints on every app
 * host (`/_fazt/` is fazt's there, never an app's; a preview host answers
 * but records nothing) and the original's tracking on the admin host.
 */
export const TRACKING_ROUTES: readonly Route[] = [
  {
    host: "app",
    method: "POST",
    path: "/_fazt/track",
    auth: "public",
    summary: "Record an event: {name, path, referrer, props}",
    handler: trackEvent,
  },
  {
    host: "app",
    method: "OPTIONS",
    path: "/_fazt/track",
    auth: "public",
    summary: "Let pages served elsewhere post events (CORS preflight)",
    handler: trackPreflight,
  },
  {
    host: "app",
    method: "GET",
    path: "/_fazt/pixel.gif",
    auth: "public",
    summary: "Record an event from an image (?name=&path=&referrer=)",
    handler: trackPixel,
  },
  {
    host: "app",
    method: "GET",
    path: "/_fazt/a.js",
    auth: "public",
    summary: "The optional page script (SPA navigations, fazt.track)",
    handler: analyticsScript,
  },
  {
    host: "admin",
    method: "POST",
    path: "/track",
    auth: "public",
    summary: "The original's event endpoint: {h, d, p, e, t, q, ref}",
    handler: legacyTrack,
  },
  {
    host: "admin",
    method: "GET",
    path: "/pixel.gif",
    auth: "public",
    summary: "The original's pixel (?domain=&tags=&source=)",
    handler: legacyPixel,
  },
];
