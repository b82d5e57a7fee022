import { CliError } from "./cli_error.ts";

export interface Connection {
  url: string;
  token: string;
  /** Where the connection came from, for error messages. */
  source: string;
}

/** A small client for a node's `/api`, unwrapping the JSON envelope. */
export class ApiClient {
  constructor(readonly conn: Connection) {}

  async request<T = unknown>(
    method: string,
    path: string,
    init: { body?: BodyInit; type?: string; timeoutMs?: number } = {},
  ): Promise<T> {
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
    let text: string;
    try {
      text = await res.text();
    } catch {
      throw new CliError(`${this.conn.url} stopped answering mid-response`, "UNREACHABLE");
    }
    let payload: { data?: T; error?: { code: string; message: string; details?: unknown } };
    try {
      payload = JSON.parse(text);
    } catch {
      throw new CliError(
        `${this.conn.url} answered ${res.status} with something that is not fazt's API`,
        "BAD_RESPONSE",
      );
    }
    if (!res.ok || payload.error) {
      const e = payload.error ?? { code: `HTTP_${res.status}`, message: res.statusText };
      const details = e.details ? ` ${JSON.stringify(e.details)}` : "";
      throw new CliError(`${e.message}${details}`, e.code);
    }
    return payload.data as T;
  }

  get<T = unknown>(path: string): Promise<T> {
    return this.request<T>("GET", path);
  }

  postJson<T = unknown>(path: string, body: unknown): Promise<T> {
    return this.request<T>("POST", path, { body: JSON.stringify(body), type: "application/json" });
  }
}
