import { notFoundPage } from "./pages.ts";

/**
 * The dashboard: a single-page app built from `admin/src` by `admin/build.ts`
 * and embedded in the program (`admin/dist/assets.ts`), served from memory on
 * the admin host. Paths without a file extension all get the page, so
 * `/apps/blog` can be reloaded; the app routes on the client. Its JS is an
 * entry and chunks under `/assets/<build>/`, each page loading its own.
 */
interface Asset {
  body: Uint8Array<ArrayBuffer>;
  gzip: Uint8Array<ArrayBuffer>;
  br: Uint8Array<ArrayBuffer>;
  type: string;
  etag: string;
  cache: string;
}

const CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data: blob:",
  "connect-src 'self'",
  "font-src 'self'",
  "manifest-src 'self'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join("; ");

const SECURITY_HEADERS = {
  "x-frame-options": "DENY",
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer",
  "cross-origin-opener-policy": "same-origin",
  "cross-origin-resource-policy": "same-origin",
};

const ICON =
  `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32"><rect width="32" height="32" rx="7" fill="#f59e0b"/><path d="M18.5 4 8 18h7l-2 10 11-15h-7z" fill="#1c1917"/></svg>`;

function html(jsPath: string, cssPath: string, preload: string[]): string {
  const links = preload.map((p) => `<link rel="modulepreload" href="${p}">\n`).join("");
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light dark">
<title>fazt</title>
<link rel="icon" href="/favicon.svg" type="image/svg+xml">
<link rel="stylesheet" href="${cssPath}">
<script type="module" src="${jsPath}"></script>
${links}</head>
<body>
<div id="app"><noscript>The fazt dashboard needs JavaScript.</noscript></div>
</body>
</html>
`;
}

/** The chunks the entry imports statically: fetched at once instead of after the entry. */
function staticImports(code: string): string[] {
  return [...code.matchAll(/(?:from|import)\s*"\.\/([\w-]+\.js)"/g)].map((m) => m[1]);
}

type Zlib = typeof import("node:zlib");

function asset(
  zlib: Zlib,
  name: string,
  text: string,
  type: string,
  cache: string,
  hash: string,
): Asset {
  const body = new TextEncoder().encode(text) as Uint8Array<ArrayBuffer>;
  return {
    body,
    gzip: new Uint8Array(zlib.gzipSync(body, { level: 9 })) as Uint8Array<ArrayBuffer>,
    br: new Uint8Array(zlib.brotliCompressSync(body)) as Uint8Array<ArrayBuffer>,
    type,
    etag: `"${name}-${hash.slice(0, 16)}"`,
    cache,
  };
}

let assets: Promise<Map<string, Asset>> | undefined;

/**
 * Loaded and compressed on first use: a node nobody opens the dashboard of
 * does not hold the bundle in memory.
 */
function load(): Promise<Map<string, Asset>> {
  return assets ??= Promise.all([
    import("../admin/dist/assets.ts"),
    import("node:zlib"),
  ]).then(([{ ADMIN_ASSETS: a }, zlib]) => {
    const dir = `/assets/${a.hash.slice(0, 12)}/`;
    const css = `${dir}app.css`;
    const immutable = "public, max-age=31536000, immutable";
    const js = "text/javascript; charset=utf-8";
    const preload = staticImports(a.js[a.entry]).map((name) => dir + name);
    const files = new Map([
      [
        "/",
        asset(
          zlib,
          "html",
          html(dir + a.entry, css, preload),
          "text/html; charset=utf-8",
          "no-cache",
          a.hash,
        ),
      ],
      [css, asset(zlib, "css", a.css, "text/css; charset=utf-8", immutable, a.hash)],
      ["/favicon.svg", asset(zlib, "icon", ICON, "image/svg+xml", "public, max-age=86400", a.hash)],
    ]);
    for (const [name, code] of Object.entries(a.js)) {
      files.set(dir + name, asset(zlib, name.replace(/\.js$/, ""), code, js, immutable, a.hash));
    }
    return files;
  });
}

/** Bytes of the bundle's JS and CSS, raw and gzipped (for `/api/system` and the size test). */
export async function adminBundleSize(): Promise<{ raw: number; gzip: number }> {
  let raw = 0, gzip = 0;
  for (const [path, a] of await load()) {
    if (!path.startsWith("/assets/")) continue;
    raw += a.body.byteLength;
    gzip += a.gzip.byteLength;
  }
  return { raw, gzip };
}

/** Answers a non-API request on the admin host. */
export async function serveAdminUi(req: Request, url: URL): Promise<Response> {
  if (req.method !== "GET" && req.method !== "HEAD") {
    return notFoundPage(req, `Nothing at ${url.pathname}.`);
  }
  const files = await load();
  let a = files.get(url.pathname);
  if (!a) {
    const last = url.pathname.slice(url.pathname.lastIndexOf("/") + 1);
    if (last.includes(".") || url.pathname.startsWith("/assets/")) {
      return notFoundPage(req, `Nothing at ${url.pathname}.`);
    }
    a = files.get("/")!;
  }
  const headers: Record<string, string> = {
    ...SECURITY_HEADERS,
    "content-type": a.type,
    "cache-control": a.cache,
    etag: a.etag,
    vary: "Accept-Encoding",
  };
  if (a.type.startsWith("text/html")) headers["content-security-policy"] = CSP;
  if (req.headers.get("if-none-match") === a.etag) {
    return new Response(null, { status: 304, headers });
  }
  const accept = req.headers.get("accept-encoding") ?? "";
  let body = a.body;
  if (/\bbr\b/.test(accept)) {
    body = a.br;
    headers["content-encoding"] = "br";
  } else if (/\bgzip\b/.test(accept)) {
    body = a.gzip;
    headers["content-encoding"] = "gzip";
  }
  headers["content-length"] = String(body.byteLength);
  return new Response(req.method === "HEAD" ? null : body, { headers });
}
