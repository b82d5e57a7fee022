/**
 * The HTTP front door: host routing, the route table, static serving.
 * @module
 */
export {
  createHandler,
  type RunningServer,
  type ServerOptions,
  type ServerState,
  startServer,
  withRoutes,
} from "./server.ts";
export { ROUTES } from "./route_table.ts";
export { HttpError } from "./http_error.ts";
/** The shape of every API answer (`Api.AppSummary`, `Api.ApiData`…). */
export type * as Api from "./api_types.ts";
export type { UpgradeInfo } from "./handlers/upgrade.ts";
export type { Upgrader } from "./upgrader.ts";
export { ensureLocalPeer, ensureOwner, type FirstRun } from "./first_run.ts";
export type { Route, RouteContext, ServerContext } from "./context.ts";
export { classifyHost, type HostTarget } from "./hosts.ts";
export {
  certifiableDomain,
  type CertificateProvider,
  type CertStatus,
  type KeyPair,
} from "./certs/mod.ts";
