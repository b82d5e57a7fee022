import type { ApiData, PlainAnswers } from "./api_types.ts";
import type { Route, RouteContext } from "./context.ts";
import type { Answer, JsonAnswer } from "./respond.ts";
import { deleteApp, getApp, listApps, promoteApp, rollbackApp } from "./handlers/apps.ts";
import { getFile, listFiles } from "./handlers/app_files.ts";
import { llmsTxt, mcpEndpoint, wellKnownMcp } from "./handlers/mcp.ts";
import { listEnv, putEnv } from "./handlers/app_env.ts";
import { getLimits, putLimits } from "./handlers/app_limits.ts";
import { listCrons, runCron } from "./handlers/crons.ts";
import { appLogs } from "./handlers/app_logs.ts";
import { deploy } from "./handlers/deploy.ts";
import { events, realtime, stats } from "./handlers/stats.ts";
import { health, system } from "./handlers/system.ts";
import { downloadBackup } from "./handlers/backup.ts";
import {
  deleteReplication,
  getReplication,
  promoteStandby,
  putReplication,
} from "./handlers/replication.ts";
import { upgradeInfo } from "./handlers/upgrade.ts";
import { postUpgrade, releaseInfo } from "./handlers/release_upgrade.ts";
import { createToken, listTokens, revokeToken } from "./handlers/tokens.ts";
import {
  deleteBlob,
  deleteDoc,
  deleteKv,
  findDocs,
  getBlob,
  listBlobs,
  listCollections,
  listDenoKv,
  listKv,
  replaceDoc,
  replaceKv,
} from "./handlers/app_data.ts";
import { streamLogs } from "./handlers/log_stream.ts";
import { listPeers, peersStatus } from "./handlers/peers_status.ts";
import { systemRequests } from "./handlers/requests.ts";
import { restartNode } from "./handlers/restart.ts";
import { addPeer, removePeer } from "./handlers/peers.ts";
import { listSessions, login, logout, me, revokeSession } from "./handlers/login.ts";
import { getSettings, putSettings } from "./handlers/settings.ts";
import { acmeChallenge, listCertificates } from "./handlers/certificates.ts";
import { addDomain, listDomains, removeDomain } from "./handlers/domains.ts";
import {
  analyticsScript,
  legacyPixel,
  legacyTrack,
  trackEvent,
  trackPixel,
  trackPreflight,
} from "./tracking.ts";

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
    handler: upgradeInfo,
  },
  {
    method: "POST",
    path: "/api/upgrade",
    auth: "admin",
    summary:
      'Upload a newer fazt (`?sha256=`, `&signature=` when keyed), or `{"from":"feed"}` to take it from the release feed: checked, swapped, restarted',
    handler: postUpgrade,
  },
  {
    method: "GET",
    path: "/api/upgrade/release",
    auth: "admin",
    summary:
      "What the release feed offers this node (`?version=`, `?feed=`): checked, not downloaded",
    handler: releaseInfo,
  },
  {
    method: "GET",
    path: "/api/stats",
    auth: "read",
    summary: "Analytics: totals, time series, top lists (and v0.9's fields)",
    handler: stats,
  },
  {
    method: "GET",
    path: "/api/stats/realtime",
    auth: "read",
    summary: "Visitors of the last 5 minutes and their pages",
    handler: realtime,
  },
  {
    method: "GET",
    path: "/api/stats/events",
    auth: "read",
    summary: "Named events over time, with the newest",
    handler: events,
  },
  {
    method: "POST",
    path: "/api/deploy",
    auth: "deploy",
    summary: "Deploy a ZIP as a new version (`?name=`, `&draft=1`; or multipart)",
    handler: deploy,
  },
  { method: "GET", path: "/api/apps", auth: "read", summary: "List apps", handler: listApps },
  {
    method: "GET",
    path: "/api/apps/:name",
    auth: "read",
    summary: "One app with its versions",
    handler: getApp,
  },
  {
    method: "DELETE",
    path: "/api/apps/:name",
    auth: "admin",
    summary: "Delete an app and its versions",
    handler: deleteApp,
  },
  {
    method: "POST",
    path: "/api/apps/:name/rollback",
    auth: "deploy",
    summary: "Make an earlier version live",
    handler: rollbackApp,
  },
  {
    method: "POST",
    path: "/api/apps/:name/promote",
    auth: "deploy",
    summary: "Make a version (a draft) live",
    handler: promoteApp,
  },
  {
    method: "GET",
    path: "/api/apps/:name/domains",
    auth: "read",
    summary: "An app's custom domains, each with its certificate's state",
    handler: listDomains,
  },
  {
    method: "POST",
    path: "/api/apps/:name/domains",
    auth: "admin",
    summary:
      'Serve the app on a custom domain `{"name": "shop.example.com"}` (with HTTPS: its certificate is requested)',
    handler: addDomain,
  },
  {
    method: "DELETE",
    path: "/api/apps/:name/domains/:domain",
    auth: "admin",
    summary: "Stop serving the app on a custom domain (its certificate is no longer renewed)",
    handler: removeDomain,
  },
  {
    method: "GET",
    path: "/api/apps/:name/files",
    auth: "read",
    summary: "The files of a version (`?version=`; default: the live one)",
    handler: listFiles,
  },
  {
    method: "GET",
    path: "/api/apps/:name/files/*path",
    auth: "read",
    summary: "One file of a version, text or base64",
    handler: getFile,
  },
  {
    method: "GET",
    path: "/api/apps/:name/env",
    auth: "read",
    summary: "Names of an app's env vars (never values)",
    handler: listEnv,
  },
  {
    method: "PUT",
    path: "/api/apps/:name/env",
    auth: "admin",
    summary: "Set or remove an app's env vars",
    handler: putEnv,
  },
  {
    method: "GET",
    path: "/api/apps/:name/limits",
    auth: "read",
    summary: "An app's limits (defaults and overrides) and the bytes it stores",
    handler: getLimits,
  },
  {
    method: "PUT",
    path: "/api/apps/:name/limits",
    auth: "admin",
    summary: "Override an app's limits (`null`: back to the node's default)",
    handler: putLimits,
  },
  {
    method: "GET",
    path: "/api/apps/:name/crons",
    auth: "read",
    summary: "An app's scheduled jobs, next and last runs, and recent runs",
    handler: listCrons,
  },
  {
    method: "POST",
    path: "/api/apps/:name/crons/:job/run",
    auth: "deploy",
    summary: "Run an app's scheduled job now",
    handler: runCron,
  },
  {
    method: "GET",
    path: "/api/apps/:name/logs",
    auth: "read",
    summary: "An app's recent log lines, oldest first (`?limit=&after=`)",
    handler: appLogs,
  },
  // The owner's dashboard: live log tail, an app's data (read, delete, replace a value or a document).
  {
    method: "GET",
    path: "/api/apps/:name/logs/stream",
    auth: "read",
    summary: "An app's log as Server-Sent Events, a live tail (`Last-Event-ID` resumes)",
    handler: streamLogs,
  },
  {
    method: "GET",
    path: "/api/apps/:name/kv",
    auth: "admin",
    summary: "An app's key-value entries (`?prefix=&limit=&cursor=`)",
    handler: listKv,
  },
  {
    method: "PUT",
    path: "/api/apps/:name/kv/*key",
    auth: "admin",
    summary: 'Replace the value of one of an app\'s live keys (`{"value": …}`; its expiry stays)',
    handler: replaceKv,
  },
  {
    method: "DELETE",
    path: "/api/apps/:name/kv/*key",
    auth: "admin",
    summary: "Delete one of an app's keys",
    handler: deleteKv,
  },
  {
    method: "GET",
    path: "/api/apps/:name/denokv",
    auth: "admin",
    summary: "An app's Deno KV entries, as text (`?limit=&cursor=`)",
    handler: listDenoKv,
  },
  {
    method: "GET",
    path: "/api/apps/:name/docs",
    auth: "admin",
    summary: "An app's document collections with counts",
    handler: listCollections,
  },
  {
    method: "GET",
    path: "/api/apps/:name/docs/:collection",
    auth: "admin",
    summary: "Query a collection (`?filter={json}&sort={json}&limit=&cursor=`)",
    handler: findDocs,
  },
  {
    method: "PUT",
    path: "/api/apps/:name/docs/:collection/:id",
    auth: "admin",
    summary: "Replace one document (a JSON object; its id stays)",
    handler: replaceDoc,
  },
  {
    method: "DELETE",
    path: "/api/apps/:name/docs/:collection/:id",
    auth: "admin",
    summary: "Delete one document",
    handler: deleteDoc,
  },
  {
    method: "GET",
    path: "/api/apps/:name/blobs",
    auth: "admin",
    summary: "An app's blobs, metadata only (`?prefix=&limit=&cursor=`)",
    handler: listBlobs,
  },
  {
    method: "GET",
    path: "/api/apps/:name/blobs/*key",
    auth: "admin",
    summary: "Download one blob (as an attachment)",
    handler: getBlob,
  },
  {
    method: "DELETE",
    path: "/api/apps/:name/blobs/*key",
    auth: "admin",
    summary: "Delete one blob",
    handler: deleteBlob,
  },
  {
    method: "GET",
    path: "/api/tokens",
    auth: "admin",
    summary: "List API tokens",
    handler: listTokens,
  },
  {
    method: "POST",
    path: "/api/tokens",
    auth: "admin",
    summary: "Create an API token",
    handler: createToken,
  },
  {
    method: "DELETE",
    path: "/api/tokens/:id",
    auth: "admin",
    summary: "Revoke an API token",
    handler: revokeToken,
  },
  // Owner sign-in for the dashboard (a session cookie on the admin host only).
  {
    method: "POST",
    path: "/api/auth/login",
    auth: "public",
    summary: "Sign in as the owner: sets the session cookie (rate-limited)",
    handler: login,
  },
  {
    method: "POST",
    path: "/api/auth/logout",
    auth: "public",
    summary: "End this browser's session and clear its cookie",
    handler: logout,
  },
  {
    method: "GET",
    path: "/api/auth/me",
    auth: "read",
    summary: "Who is calling (`kind`: `session` or `token`)",
    handler: me,
  },
  {
    method: "GET",
    path: "/api/auth/sessions",
    auth: "admin",
    summary: "Signed-in browsers",
    handler: listSessions,
  },
  {
    method: "DELETE",
    path: "/api/auth/sessions/:id",
    auth: "admin",
    summary: "Sign one browser out",
    handler: revokeSession,
  },
  {
    method: "GET",
    path: "/api/settings",
    auth: "admin",
    summary: "Every setting: value, default, range",
    handler: getSettings,
  },
  {
    method: "PUT",
    path: "/api/settings",
    auth: "admin",
    summary: 'Change settings `{"key": value}` (all or none; applied at the next start)',
    handler: putSettings,
  },
  {
    method: "GET",
    path: "/api/system/requests",
    auth: "read",
    summary: "Requests per minute over the last hour",
    handler: systemRequests,
  },
  {
    method: "POST",
    path: "/api/system/restart",
    auth: "admin",
    summary: "Stop and start the node again on the same program: saved settings apply",
    handler: restartNode,
  },
  {
    method: "GET",
    path: "/api/certificates",
    auth: "read",
    summary:
      "HTTPS: every served name's certificate: issuer, expiry, last error, next attempt (never keys)",
    handler: listCertificates,
  },
  {
    method: "GET",
    path: "/api/peers",
    auth: "admin",
    summary: "Known peers (never their tokens)",
    handler: listPeers,
  },
  {
    method: "POST",
    path: "/api/peers",
    auth: "admin",
    summary:
      'Add a peer `{"name", "url", "token"}` (as `fazt remote add`; the token is never answered)',
    handler: addPeer,
  },
  {
    method: "DELETE",
    path: "/api/peers/:name",
    auth: "admin",
    summary: "Remove a peer",
    handler: removePeer,
  },
  {
    method: "GET",
    path: "/api/peers/status",
    auth: "admin",
    summary: "Each peer's `/health` checked live: reachable, version, latency",
    handler: peersStatus,
  },
  {
    method: "GET",
    path: "/api/backup",
    auth: "admin",
    summary: "Download a consistent snapshot of the database, checked (SQLite file)",
    handler: downloadBackup,
  },
  {
    method: "GET",
    path: "/api/replication",
    auth: "read",
    summary: "Replication: state, replica position, lag, last error (never credentials)",
    handler: getReplication,
  },
  {
    method: "PUT",
    path: "/api/replication",
    auth: "admin",
    summary: "Replicate to a replica URL (with credentials); applied at once",
    handler: putReplication,
  },
  {
    method: "DELETE",
    path: "/api/replication",
    auth: "admin",
    summary: "Stop replicating and forget the replica's credentials",
    handler: deleteReplication,
  },
  {
    method: "POST",
    path: "/api/standby/promote",
    auth: "admin",
    summary: "Promote this warm standby to a primary that replicates (202)",
    handler: promoteStandby,
  },
  {
    method: "POST",
    path: "/mcp",
    auth: "read",
    summary: "MCP over Streamable HTTP; the token's scope decides the tools",
    handler: mcpEndpoint,
  },
  {
    method: "GET",
    path: "/.well-known/mcp.json",
    auth: "public",
    summary: "How an agent connects to this node",
    handler: wellKnownMcp,
  },
  {
    method: "GET",
    path: "/llms.txt",
    auth: "public",
    summary: "This node described for language models",
    handler: llmsTxt,
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
    handler: acmeChallenge,
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
