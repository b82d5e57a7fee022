/** Talking to the node's API: same origin, the session cookie, the `{data}` envelope. */
import type * as Api from "../../server/api_types.ts";
import { ApiError as EnvelopeError, readEnvelope } from "../../lib/envelope.ts";

/** A refused or failed call: the node's error code, or `NETWORK`/`CLIENT`. */
export class ApiError extends EnvelopeError {
  constructor(
    status: number,
    code: string,
    message: string,
    details?: Record<string, unknown>,
  ) {
    super(status, code, message, details);
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
  try {
    return await readEnvelope(res);
  } catch (err) {
    if (!(err instanceof EnvelopeError)) throw err;
    if (res.status === 401) { for (const fn of signedOut) fn(); }
    throw new ApiError(err.status, err.code, err.message, err.details);
  }
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

// Shapes of the answers the dashboard reads, as the server declares them.

export type Me = Api.Me;
export type SystemInfo = Api.System;
export type AppSummary = Api.AppSummary;
export type Version = Api.AppVersion;
export type AppDetail = Api.AppDetail;
export type FileEntry = Api.FileEntry;
export type LogEntry = Api.LogEntry;
export type Token = Api.Token;
export type Setting = Api.Setting;
export type UpgradeInfo = Api.UpgradeInfo;
export type { Api };
