import { ApiError, readEnvelope } from "../lib/envelope.ts";
import { CliError } from "./cli_error.ts";

/** Which node to talk to, and how. */
export interface Connection {
  /** The node's base URL, e.g. `https://admin.example.com`. */
  url: string;
  /** An API token made on that node. */
  token: string;
  /** Where the connection came from, for error messages. */
  source: string;
}

/**
 * A small client for a node's `/api`, unwrapping the JSON envelope; `T` is
 * the route's `data` (see `Api` in `server/mod.ts`). Refusals become a
 * `CliError` with the node's code.
 */
export class ApiClient {
  /** Talks to the node `conn` names. */
  constructor(readonly conn: Connection) {}

  /**
   * Sends one request and returns the envelope's `data`. Any failure (no
   * answer, a timeout, an error envelope, a body that is not fazt's) throws a
   * `CliError` whose `code` is the API's error code or `UNREACHABLE`.
   */
  async request<T = unknown>(
    method: string,
    path: string,
    init: { body?: BodyInit; type?: string; timeoutMs?: number } = {},
  ): Promise<T> {
    const res = await this.#send(method, path, init);
    try {
      return await readEnvelope<T>(res);
    } catch (err) {
      throw err instanceof ApiError ? this.#cliError(err, res) : err;
    }
  }

  /**
   * `GET path` for a body that is not the envelope (a file): the response,
   * its body unread, once the node has answered 2xx; a refusal throws as
   * `request` does.
   */
  async download(path: string): Promise<Response> {
    const res = await this.#send("GET", path, {});
    if (res.ok) return res;
    try {
      await readEnvelope(res);
    } catch (err) {
      throw err instanceof ApiError ? this.#cliError(err, res) : err;
    }
    throw new CliError(`${this.conn.url} answered ${res.status}`, "BAD_RESPONSE");
  }

  async #send(
    method: string,
    path: string,
    init: { body?: BodyInit; type?: string; timeoutMs?: number },
  ): Promise<Response> {
    const headers: Record<string, string> = { authorization: `Bearer ${this.conn.token}` };
    if (init.type) headers["content-type"] = init.type;
    const signal = init.timeoutMs ? AbortSignal.timeout(init.timeoutMs) : undefined;
    let res: Response;
    try {
      res = await fetch(new URL(path, this.conn.url), { method, headers, body: init.body, signal });
    } catch {
      if (signal?.aborted) {
        throw new CliError(
          `${this.conn.url} (from ${this.conn.source}) did not answer within ${init.timeoutMs} ms`,
          "UNREACHABLE",
        );
      }
      throw new CliError(
        `cannot reach ${this.conn.url} (from ${this.conn.source}): is the server running?`,
        "UNREACHABLE",
      );
    }
    return res;
  }

  #cliError(err: ApiError, res: Response): CliError {
    switch (err.kind) {
      case "unreadable":
        return new CliError(`${this.conn.url} stopped answering mid-response`, "UNREACHABLE");
      case "too_large":
        return new CliError(`${this.conn.url}: ${err.message}`, err.code);
      case "not_json":
        return new CliError(
          `${this.conn.url} answered ${res.status} with something that is not fazt's API`,
          "BAD_RESPONSE",
        );
      case "status":
        return new CliError(res.statusText, err.code);
      case "api": {
        const details = err.details ? ` ${JSON.stringify(err.details)}` : "";
        return new CliError(`${err.message}${details}`, err.code, 1, { cause: err });
      }
    }
  }

  /** `GET path`. */
  get<T = unknown>(path: string): Promise<T> {
    return this.request<T>("GET", path);
  }

  /** `POST path` with a JSON body. */
  postJson<T = unknown>(path: string, body: unknown): Promise<T> {
    return this.request<T>("POST", path, { body: JSON.stringify(body), type: "application/json" });
  }
}
