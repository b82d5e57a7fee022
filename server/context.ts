import type { Settings, Storage } from "../storage/mod.ts";
import type { Policy, Principal } from "./auth.ts";
import type { Sites } from "./sites.ts";
import type { AppRuntime } from "../runtime/app_runtime.ts";

/** The running node's state, shared by every handler. */
export interface ServerContext {
  storage: Storage;
  settings: Settings;
  sites: Sites;
  runtime: AppRuntime;
  startedAt: number;
  log: (message: string) => void;
}

export interface RouteContext {
  req: Request;
  url: URL;
  params: Record<string, string>;
  principal?: Principal;
  server: ServerContext;
}

export type Handler = (c: RouteContext) => Response | Promise<Response>;

export interface Route {
  method: "GET" | "POST" | "PUT" | "PATCH" | "DELETE";
  /** Segments; `:name` captures one segment. */
  path: string;
  auth: Policy;
  summary: string;
  handler: Handler;
}
