import http from "node:http";
import { Buffer } from "node:buffer";

/**
 * `fetch` with a settable `Host` header. Web `fetch` always sends the URL's
 * host, and `*.localhost` does not resolve everywhere, so tests speak HTTP to
 * 127.0.0.1 through node:http, which sends the header as given.
 */
export async function hostFetch(
  url: string,
  init: RequestInit & { host: string },
): Promise<Response> {
  const u = new URL(url);
  const headers = new Headers(init.headers);
  let body: Uint8Array | undefined;
  if (init.body != null) {
    const req = new Request(url, { method: "POST", body: init.body, headers });
    body = new Uint8Array(await req.arrayBuffer());
    const type = req.headers.get("content-type");
    if (type && !headers.has("content-type")) headers.set("content-type", type);
  }
  const out: Record<string, string> = { host: init.host };
  headers.forEach((v, k) => (out[k] = v));
  if (body) out["content-length"] = String(body.byteLength);
  const method = init.method ?? "GET";
  return await new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: u.hostname,
        port: Number(u.port),
        path: u.pathname + u.search,
        method,
        headers: out,
        agent: false,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("error", reject);
        res.on("end", () => {
          const h = new Headers();
          for (let i = 0; i < res.rawHeaders.length; i += 2) {
            h.append(res.rawHeaders[i], res.rawHeaders[i + 1]);
          }
          const status = res.statusCode ?? 0;
          const empty = method === "HEAD" || status === 204 || status === 304;
          const bytes = new Uint8Array(Buffer.concat(chunks));
          resolve(new Response(empty ? null : bytes, { status, headers: h }));
        });
      },
    );
    req.on("error", reject);
    if (body) req.write(body);
    req.end();
  });
}
