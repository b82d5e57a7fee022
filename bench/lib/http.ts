/**
 * A tiny HTTP/1.1 client over a raw loopback socket. Unlike fetch it never
 * decodes a body, so the bytes a server sends (gzip included) can be compared.
 */
import { concatBytes } from "../../lib/bytes.ts";

export interface RawResponse {
  status: number;
  headers: [string, string][];
  body: Uint8Array;
  /** Size of the status line and headers, in bytes. */
  headBytes: number;
}

export function header(r: RawResponse, name: string): string | undefined {
  const n = name.toLowerCase();
  return r.headers.find(([k]) => k.toLowerCase() === n)?.[1];
}

function indexOfCrlfCrlf(b: Uint8Array): number {
  for (let i = 0; i + 3 < b.length; i++) {
    if (b[i] === 13 && b[i + 1] === 10 && b[i + 2] === 13 && b[i + 3] === 10) return i;
  }
  return -1;
}

function dechunk(b: Uint8Array): Uint8Array {
  const parts: Uint8Array[] = [];
  let at = 0;
  const dec = new TextDecoder();
  while (at < b.length) {
    let end = at;
    while (end + 1 < b.length && !(b[end] === 13 && b[end + 1] === 10)) end++;
    const size = parseInt(dec.decode(b.subarray(at, end)).split(";")[0], 16);
    if (!size) break;
    parts.push(b.subarray(end + 2, end + 2 + size));
    at = end + 2 + size + 2;
  }
  return concatBytes(parts);
}

/** One request on a fresh connection (`Connection: close`); rejects after `timeoutMs`. */
export async function rawRequest(
  port: number,
  path: string,
  opts: { method?: string; headers?: Record<string, string>; timeoutMs?: number } = {},
): Promise<RawResponse> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  const timer = setTimeout(() => {
    try {
      conn.close();
    } catch {
      // closed already
    }
  }, opts.timeoutMs ?? 10_000);
  try {
    const headers: Record<string, string> = { ...opts.headers };
    if (!Object.keys(headers).some((k) => k.toLowerCase() === "host")) {
      headers.Host = `127.0.0.1:${port}`;
    }
    let head = `${opts.method ?? "GET"} ${path} HTTP/1.1\r\n`;
    for (const [k, v] of Object.entries(headers)) head += `${k}: ${v}\r\n`;
    head += "connection: close\r\n\r\n";
    const req = new TextEncoder().encode(head);
    for (let sent = 0; sent < req.length;) sent += await conn.write(req.subarray(sent));
    const chunks: Uint8Array[] = [];
    const buf = new Uint8Array(64 * 1024);
    while (true) {
      const n = await conn.read(buf);
      if (n === null) break;
      chunks.push(buf.slice(0, n));
    }
    const all = concatBytes(chunks);
    const split = indexOfCrlfCrlf(all);
    if (split < 0) throw new Error(`no complete response from 127.0.0.1:${port}${path}`);
    const lines = new TextDecoder().decode(all.subarray(0, split)).split("\r\n");
    const status = Number(lines[0].split(" ")[1]);
    const hs = lines.slice(1).map((l): [string, string] => {
      const i = l.indexOf(":");
      return [l.slice(0, i).trim(), l.slice(i + 1).trim()];
    });
    let body: Uint8Array = all.subarray(split + 4);
    const r: RawResponse = { status, headers: hs, body, headBytes: split + 4 };
    if (header(r, "transfer-encoding")?.toLowerCase() === "chunked") body = dechunk(body);
    else if (header(r, "content-length") !== undefined) {
      body = body.subarray(0, Number(header(r, "content-length")));
    }
    r.body = body;
    return r;
  } finally {
    clearTimeout(timer);
    try {
      conn.close();
    } catch {
      // closed by the timer
    }
  }
}

/** Whether `GET path` answers 200 right now (false on refused connection or other status). */
export async function answers200(
  port: number,
  path: string,
  headers?: Record<string, string>,
): Promise<boolean> {
  try {
    return (await rawRequest(port, path, { headers, timeoutMs: 2000 })).status === 200;
  } catch {
    return false;
  }
}

/** Polls until `GET path` answers 200; returns the ms from `since` (performance.now()). */
export async function waitFor200(
  port: number,
  path: string,
  opts: { since?: number; timeoutMs?: number; intervalMs?: number; alive?: () => boolean } = {},
): Promise<number> {
  const since = opts.since ?? performance.now();
  const deadline = performance.now() + (opts.timeoutMs ?? 30_000);
  while (performance.now() < deadline) {
    if (opts.alive && !opts.alive()) throw new Error(`the server on port ${port} exited`);
    if (await answers200(port, path)) return performance.now() - since;
    await new Promise((r) => setTimeout(r, opts.intervalMs ?? 2));
  }
  throw new Error(`127.0.0.1:${port}${path} did not answer 200 in time`);
}

export async function sha256(data: Uint8Array): Promise<string> {
  const d = await crypto.subtle.digest("SHA-256", data as Uint8Array<ArrayBuffer>);
  return new Uint8Array(d).toHex();
}
