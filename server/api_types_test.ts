import assert from "node:assert/strict";
import type {
  AppUsage,
  BlobPage,
  CountRow,
  EnvEntry,
  KvPage,
  LimitKey,
  LogEntry,
  Peer,
  SessionInfo,
  StoredEvent,
  TokenInfo,
  TopRow,
} from "../storage/mod.ts";
import type * as Api from "./api_types.ts";
import type { DeployOutcome } from "./deployer.ts";
import type { UpgradeInfo } from "./handlers/upgrade.ts";
import type { RequestRate } from "./request_rate.ts";
import type { CertStatus } from "./certs/mod.ts";
import { ROUTES } from "./route_table.ts";

/** `true` when each type is assignable to the other. */
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;

// Each handler declares its answer (`Answer<Api.X>`) and `ROUTES` checks it
// against `ApiData`, but that only asks the rows to be assignable. Where a
// handler answers with a store's rows as they are, the declared shape must be
// exactly the store's: else a column added to a store would reach clients
// undeclared. A field added to one and not the other fails the type check of
// this file.
const _rows: true[] = [
  true satisfies Same<TokenInfo, Api.Token>,
  true satisfies Same<EnvEntry, Api.EnvVar>,
  true satisfies Same<AppUsage, Api.AppUsage>,
  true satisfies Same<LimitKey, Api.AppLimitName>,
  true satisfies Same<LogEntry, Api.LogEntry>,
  true satisfies Same<SessionInfo & { current: boolean }, Api.Session>,
  true satisfies Same<Omit<Peer, "token">, Api.PeerInfo>,
  true satisfies Same<KvPage, Api.Page<Api.KvEntry>>,
  true satisfies Same<BlobPage, Api.Page<Api.BlobInfo>>,
  true satisfies Same<Omit<CountRow, "bucket">, Api.Counts>,
  true satisfies Same<TopRow, Api.TopEntry>,
  true satisfies Same<ReturnType<RequestRate["snapshot"]>, Api.RequestRate>,
  true satisfies Same<UpgradeInfo, Api.UpgradeInfo>,
  true satisfies Same<CertStatus, Api.Certificate>,
  true satisfies Same<DeployOutcome & { url: string; preview_url: string }, Api.Deployed>,
  true satisfies Same<
    Omit<StoredEvent, "source" | "visitor" | "tags" | "props"> & { props: unknown },
    Api.RecentEvent
  >,
];

// One entry per declared answer, labelled by where it is declared: the
// compiler refuses a missing, unknown or mislabelled key. `ROUTES` refuses a
// route without a declared answer at compile time; the test below refuses a
// declared answer without a route, which no type can see.
const ANSWERS: { [K in keyof Api.ApiData]: "data" } & { [K in keyof Api.PlainAnswers]: "plain" } = {
  "GET /health": "plain",
  "GET /api/system": "data",
  "GET /api/upgrade": "data",
  "POST /api/upgrade": "data",
  "GET /api/upgrade/release": "data",
  "GET /api/stats": "data",
  "GET /api/stats/realtime": "data",
  "GET /api/stats/events": "data",
  "POST /api/deploy": "data",
  "GET /api/apps": "data",
  "GET /api/apps/:name": "data",
  "DELETE /api/apps/:name": "data",
  "POST /api/apps/:name/rollback": "data",
  "POST /api/apps/:name/promote": "data",
  "GET /api/apps/:name/files": "data",
  "GET /api/apps/:name/files/*path": "data",
  "GET /api/apps/:name/env": "data",
  "PUT /api/apps/:name/env": "data",
  "GET /api/apps/:name/limits": "data",
  "PUT /api/apps/:name/limits": "data",
  "GET /api/apps/:name/crons": "data",
  "POST /api/apps/:name/crons/:job/run": "data",
  "GET /api/apps/:name/logs": "data",
  "GET /api/apps/:name/logs/stream": "plain",
  "GET /api/apps/:name/kv": "data",
  "PUT /api/apps/:name/kv/*key": "data",
  "DELETE /api/apps/:name/kv/*key": "data",
  "GET /api/apps/:name/denokv": "data",
  "GET /api/apps/:name/docs": "data",
  "GET /api/apps/:name/docs/:collection": "data",
  "PUT /api/apps/:name/docs/:collection/:id": "data",
  "DELETE /api/apps/:name/docs/:collection/:id": "data",
  "GET /api/apps/:name/blobs": "data",
  "GET /api/apps/:name/blobs/*key": "plain",
  "DELETE /api/apps/:name/blobs/*key": "data",
  "GET /api/tokens": "data",
  "POST /api/tokens": "data",
  "DELETE /api/tokens/:id": "data",
  "POST /api/auth/login": "data",
  "POST /api/auth/logout": "data",
  "GET /api/auth/me": "data",
  "GET /api/auth/sessions": "data",
  "DELETE /api/auth/sessions/:id": "data",
  "GET /api/settings": "data",
  "PUT /api/settings": "data",
  "GET /api/system/requests": "data",
  "POST /api/system/restart": "data",
  "POST /api/peers": "data",
  "DELETE /api/peers/:name": "data",
  "GET /api/peers": "data",
  "GET /api/peers/status": "data",
  "GET /api/replication": "data",
  "PUT /api/replication": "data",
  "DELETE /api/replication": "data",
  "POST /api/standby/promote": "data",
  "GET /api/certificates": "data",
  "GET /api/apps/:name/domains": "data",
  "POST /api/apps/:name/domains": "data",
  "DELETE /api/apps/:name/domains/:domain": "data",
  "GET /api/backup": "plain",
  "POST /mcp": "plain",
  "GET /.well-known/mcp.json": "plain",
  "GET /llms.txt": "plain",
};

Deno.test("every route's answer has a declared shape, and no shape lacks a route", () => {
  const routes = ROUTES.map((r) => `${r.method} ${r.path}`).sort();
  assert.deepEqual(Object.keys(ANSWERS).sort(), routes);
  // Every /api/* answer but the byte and event streams is the envelope.
  for (const route of routes) {
    const plain = ANSWERS[route as keyof typeof ANSWERS] === "plain";
    if (route.includes(" /api/") && plain) {
      assert.match(route, /\/(blobs\/\*key|logs\/stream|backup)$/);
    }
  }
});
