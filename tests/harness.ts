/**
 * The node's request handler in-process: `createHandler` over a fresh
 * in-memory database, with no socket and no port. For tests that need HTTP
 * semantics (status, headers, bodies, auth) but not a network: requests are
 * plain `Request` objects, so a `Host` header is set as given.
 * @module
 */
import { createHandler, type ServerContext, type ServerState, withRoutes } from "../server/mod.ts";
import { Analytics } from "../server/analytics.ts";
import { Compressor } from "../server/compress.ts";
import { Sites } from "../server/sites.ts";
import { AppRuntime } from "../runtime/app_runtime.ts";
import { type Scope, Storage } from "../storage/mod.ts";
import { makeZip } from "./helpers.ts";

// deno-lint-ignore no-explicit-any -- tests read arbitrary JSON bodies
type Json = any;

export interface RequestOptions extends RequestInit {
  /** The `Host` header (default: the admin host, `localhost`). */
  host?: string;
  /** A Bearer token (default: the admin token; `null` sends none). */
  token?: string | null;
  /** The socket peer the handler sees (default `127.0.0.1`). */
  remote?: string;
}

export interface Harness {
  readonly ctx: ServerContext;
  readonly storage: Storage;
  readonly tokens: Record<Scope, string>;
  /** Lines the node logged. */
  readonly logs: string[];
  request(path: string, init?: RequestOptions): Promise<Response>;
  /** Deploys files as `name` through the API; throws unless it was accepted. */
  deploy(name: string, files: Record<string, string | Uint8Array>, query?: string): Promise<Json>;
  close(): Promise<void>;
}

/** A node's handler over an in-memory database, with `read`, `deploy` and `admin` tokens. */
export function startHarness(
  opts: { settings?: Record<string, string | number> } = {},
): Harness {
  const storage = Storage.open(":memory:");
  for (const [k, v] of Object.entries(opts.settings ?? {})) storage.settings.set(k, v);
  const tokens = {
    read: storage.tokens.create("reader", "read").token,
    deploy: storage.tokens.create("deployer", "deploy").token,
    admin: storage.tokens.create("owner", "admin").token,
  };
  const settings = storage.settings.load();
  const logs: string[] = [];
  const log = (m: string) => logs.push(m);
  const closing = new AbortController();
  const state: ServerState = {
    storage,
    settings,
    sites: new Sites(storage, settings.cache_bytes),
    runtime: new AppRuntime(storage, settings, log),
    analytics: new Analytics(storage, settings, log),
    compressor: new Compressor(),
    startedAt: Date.now(),
    closing: closing.signal,
    log,
  };
  const ctx = withRoutes(state);
  const handler = createHandler(ctx);
  const harness: Harness = {
    ctx,
    storage,
    tokens,
    logs,
    async request(path, init = {}) {
      const { host = "localhost", token = tokens.admin, remote = "127.0.0.1", ...rest } = init;
      const headers = new Headers(rest.headers);
      headers.set("host", host);
      if (token && !headers.has("authorization")) headers.set("authorization", `Bearer ${token}`);
      const req = new Request(`http://${host}${path}`, { ...rest, headers });
      return await handler(req, {
        remoteAddr: { transport: "tcp", hostname: remote, port: 40000 },
        completed: Promise.resolve(),
      });
    },
    async deploy(name, files, query = "") {
      const res = await harness.request(`/api/deploy?name=${encodeURIComponent(name)}${query}`, {
        method: "POST",
        body: await makeZip(files),
        headers: { "content-type": "application/zip" },
      });
      const body = await res.json();
      if (res.status !== 201) throw new Error(`deploy of ${name} failed: ${JSON.stringify(body)}`);
      return body.data;
    },
    async close() {
      closing.abort();
      await ctx.analytics.close();
      ctx.runtime.close();
      ctx.compressor.close();
      storage.close();
    },
  };
  return harness;
}
