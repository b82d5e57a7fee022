import { configure, Uint8ArrayReader, Uint8ArrayWriter, ZipWriter } from "@zip.js/zip.js";
import {
  type HttpsOptions,
  type RunningServer,
  startServer,
  type Upgrader,
} from "../server/mod.ts";
import type { AnalyticsOptions } from "../server/analytics.ts";
import type { CertManagerOptions } from "../server/certs/mod.ts";
import { type Scope, Storage } from "../storage/mod.ts";
import { hostFetch } from "./http_client.ts";

configure({ useWebWorkers: false });

/** A real ZIP made by zip.js (deflated), from a map of paths to contents. */
export async function makeZip(
  files: Record<string, string | Uint8Array>,
  level = 6,
): Promise<Uint8Array<ArrayBuffer>> {
  const writer = new ZipWriter(new Uint8ArrayWriter(), { useUnicodeFileNames: true });
  for (const [path, content] of Object.entries(files)) {
    const data = typeof content === "string" ? new TextEncoder().encode(content) : content;
    await writer.add(path, new Uint8ArrayReader(data), { level });
  }
  return (await writer.close()) as Uint8Array<ArrayBuffer>;
}

// deno-lint-ignore no-explicit-any -- tests read arbitrary JSON bodies
type Json = any;

export interface TestNode {
  server: RunningServer;
  storage: Storage;
  dir: string;
  dbPath: string;
  /** The base URL to send requests to (127.0.0.1 and the real port). */
  base: string;
  tokens: Record<Scope, string>;
  logs: string[];
  /** A request to `path` with a `Host` header (default: the admin host). */
  fetch(
    path: string,
    init?: RequestInit & { host?: string; token?: string | null },
  ): Promise<Response>;
  /** Deploys files as `name` with an admin token; returns the parsed JSON and status. */
  deploy(
    name: string,
    zip: Uint8Array<ArrayBuffer>,
    query?: string,
  ): Promise<{ status: number; body: Json }>;
  count(table: string): number;
  close(): Promise<void>;
}

/** Starts a real node on a random loopback port with a fresh database file. */
export async function startTestNode(
  opts: {
    settings?: Record<string, string | number>;
    dir?: string;
    /** Analytics clock, salt source and write cadence. */
    analytics?: AnalyticsOptions;
    upgrader?: Upgrader;
    /** Serve HTTPS too (the `port` setting is then the plain HTTP port). */
    https?: HttpsOptions;
    /** Settings for this run only (default: port 0 on 127.0.0.1). */
    overrides?: Record<string, string | number>;
    /** The port to listen on (default: a free one); HTTPS tests point their CA at it. */
    port?: number;
    /** The certificate manager's clock, retry waits and issuer. */
    acme?: CertManagerOptions;
  } = {},
): Promise<TestNode> {
  const dir = opts.dir ?? await Deno.makeTempDir({ prefix: "fazt-test-" });
  const dbPath = `${dir}/data.db`;
  const setup = Storage.open(dbPath);
  for (const [k, v] of Object.entries(opts.settings ?? {})) setup.settings.set(k, v);
  const tokens = {
    read: setup.tokens.create("reader", "read").token,
    deploy: setup.tokens.create("deployer", "deploy").token,
    admin: setup.tokens.create("owner", "admin").token,
  };
  setup.close();
  const logs: string[] = [];
  const storage = Storage.open(dbPath);
  const server = await startServer({
    storage,
    overrides: {
      port: opts.port ?? 0,
      host: "127.0.0.1",
      // The node shares its event loop with the test, and a loaded machine
      // made it shed a test's requests by lag (503 OVERLOADED: two events
      // short in an analytics recount, a 503 in the release feed's test).
      // A test of shedding by lag sets `overload_lag_ms` itself.
      ...(opts.settings?.overload_lag_ms === undefined ? { overload_lag_ms: 0 } : {}),
      ...opts.overrides,
    },
    log: (m) => logs.push(m),
    analytics: opts.analytics,
    upgrader: opts.upgrader,
    https: opts.https,
    acme: opts.acme,
  });
  const base = `http://127.0.0.1:${server.port}`;
  const node: TestNode = {
    server,
    storage,
    dir,
    dbPath,
    base,
    tokens,
    logs,
    fetch(path, init = {}) {
      const { host = `localhost:${server.port}`, token = tokens.admin, ...rest } = init;
      const headers = new Headers(rest.headers);
      if (token && !headers.has("authorization")) headers.set("authorization", `Bearer ${token}`);
      return hostFetch(base + path, { ...rest, headers, host });
    },
    async deploy(name, zip, query = "") {
      const res = await node.fetch(`/api/deploy?name=${encodeURIComponent(name)}${query}`, {
        method: "POST",
        body: zip,
        headers: { "content-type": "application/zip" },
      });
      return { status: res.status, body: await res.json() };
    },
    count(table) {
      return storage.db.get<{ n: number }>(`SELECT COUNT(*) AS n FROM ${table}`)!.n;
    },
    async close() {
      await server.close();
      if (!opts.dir) await Deno.remove(dir, { recursive: true });
    },
  };
  return node;
}

/** `n` random (incompressible) bytes; getRandomValues gives 64 KiB a call. */
export function randomBytes(n: number): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i += 65536) {
    crypto.getRandomValues(out.subarray(i, Math.min(n, i + 65536)));
  }
  return out;
}

/** Runs `fn` against a fresh node (with these stored settings), always closing it. */
export async function withTestNode(
  fn: (node: TestNode) => Promise<void>,
  settings?: Record<string, string | number>,
): Promise<void> {
  const node = await startTestNode({ settings });
  try {
    await fn(node);
  } finally {
    await node.close();
  }
}

/** Deploys files as `name` and asserts it was accepted; returns the deploy's data. */
export async function deployFiles(
  node: TestNode,
  name: string,
  files: Record<string, string | Uint8Array>,
): Promise<Json> {
  const r = await node.deploy(name, await makeZip(files));
  if (r.status !== 201) throw new Error(`deploy of ${name} failed: ${JSON.stringify(r.body)}`);
  return r.body.data;
}
