import { extensionOf } from "../lib/content_type.ts";
import type { Encoding } from "../storage/mod.ts";
import { notFoundPage } from "./pages.ts";
import type { SiteFile, SiteIndex } from "./site_index.ts";
import type { Sites } from "./sites.ts";

/**
 * Called when an HTML page is answered to a GET with 200, or with 304
 * (`revalidated`): what analytics may count as a page view.
 */
export type PageServed = (revalidated: boolean) => void;

/** A request for a static file of one version of an app. */
export interface StaticRequest {
  req: Request;
  /** The URL's path, as sent (still percent-encoded). */
  path: string;
  /** The version's files. */
  site: SiteIndex;
  /** Where file bodies are read (and cached). */
  sites: Sites;
  /** The app's name, for fazt's own 404 page. */
  app: string;
  onPage?: PageServed;
  /** Called when a GET finds no file (and no SPA page): analytics' 404s report. */
  onNotFound?: () => void;
}

/** Answers a request from the files of one version of an app. */
export function serveStatic(r: StaticRequest): Response {
  if (r.req.method !== "GET" && r.req.method !== "HEAD") {
    return new Response("Method not allowed\n", {
      status: 405,
      headers: { allow: "GET, HEAD", "content-type": "text/plain; charset=utf-8" },
    });
  }
  const path = requestPath(r.path);
  const file = path === undefined ? undefined : lookup(r.site, path);
  if (file) return respond(r, file, 200);
  return fallback(r, path ?? "");
}

/** The decoded path without its leading slash, or `undefined` if it is unsafe. */
function requestPath(pathname: string): string | undefined {
  let path = pathname;
  if (path.includes("%")) {
    try {
      path = decodeURIComponent(pathname);
    } catch {
      return undefined;
    }
  }
  if (path.includes("\0") || path.includes("\\")) return undefined;
  if (path.includes("..") && path.split("/").some((s) => s === "..")) return undefined;
  return path.slice(1);
}

/** Exact file, then folder index, then clean URL (`about` → `about.html`, `about/index.html`). */
function lookup(site: SiteIndex, path: string): SiteFile | undefined {
  const files = site.files;
  if (path === "" || path.endsWith("/")) return files.get(path + "index.html");
  return files.get(path) ?? files.get(path + ".html") ?? files.get(path + "/index.html");
}

/**
 * No file at `path` (decoded): the SPA page (`200.html`; with the manifest's
 * `"spa": true`, react-router's `__spa-fallback.html` or `index.html`), the
 * app's 404.html, or fazt's 404 page.
 */
function fallback(r: StaticRequest, path: string): Response {
  const files = r.site.files;
  const spa = files.get("200.html") ??
    (r.site.spa ? files.get("__spa-fallback.html") ?? files.get("index.html") : undefined);
  if (spa && (extensionOf(path) === "" || extensionOf(path) === "html")) {
    return respond(r, spa, 200);
  }
  if (r.req.method === "GET") r.onNotFound?.();
  const custom = r.site.files.get("404.html");
  if (custom) return respond(r, custom, 404);
  return notFoundPage(r.req, `Nothing at /${path} on ${r.app}.`);
}

function respond(r: StaticRequest, file: SiteFile, status: number): Response {
  const { req, sites, onPage } = r;
  const h = req.headers;
  const encoding = chooseEncoding(h.get("accept-encoding"), file);
  if (status === 200 && isNotModified(h, file)) {
    if (onPage && file.isHtml && req.method === "GET") onPage(true);
    return new Response(null, { status: 304, headers: file.headers(encoding) });
  }
  const range = status === 200 && req.method === "GET" ? h.get("range") : null;
  if (range !== null && ifRangeHolds(h.get("if-range"), file)) {
    const span = parseRange(range, file.meta.size);
    if (span === "unsatisfiable") {
      return new Response(null, {
        status: 416,
        headers: [...file.headers("identity"), ["content-range", `bytes */${file.meta.size}`]],
      });
    }
    if (span) {
      return new Response(sites.slice(file, span.start, span.end + 1), {
        status: 206,
        headers: [
          ...file.headers("identity"),
          ["content-range", `bytes ${span.start}-${span.end}/${file.meta.size}`],
          ["content-length", String(span.end - span.start + 1)],
        ],
      });
    }
  }
  if (req.method === "HEAD") {
    return new Response(null, {
      status,
      headers: [...file.headers(encoding), ["content-length", String(file.sizeOf(encoding))]],
    });
  }
  if (onPage && status === 200 && file.isHtml) onPage(false);
  return sites.response(file, encoding, status, () => file.headers(encoding));
}

// Browsers send a handful of distinct Accept-Encoding values, so parsing
// each once keeps q-value handling off the hot path.
const acceptCache = new Map<string, { br: boolean; gzip: boolean }>();

function acceptedCodings(header: string): { br: boolean; gzip: boolean } {
  let hit = acceptCache.get(header);
  if (!hit) {
    hit = { br: accepts(header, "br"), gzip: accepts(header, "gzip") };
    if (acceptCache.size > 256) acceptCache.clear();
    acceptCache.set(header, hit);
  }
  return hit;
}

/** br, then gzip, when the client accepts them and a variant exists. */
export function chooseEncoding(accept: string | null, file: SiteFile): Encoding {
  if (!accept || !file.compressed) return "identity";
  const ok = acceptedCodings(accept);
  if (ok.br && file.meta.br_size != null) return "br";
  return ok.gzip && file.meta.gzip_size != null ? "gzip" : "identity";
}

/** Whether `coding` (or `*`) is listed with a non-zero q-value. */
export function accepts(header: string, coding: string): boolean {
  let star = false;
  for (const part of header.split(",")) {
    const [name, ...params] = part.trim().toLowerCase().split(";");
    const q = params.map((p) => p.trim()).find((p) => p.startsWith("q="));
    const ok = q === undefined || Number(q.slice(2)) > 0;
    if (name.trim() === coding) return ok;
    if (name.trim() === "*") star = ok;
  }
  return star;
}

/** What a conditional request is checked against: a file's validators. */
export type Validators = Pick<SiteFile, "etags" | "lastModified">;

/**
 * Whether a GET or HEAD may answer 304 (RFC 9110 13.1.1-2, 13.2.2): an
 * `If-None-Match` decides alone (`*`, or any listed tag, weak or strong, of
 * any encoding of the file), and only without one does `If-Modified-Since`
 * count: after a rollback the file is older than the browser's copy, whose
 * tag no longer matches, so a date alone must not keep that copy.
 */
export function isNotModified(h: Headers, file: Validators): boolean {
  const inm = h.get("if-none-match");
  if (inm !== null) {
    if (inm.trim() === "*") return true;
    const tags = Object.values(file.etags);
    return inm.split(",").some((t) => tags.includes(t.trim().replace(/^W\//, "")));
  }
  const ims = h.get("if-modified-since");
  if (ims === null) return false;
  const since = Date.parse(ims);
  return !Number.isNaN(since) && Date.parse(file.lastModified) <= since;
}

/**
 * Whether a `Range` applies under its `If-Range` (RFC 9110 13.1.5): no
 * `If-Range`, the identity body's strong ETag (ranges are of that body; a
 * weak tag never matches), or exactly the file's `Last-Modified` date.
 * Otherwise the whole file is sent.
 */
export function ifRangeHolds(ifRange: string | null, file: Validators): boolean {
  if (ifRange === null) return true;
  const v = ifRange.trim();
  if (v.startsWith('"')) return v === file.etags.identity;
  return v === file.lastModified;
}

/**
 * One `bytes=` range, inclusive. `null` means "ignore the header and send the
 * whole file" (malformed, or several ranges, which RFC 9110 allows).
 */
export function parseRange(
  header: string,
  size: number,
): { start: number; end: number } | "unsatisfiable" | null {
  const m = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!m || (m[1] === "" && m[2] === "")) return null;
  let start: number;
  let end: number;
  if (m[1] === "") {
    const suffix = Number(m[2]);
    if (suffix === 0) return "unsatisfiable";
    start = Math.max(0, size - suffix);
    end = size - 1;
  } else {
    start = Number(m[1]);
    end = m[2] === "" ? size - 1 : Math.min(Number(m[2]), size - 1);
    if (m[2] !== "" && Number(m[2]) < start) return null;
  }
  if (start >= size || size === 0) return "unsatisfiable";
  return { start, end };
}
