/** Talking to the node's API: same origin, the session cookie, the `{data}` envelope. */

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details?: Record<string, unknown>,
  ) {
    super(message);
  }
}

type Listener = () => void;
const signedOut = new Set<Listener>();

/** Called whenever an API answer says the session has ended. */
export function onSignedOut(fn: Listener): () => void {
  signedOut.add(fn);
  return () => signedOut.delete(fn);
}

async function parse(res: Response): Promise<unknown> {
  const type = res.headers.get("content-type") ?? "";
  const body = type.includes("application/json") ? await res.json().catch(() => null) : null;
  if (res.ok) return body && typeof body === "object" && "data" in body ? body.data : body;
  const err = body?.error ?? {};
  const error = new ApiError(
    res.status,
    err.code ?? "HTTP_" + res.status,
    err.message ?? `The node answered ${res.status} ${res.statusText}`,
    err.details,
  );
  if (res.status === 401) { for (const fn of signedOut) fn(); }
  throw error;
}

export interface RequestOptions {
  method?: string;
  body?: unknown;
  signal?: AbortSignal;
}

/** Calls the API and returns the envelope's `data`, or throws an `ApiError`. */
export async function api<T = unknown>(path: string, opts: RequestOptions = {}): Promise<T> {
  const init: RequestInit = {
    method: opts.method ?? "GET",
    credentials: "same-origin",
    headers: { accept: "application/json" },
    signal: opts.signal,
  };
  if (opts.body !== undefined) {
    init.body = JSON.stringify(opts.body);
    (init.headers as Record<string, string>)["content-type"] = "application/json";
  }
  let res: Response;
  try {
    res = await fetch(path, init);
  } catch (err) {
    if ((err as Error).name === "AbortError") throw err;
    throw new ApiError(0, "NETWORK", "The node could not be reached. Is it running?");
  }
  return await parse(res) as T;
}

/** Uploads with progress (fetch cannot report upload progress; XHR can). */
export function upload<T>(
  path: string,
  body: FormData,
  onProgress: (fraction: number) => void,
): Promise<T> {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open("POST", path);
    xhr.setRequestHeader("accept", "application/json");
    xhr.upload.onprogress = (e) => {
      if (e.lengthComputable) onProgress(e.loaded / e.total);
    };
    xhr.onerror = () => reject(new ApiError(0, "NETWORK", "The upload was interrupted"));
    xhr.onload = () => {
      const res = new Response(xhr.status === 204 ? null : xhr.responseText, {
        status: xhr.status,
        headers: { "content-type": xhr.getResponseHeader("content-type") ?? "" },
      });
      parse(res).then((d) => resolve(d as T), reject);
    };
    xhr.send(body);
  });
}

// Shapes of the answers the dashboard reads.

export interface Me {
  kind: "session" | "token";
  name: string;
  scope: "read" | "deploy" | "admin";
  username?: string;
  expires_at?: number;
}

export interface SystemInfo {
  version: string;
  os: string;
  arch: string;
  deno: string;
  uptime_s: number;
  memory: { rss_bytes: number; heap_used_bytes: number };
  database: { size_bytes: number };
  apps: number;
  cache: { files: number; bytes: number; max_bytes: number };
  dropped_events?: number;
  analytics?: { dropped_events?: number };
  [key: string]: unknown;
}

export interface AppSummary {
  name: string;
  live_version: number | null;
  files: number;
  bytes: number;
  versions: number;
  last_deploy_at: number | null;
  created_at: number;
  url: string;
  server_code?: boolean;
}

export interface Version {
  number: number;
  files: number;
  bytes: number;
  deployed_by: string | null;
  created_at: number;
  live: boolean;
}

export interface AppDetail {
  name: string;
  live_version: number | null;
  created_at: number;
  updated_at: number;
  url: string;
  versions: Version[];
  server?: {
    code: boolean;
    manifest: {
      net: string[];
      routes: string[];
      static_first: boolean;
      timeout_ms?: number;
      memory_mb?: number;
      indexes: Record<string, string[]>;
    } | null;
  };
}

export interface FileEntry {
  path: string;
  size: number;
  hash: string;
}

export interface LogEntry {
  id: number;
  level: "debug" | "info" | "warn" | "error";
  message: string;
  created_at: number;
}

export interface Token {
  id: number;
  name: string;
  scope: "read" | "deploy" | "admin";
  created_at: number;
  last_used_at: number | null;
}

export interface Setting {
  key: string;
  value: string | number;
  default: string | number;
  stored: boolean;
  kind: "string" | "int";
  min?: number;
  max?: number;
}

/** `GET /api/upgrade` */
export interface UpgradeInfo {
  version: string;
  form: string;
  os: string;
  arch: string;
  can_upgrade: boolean;
  reason?: string;
  signature_required: boolean;
}
