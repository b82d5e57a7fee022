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
export { disableChanges, enableChanges, type ReplicationRequest } from "./replication_settings.ts";
export {
  type ReplicaRestoreCode,
  ReplicaRestoreError,
  type ReplicaRestoreOptions,
  restoreFromReplica,
} from "./replica_restore.ts";
export { type Promotion, Standby, type StandbyOptions } from "./standby.ts";
export type { Replicator } from "./replicator.ts";
export type { HttpsOptions, TlsCertificate, TlsCertificates } from "./tls_front.ts";
export { StaticCertificates } from "./static_certificates.ts";
export type { DoorLimits, DoorStats } from "./front_door.ts";
export {
  certifiableDomain,
  type CertificateProvider,
  type CertStatus,
  type KeyPair,
} from "./certs/mod.ts";
