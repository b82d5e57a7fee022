/**
 * The public tracking endpoints: `/_fazt/track`, `/_fazt/pixel.gif` and
 * `/_fazt/a.js` on every app host (the whole `/_fazt/` prefix is fazt's, never
 * an app's), and the original's `/track` and `/pixel.gif` on the admin host.
 * Their routes are `TRACKING_ROUTES` in route_table.ts.
 */
import { NOT_FOUND, OTHER_DOMAINS } from "../storage/mod.ts";
import type { TrackInput } from "./analytics.ts";
import type { RouteContext, ServerContext } from "./context.ts";
import { classifyHost, hostname } from "./hosts.ts";
import { HttpError } from "./http_error.ts";
import { readJsonObject } from "./json_body.ts";

/**
 * The decoded path when it is under fazt's reserved `/_fazt` prefix, else
 * undefined; `/%5Ffazt/…` and `/_fazt%2F…` are caught too, so no spelling
 * reaches an app's own `_fazt/` files.
 */
export function reservedPath(path: string): string | undefined {
  if (!path.startsWith("/_fazt") && !path.startsWith("/%")) return undefined;
  let decoded = path;
  if (path.includes("%")) {
    try {
      decoded = decodeURIComponent(path);
    } catch {
      return undefined; // the static path refuses it as unsafe
    }
  }
  return decoded === "/_fazt" || decoded.startsWith("/_fazt/") ? decoded : undefined;
}

/** Largest tracking body. */
export const TRACK_MAX_BYTES = 10 * 1024;

/**
 * Limits of an event's `props` (the original's `q`): more is refused, never
 * cut, so what is stored is what was sent. Keys; characters of a key and of a
 * string value; bytes of the whole object as stored (JSON, UTF-8).
 */
export const PROPS_LIMITS = { keys: 10, keyLength: 40, valueLength: 200, bytes: 1024 } as const;

/** The original's tags: at most 20, each cut to 50 characters. */
const TAGS_MAX = 20;
const TAG_LENGTH = 50;

/**
 * The optional page script, by hand and minified (under 1 KB). On its own
 * site it records SPA navigations (the first page was counted as it was
 * served); on a page served elsewhere it records that page view too. It
 * exposes `fazt.track(name, props)`.
 */
export const ANALYTICS_SCRIPT =
  `(()=>{let d=document,l=location,w=window,h=history,s=d.currentScript,o=s?new URL(s.src).origin:l.origin,u=o+"/_fazt/track",r=d.referrer,p,t=(n,x)=>{let b=JSON.stringify({name:n,path:l.pathname,referrer:r,props:x});r="";navigator.sendBeacon?.(u,b)||fetch(u,{method:"POST",body:b,keepalive:!0}).catch(()=>{})},v=()=>{p!==l.pathname&&(p=l.pathname,t("pageview"))};for(let k of["pushState","replaceState"]){let f=h[k];h[k]=function(){let y=f.apply(this,arguments);v();return y}}addEventListener("popstate",v);o===l.origin?(p=l.pathname,r=""):v();w.fazt=Object.assign(w.fazt||{},{track:(n,x)=>t(n,x)})})();\n`;

const GIF = Uint8Array.fromBase64("R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7");

const NO_STORE = {
  "cache-control": "no-cache, no-store, must-revalidate",
  pragma: "no-cache",
  expires: "0",
};
const CORS = { "access-control-allow-origin": "*" };

// Each answer is a clone of one built once: no body copy and no header
// checks per request (the static files' technique, server/body_cache.ts).
const PIXEL = new Response(GIF, {
  headers: { "content-type": "image/gif", ...NO_STORE, ...CORS },
});
// A 204 to a POST is never cached; only pages elsewhere may want to read it.
const NO_CONTENT = new Response(null, { status: 204, headers: CORS });

function pixel(): Response {
  return PIXEL.clone();
}

function noContent(): Response {
  return NO_CONTENT.clone();
}

// deno-lint-ignore no-control-regex -- control characters are what it refuses
const CONTROL = /[\u0000-\u001f\u007f]/;

function optionalString(
  body: Record<string, unknown>,
  field: string,
  max: number,
): string | undefined {
  const v = body[field];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== "string" || v.length > max || CONTROL.test(v)) {
    throw HttpError.validation(
      field,
      "string",
      `${field} must be a string of at most ${max} characters`,
    );
  }
  return v.trim();
}

/** An event name: 1-100 characters, no control characters, not `$404`; default `pageview`. */
function eventName(v: string | undefined, field: string): string {
  if (v === undefined || v === "") return "pageview";
  if (v === NOT_FOUND) {
    throw HttpError.validation(field, "reserved", `${field} ${NOT_FOUND} is fazt's own`);
  }
  if (v.length > 100) {
    throw HttpError.validation(field, "max_length", `${field} must be at most 100 characters`);
  }
  return v;
}

/** A path: a URL's path, or a string starting with `/`; without query or fragment. */
function pagePath(v: string | undefined, fallback: () => string): string {
  if (v === undefined || v === "") return fallback();
  let path = v;
  if (!path.startsWith("/")) {
    try {
      path = new URL(path).pathname;
    } catch {
      throw HttpError.validation("path", "path", "path must start with / or be a URL");
    }
  }
  const cut = path.search(/[?#]/);
  if (cut !== -1) path = path.slice(0, cut);
  return path.slice(0, 500) || "/";
}

/** The path of the page that sent a request (from `Referer`), or `/`. */
function refererPath(req: Request): string {
  const ref = req.headers.get("referer");
  if (!ref) return "/";
  try {
    return new URL(ref).pathname.slice(0, 500);
  } catch {
    return "/";
  }
}

/** Flat properties within `PROPS_LIMITS`, as stored (JSON text), or null for none. */
function properties(v: unknown, field: string): string | null {
  if (v === undefined || v === null) return null;
  if (typeof v !== "object" || Array.isArray(v)) {
    throw HttpError.validation(field, "object", `${field} must be an object`);
  }
  const entries = Object.entries(v as Record<string, unknown>);
  if (entries.length === 0) return null;
  const max = PROPS_LIMITS;
  if (entries.length > max.keys) {
    throw HttpError.validation(field, "max_keys", `${field} may have at most ${max.keys} keys`);
  }
  for (const [k, x] of entries) {
    if (k.length === 0 || k.length > max.keyLength) {
      throw HttpError.validation(
        field,
        "key_length",
        `${field} keys must be 1 to ${max.keyLength} characters`,
      );
    }
    const flat = x === null || typeof x === "boolean" || typeof x === "string" ||
      (typeof x === "number" && Number.isFinite(x));
    if (!flat) {
      throw HttpError.validation(
        field,
        "flat",
        `${field} values must be strings, numbers, booleans or null`,
      );
    }
    if (typeof x === "string" && x.length > max.valueLength) {
      throw HttpError.validation(
        field,
        "value_length",
        `${field} values must be at most ${max.valueLength} characters`,
      );
    }
  }
  const json = JSON.stringify(v);
  // Each UTF-16 unit is at most 3 bytes of UTF-8: measure only when it could matter.
  if (json.length * 3 > max.bytes && new TextEncoder().encode(json).length > max.bytes) {
    throw HttpError.validation(field, "max_bytes", `${field} must be at most ${max.bytes} bytes`);
  }
  return json;
}

function tagList(v: unknown): string[] | null {
  if (v === undefined || v === null) return null;
  const list = typeof v === "string" ? v.split(",") : v;
  if (
    !Array.isArray(list) || list.length > TAGS_MAX || list.some((t) => typeof t !== "string")
  ) {
    throw HttpError.validation("t", "tags", `tags must be a list of at most ${TAGS_MAX} strings`);
  }
  const tags = (list as string[]).map((t) =>
    // deno-lint-ignore no-control-regex -- commas and control characters are dropped
    t.replace(/[,\u0000-\u001f]/g, "").trim().slice(0, TAG_LENGTH)
  )
    .filter(Boolean);
  return tags.length ? tags : null;
}

const jsonBody = (req: Request) =>
  readJsonObject(req, { max: TRACK_MAX_BYTES, emptyIsObject: false });

/** Whether an event on this host is recorded: previews of a version answer but count nothing. */
const counts = (c: RouteContext) => c.app?.version === undefined;

/**
 * Whether a tracking call is over a rate limit (its client's, or its app's:
 * `quota`); the analytics counts it as refused.
 */
function overLimit(c: RouteContext, quota: string) {
  return c.server.analytics.limit(c.req, c.remote, quota);
}

/** `429 RATE_LIMITED` with `Retry-After` for a call over a rate limit. */
function refuseIfOverLimit(c: RouteContext, quota: string): void {
  const over = overLimit(c, quota);
  if (over === undefined) return;
  const who = over.limit === "client" ? "this client" : "this app";
  throw new HttpError(
    429,
    "RATE_LIMITED",
    `Too many events from ${who}: try again in ${over.retryAfter} s`,
    {
      details: { limit: over.limit, retry_after_s: over.retryAfter },
      headers: { "retry-after": String(over.retryAfter) },
    },
  );
}

/** `OPTIONS /_fazt/track`: pages served elsewhere may post events. */
export function trackPreflight(): Response {
  return new Response(null, {
    status: 204,
    headers: {
      ...CORS,
      "access-control-allow-methods": "POST",
      "access-control-allow-headers": "content-type",
      "access-control-max-age": "86400",
    },
  });
}

/** `POST /_fazt/track` with `{name, path, referrer, props}`: one event (default `pageview`). */
export async function trackEvent(c: RouteContext): Promise<Response> {
  const { req } = c;
  // Before the body is read, so a flood costs as little as it can.
  if (counts(c)) refuseIfOverLimit(c, c.app!.name);
  const body = await jsonBody(req);
  const input: TrackInput = {
    app: c.app!.name,
    name: eventName(optionalString(body, "name", 100), "name"),
    source: "track",
    path: pagePath(optionalString(body, "path", 2000), () => refererPath(req)),
    referrer: optionalString(body, "referrer", 2000) ?? null,
    tags: null,
    props: properties(body.props, "props"),
  };
  if (counts(c)) c.server.analytics.track(req, c.remote, input);
  return noContent();
}

/**
 * `GET /_fazt/pixel.gif?name=&path=&referrer=`: an event for pages without
 * scripts. Over a rate limit it still answers the pixel (an image shows no
 * error), and counts nothing.
 */
export function trackPixel(c: RouteContext): Response {
  const { req } = c;
  const q = c.url.searchParams;
  const input: TrackInput = {
    app: c.app!.name,
    name: eventName(queryString(q, "name", 100), "name"),
    source: "pixel",
    path: pagePath(queryString(q, "path", 2000), () => refererPath(req)),
    referrer: queryString(q, "referrer", 2000) ?? null,
    tags: null,
    props: null,
  };
  if (counts(c) && req.method === "GET" && !overLimit(c, input.app)) {
    c.server.analytics.track(req, c.remote, input);
  }
  return pixel();
}

/** `GET /_fazt/a.js`: the optional page script. */
export function analyticsScript(c: RouteContext): Response {
  return new Response(c.req.method === "HEAD" ? null : ANALYTICS_SCRIPT, {
    headers: {
      "content-type": "text/javascript; charset=utf-8",
      "cache-control": "public, max-age=3600",
      "x-content-type-options": "nosniff",
      ...CORS,
    },
  });
}

function queryString(q: URLSearchParams, field: string, max: number): string | undefined {
  const v = q.get(field);
  if (v === null) return undefined;
  return optionalString({ [field]: v }, field, max);
}

/**
 * Which app (or, for a site fazt does not host, which domain) a legacy call
 * is about, and the daily cap it counts under: the app's own, or the one
 * every domain this node does not host shares.
 */
function legacyApp(
  domain: string | undefined,
  req: Request,
  ctx: ServerContext,
): { app: string; quota: string } {
  let host = domain ? hostname(domain) : "";
  if (!host) host = hostname(refererHostOf(req));
  const target = host ? classifyHost(host, ctx.settings.domain) : undefined;
  let app = "unknown";
  if (target?.kind === "app" && target.version === undefined) app = target.name;
  else if (/^[a-z0-9.:_-]{1,253}$/.test(host)) app = host;
  const hosted = target?.kind === "app" && ctx.storage.apps.get(app) !== undefined;
  return { app, quota: hosted ? app : OTHER_DOMAINS };
}

function refererHostOf(req: Request): string {
  try {
    return new URL(req.headers.get("referer") ?? "").host;
  } catch {
    return "";
  }
}

/** The original's `POST /track` with `{h, d, p, e, t, q, ref}`: 204. */
export async function legacyTrack(c: RouteContext): Promise<Response> {
  const { req } = c;
  const body = await jsonBody(req);
  const domain = optionalString(body, "d", 253) || optionalString(body, "h", 253);
  const { app, quota } = legacyApp(domain, req, c.server);
  const input: TrackInput = {
    app,
    quota,
    name: eventName(optionalString(body, "e", 100), "e"),
    source: "track",
    path: pagePath(optionalString(body, "p", 2000), () => "/"),
    referrer: optionalString(body, "ref", 2000) ?? null,
    tags: tagList(body.t),
    props: body.q === undefined || body.q === null ? null : properties(body.q, "q"),
  };
  refuseIfOverLimit(c, quota);
  c.server.analytics.track(req, c.remote, input);
  return noContent();
}

/** The original's `GET /pixel.gif?domain=&tags=&source=`; over a rate limit, the pixel and nothing counted. */
export function legacyPixel(c: RouteContext): Response {
  const { req } = c;
  const q = c.url.searchParams;
  const { app, quota } = legacyApp(queryString(q, "domain", 253), req, c.server);
  const input: TrackInput = {
    app,
    quota,
    name: eventName(queryString(q, "source", 100) ?? "pixel", "source"),
    source: "pixel",
    path: refererPath(req),
    referrer: null,
    tags: tagList(q.get("tags") ?? undefined),
    props: null,
  };
  if (req.method === "GET" && !overLimit(c, quota)) c.server.analytics.track(req, c.remote, input);
  return pixel();
}
