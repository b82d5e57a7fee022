/**
 * The small site the serving benchmarks use (a 10 KB page, a 200 KB script),
 * and a capture of exactly what fazt sends for it, so peers can send the same.
 */
import type { CeilingSpec } from "../ceiling_server.ts";
import { header, rawRequest, sha256 } from "./http.ts";
import { htmlPage, jsBundle, writeTree } from "./site.ts";

export const HOST = "site.localhost";
export const APP = "site";

export const SMALL_SITE = new Map<string, Uint8Array>([
  ["index.html", htmlPage(10 * 1024, 1)],
  ["assets/app.js", jsBundle(200 * 1024, 2)],
]);

/** Response headers that depend on the connection or the clock, not on the file. */
const TRANSIENT = new Set(["date", "content-length", "connection", "keep-alive", "server"]);

export function requestHeaders(gzip: boolean): Record<string, string> {
  // wrk adds its own Host unless the header is spelled exactly `Host`.
  return gzip ? { Host: HOST, "Accept-Encoding": "gzip" } : { Host: HOST };
}

export interface Capture {
  /** For bench/ceiling_server.ts. */
  spec: CeilingSpec;
  /** `${path}|${gzip}` → what every server must send. */
  expected: Map<string, { sha: string; bytes: number }>;
  files: Record<string, unknown>;
}

/**
 * Asks fazt (on `port`, with the small site deployed) for every file, plain
 * and gzip; writes the bytes under `www` (`x` and `x.gz`, for nginx and
 * Caddy) and returns the ceiling's spec.
 */
export async function captureFazt(port: number, www: string): Promise<Capture> {
  const spec: CeilingSpec = { routes: {} };
  const expected = new Map<string, { sha: string; bytes: number }>();
  const files: Record<string, unknown> = {};
  for (const [rel, source] of SMALL_SITE) {
    const path = `/${rel}`;
    spec.routes[path] = {};
    for (const gzip of [false, true]) {
      const r = await rawRequest(port, path, { headers: requestHeaders(gzip) });
      if (r.status !== 200) throw new Error(`fazt answered ${r.status} for ${path}`);
      const enc = header(r, "content-encoding") ?? "identity";
      if (gzip && enc !== "gzip") throw new Error(`fazt sent ${enc}, not gzip, for ${path}`);
      if (!gzip && (await sha256(r.body)) !== (await sha256(source))) {
        throw new Error(`fazt's bytes for ${path} differ from the deployed file`);
      }
      const name = `${rel}${gzip ? ".gz" : ""}`;
      await writeTree(www, new Map([[name, r.body]]));
      spec.routes[path][gzip ? "gzip" : "identity"] = {
        headers: r.headers.filter(([k]) => !TRANSIENT.has(k.toLowerCase())),
        file: `${www}/${name}`,
      };
      expected.set(`${path}|${gzip}`, { sha: await sha256(r.body), bytes: r.body.byteLength });
    }
    files[path] = {
      bytes: expected.get(`${path}|false`)!.bytes,
      gzip_bytes: expected.get(`${path}|true`)!.bytes,
      fazt_headers: spec.routes[path].identity.headers,
      fazt_gzip_headers: spec.routes[path].gzip!.headers,
    };
  }
  return { spec, expected, files };
}
