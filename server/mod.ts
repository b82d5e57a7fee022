/**
 * The HTTP front door: host routing, the route table, static serving.
 * @module
 */
export { createHandler, type RunningServer, type ServerOptions, startServer } from "./server.ts";
export { ROUTES } from "./route_table.ts";
export { HttpError } from "./http_error.ts";
export type { UpgradeInfo, Upgrader } from "./handlers/upgrade.ts";
export type { ReleaseInfo } from "./handlers/release_upgrade.ts";
export { ensureLocalPeer, ensureOwner, type FirstRun } from "./first_run.ts";
export type { Route, RouteContext, ServerContext } from "./context.ts";
export { classifyHost, type HostTarget } from "./hosts.ts";
