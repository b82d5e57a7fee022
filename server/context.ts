import type { Settings, Storage } from "../storage/mod.ts";
import type { Policy, Principal } from "./auth.ts";
import type { Sites } from "./sites.ts";
import type { AppRuntime } from "../runtime/mod.ts";
import type { Analytics } from "./analytics.ts";
import type { Compressor } from "./compress.ts";
import type { Upgrader } from "./handlers/upgrade.ts";

/** The running node's state, shared by every handler. */
export interface ServerContext {
  storage: Storage;
  settings: Settings;
  sites: Sites;
  runtime: AppRuntime;
  /** Page views and events: counting, buffering, batched writes. */
  analytics: Analytics;
  /** Makes deployed files' gzip and brotli variants off the main thread. */
  compressor: Compressor;
  /** Present when the process that runs this node can swap its program and restart. */
  upgrader?: Upgrader;
  startedAt: number;
  /** Aborted when the node starts shutting down: long-lived responses (SSE) end then. */
  closing?: AbortSignal;
  log: (message: string) => void;
}

export interface RouteContext {
  req: Request;
  url: URL;
  params: Record<string, string>;
  principal?: Principal;
  server: ServerContext;
  /** The socket's peer (see `clientIp` in session.ts for the client's address). */
  remote?: Deno.NetAddr;
}

export type Handler = (c: RouteContext) => Response | Promise<Response>;

export interface Route {
  method: "GET" | "POST" | "PUT" | "PATCH" | "DELETE";
  /** Segments; `:name` captures one segment, a last `*name` the rest of the path. */
  path: string;
  auth: Policy;
  summary: string;
  handler: Handler;
}
