// A table rather than a dependency: static hosting needs a few dozen types,
// and a stable answer matters more than completeness.
const TYPES: Record<string, string> = {
  html: "text/html",
  htm: "text/html",
  css: "text/css",
  js: "text/javascript",
  mjs: "text/javascript",
  cjs: "text/javascript",
  json: "application/json",
  map: "application/json",
  webmanifest: "application/manifest+json",
  xml: "application/xml",
  rss: "application/rss+xml",
  atom: "application/atom+xml",
  txt: "text/plain",
  md: "text/markdown",
  csv: "text/csv",
  ics: "text/calendar",
  svg: "image/svg+xml",
  png: "image/png",
  jpg: "image/jpeg",
  jpeg: "image/jpeg",
  gif: "image/gif",
  webp: "image/webp",
  avif: "image/avif",
  ico: "image/x-icon",
  bmp: "image/bmp",
  woff: "font/woff",
  woff2: "font/woff2",
  ttf: "font/ttf",
  otf: "font/otf",
  eot: "application/vnd.ms-fontobject",
  wasm: "application/wasm",
  pdf: "application/pdf",
  zip: "application/zip",
  gz: "application/gzip",
  mp3: "audio/mpeg",
  ogg: "audio/ogg",
  wav: "audio/wav",
  mp4: "video/mp4",
  webm: "video/webm",
  ts: "text/plain",
  tsx: "text/plain",
  wgsl: "text/plain",
};

/** Types that are text, so they get a charset. */
function isTextType(type: string): boolean {
  return type.startsWith("text/") || type.endsWith("+json") || type.endsWith("+xml") ||
    type === "application/json" || type === "application/xml";
}

export function extensionOf(path: string): string {
  const base = path.slice(path.lastIndexOf("/") + 1);
  const dot = base.lastIndexOf(".");
  return dot > 0 ? base.slice(dot + 1).toLowerCase() : "";
}

/** The `Content-Type` header value for a file path. */
export function contentTypeFor(path: string): string {
  const type = TYPES[extensionOf(path)] ?? "application/octet-stream";
  return isTextType(type) ? `${type}; charset=utf-8` : type;
}

/** Whether a file of this path is worth compressing once at deploy time. */
export function isCompressible(path: string): boolean {
  const type = TYPES[extensionOf(path)] ?? "";
  return isTextType(type) || type === "application/wasm" || type === "image/x-icon";
}
