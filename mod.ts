/**
 * fazt as a library: run a node inside another Deno program, talk to a node's
 * API, and type an app's server code.
 *
 * ```ts
 * import { ApiClient, startServer } from "./mod.ts";
 *
 * const server = await startServer({ db: "./data.db", overrides: { port: 0 } });
 * const client = new ApiClient({ url: server.url, token: "…", source: "example" });
 * await server.close();
 * ```
 *
 * The stores, the database and the route table are internal: nothing outside
 * `storage/` writes SQL, so they are not part of this surface.
 * @module
 */
import { startServer as startNode } from "./server/mod.ts";

export { VERSION } from "./version.ts";
export { main } from "./cli/mod.ts";
export { CliError } from "./cli/cli_error.ts";
export { ApiClient, type Connection } from "./cli/api_client.ts";
export type {
  AppContext,
  AppHandler,
  Blobs,
  Doc,
  Docs,
  Env,
  Filter,
  Json,
  Kv,
  Log,
  Page,
  ScheduledEvent,
  StoredBlob,
} from "./runtime/app_types.ts";

/** How to start an embedded node. */
export interface ServerOptions {
  /** The database file, created (mode 0600) when missing; an in-memory one when absent. */
  db?: string;
  /**
   * Settings for this run only, over the stored ones, e.g. `{ port: 0 }`
   * (the settings table of the README lists them). An unknown key or a value
   * out of range is refused.
   */
  overrides?: Readonly<Record<string, string | number>>;
  /** Where log lines go; by default stderr, each line with a timestamp. */
  log?: (message: string) => void;
}

/** A node listening for requests. */
export interface RunningServer {
  /** The address it listens on, as given by the `host` setting. */
  readonly hostname: string;
  /** The port it listens on (the one picked when the `port` setting is 0). */
  readonly port: number;
  /** `http://<listen address>:<port>` */
  readonly url: string;
  /** Stops accepting requests, waits for those in flight, closes the database. */
  close(): Promise<void>;
  /** Settles when the server has stopped. */
  readonly finished: Promise<void>;
}

/** Opens the database (applying migrations), loads the settings and starts listening. */
export async function startServer(options: ServerOptions = {}): Promise<RunningServer> {
  const node = await startNode({ db: options.db, overrides: options.overrides, log: options.log });
  return {
    hostname: node.hostname,
    port: node.port,
    url: node.url,
    finished: node.finished,
    close: () => node.close(),
  };
}
