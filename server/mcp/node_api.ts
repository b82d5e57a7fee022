import type { Scope } from "../../storage/mod.ts";

/** A failed call, carrying the API's error code (`APP_NOT_FOUND`, `FORBIDDEN`, `UNREACHABLE`…). */
export class ToolError extends Error {
  constructor(readonly code: string, message: string, readonly details?: unknown) {
    super(message);
    this.name = "ToolError";
  }
}

/** A request body for the node's API: JSON, or a ZIP archive for `/api/deploy`. */
export type ApiBody = { json: unknown } | { zip: Uint8Array };

/**
 * One fazt node's `/api`, as the MCP tools see it: over HTTP with a peer's
 * token (`fazt mcp`, stdio) or in-process with the caller's token (`/mcp`).
 * Resolves with the envelope's `data` (`T`, from `server/api_types.ts`);
 * rejects with a `ToolError`.
 */
export interface NodeApi {
  /** The name tools report (a peer name, or `local` on the node itself). */
  readonly server: string;
  readonly url: string;
  request<T = unknown>(method: string, path: string, body?: ApiBody): Promise<T>;
}

/** A node the tools can act on, as `fazt_servers_list` shows it (never with its token). */
export interface ServerEntry {
  name: string;
  url: string;
  is_default: boolean;
  version: string | null;
  last_seen_at: number | null;
}

/** What a transport gives the shared tools. */
export interface ToolHost {
  transport: "stdio" | "http";
  /** The caller's scope over HTTP: tools needing more are not listed. Stdio lists all. */
  scope?: Scope;
  servers(): ServerEntry[];
  /** The node to act on: a named peer (stdio only), else the default one. */
  node(server?: string): NodeApi;
  /** Stdio only: zips a local folder, so `fazt_deploy` can take a path. */
  zipFolder?(path: string): Promise<{ zip: Uint8Array; files: number }>;
}
