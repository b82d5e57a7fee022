import type { Checkpointer, Settings, Storage } from "../storage/mod.ts";
import type { Policy, Principal } from "./auth.ts";
import type { Sites } from "./sites.ts";
import type { AppRuntime, CronScheduler } from "../runtime/mod.ts";
import type { Analytics } from "./analytics.ts";
import type { Compressor } from "./compress.ts";
import type { Upgrader } from "./upgrader.ts";
import type { FailureWindows } from "./failure_windows.ts";
import type { ForwardingWatch } from "./forwarding_watch.ts";
import type { CustomDomains } from "./custom_domains.ts";
import type { CertManager } from "./certs/mod.ts";
import type { BackupScheduler } from "./backup_scheduler.ts";
import type { Replicator } from "./replicator.ts";
import type { Standby } from "./standby.ts";
import type { IdleTrim } from "./idle_trim.ts";

/** The running node's state, shared by every handler. */
export interface ServerContext {
  storage: Storage;
  settings: Settings;
  /** Settings this run takes from its command line rather than the database. */
  fromFlags?: ReadonlySet<string>;
  sites: Sites;
  runtime: AppRuntime;
  /** Page views and events: counting, buffering, batched writes. */
  analytics: Analytics;
  /** Makes deployed files' gzip and brotli variants off the main thread. */
  compressor: Compressor;
  /** Present when the process that runs this node can swap its program and restart. */
  upgrader?: Upgrader;
  /** Scheduled backups and downloads; absent when the database is in memory. */
  backups?: BackupScheduler;
  /** Continuous replication (Litestream); absent in memory and on a standby. */
  replication?: Replicator;
  /** Present when this node is a warm standby: writes are refused with 503 STANDBY. */
  standby?: Standby;
  startedAt: number;
  /** Gives freed memory back to the system when requests stop; absent without FFI on glibc. */
  idleTrim?: IdleTrim;
  /** Runs the WAL's checkpoints off the serving thread under steady writes; absent in memory. */
  checkpointer?: Checkpointer;
  /** Aborted when the node starts shutting down: long-lived responses (SSE) end then. */
  closing?: AbortSignal;
  log: (message: string) => void;
  /** Failed token authentications per client address, this run. Set by `withRoutes`. */
  tokenFailures: FailureWindows;
  /** Forwarding headers the admin host saw and ignored, this run. Set by `withRoutes`. */
  forwarding: ForwardingWatch;
  /** Custom domain → app, in memory. Set by `withRoutes`. */
  domains: CustomDomains;
  /**
   * HTTPS certificates: issued and renewed over ACME when `https` is on,
   * served to the HTTPS listener from `certs.tls`, HTTP-01 answers in
   * `certs.challenges`. Set by `withRoutes` unless given.
   */
  certs: CertManager;
  /** Apps' scheduled jobs: timers, runs, history. Set by `withRoutes`; runs once started. */
  crons: CronScheduler;
  /** The admin host's API routes (what `/llms.txt` lists). Set by `createHandler`. */
  routes: readonly Route[];
  /**
   * Answers a request as the admin host does, in-process: MCP tools over
   * HTTP call the API through it. Set by `createHandler`.
   */
  dispatch(req: Request): Promise<Response>;
}

export interface RouteContext {
  req: Request;
  url: URL;
  params: Record<string, string>;
  principal?: Principal;
  server: ServerContext;
  /** The socket's peer (see `clientIp` in request_origin.ts for the client's address). */
  remote?: Deno.NetAddr;
  /** On an app host: the app it serves, with the version when it is a preview host. */
  app?: { name: string; version?: number };
}

export type Handler = (c: RouteContext) => Response | Promise<Response>;

export interface Route {
  /**
   * Where it is answered: the admin host (the default), every app host, or
   * `any` host at all, before the host is looked at.
   */
  host?: "admin" | "app" | "any";
  /** `GET` routes answer `HEAD` too; an `OPTIONS` route is a CORS preflight. */
  method: "GET" | "POST" | "PUT" | "PATCH" | "DELETE" | "OPTIONS";
  /** Segments; `:name` captures one segment, a last `*name` the rest of the path. */
  path: string;
  auth: Policy;
  summary: string;
  handler: Handler;
  /**
   * Answered even while the front door sheds load (admin host only): a
   * liveness probe, so a busy node is not taken for a dead one.
   */
  unshed?: true;
}
