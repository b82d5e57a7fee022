/**
 * The original fazt's runtime: `api/main.js` is a script run per request
 * with the globals `request`, `respond`, `require` and `fazt`, and its
 * completion value becomes the response.
 * @module
 */
import { faztGlobal } from "./fazt_global.ts";

/** The original's `request` global. */
export interface ScriptRequest {
  method: string;
  path: string;
  /** The first value of each query parameter. */
  query: Record<string, string>;
  /** Header names in the original's Canonical-Case. */
  headers: Record<string, string>;
  /** The parsed JSON body, or `null`. */
  body: unknown;
}

/** What `respond(...)` makes, and what a script may return for a full answer. */
interface ScriptResult {
  status?: unknown;
  body?: unknown;
  headers?: unknown;
}

function headersObject(headers: Headers): Record<string, string> {
  const out: Record<string, string> = {};
  headers.forEach((v, k) => {
    const canonical = k.replace(/(^|-)([a-z])/g, (_m, d: string, c: string) => d + c.toUpperCase());
    if (!(canonical in out)) out[canonical] = v;
  });
  return out;
}

async function scriptRequest(req: Request): Promise<ScriptRequest> {
  const url = new URL(req.url);
  const query: Record<string, string> = {};
  url.searchParams.forEach((v, k) => {
    if (!(k in query)) query[k] = v;
  });
  let body: unknown = null;
  const type = req.headers.get("content-type") ?? "";
  if (req.method !== "GET" && req.method !== "HEAD" && type.includes("application/json")) {
    try {
      body = await req.json();
    } catch {
      body = null;
    }
  }
  return {
    method: req.method,
    path: url.pathname,
    query,
    headers: headersObject(req.headers),
    body,
  };
}

/** `respond()`, `respond(status)`, `respond(body)` or `respond(status, body)`. */
function respond(a?: unknown, b?: unknown): ScriptResult {
  if (a === undefined) return { status: 200, body: null };
  if (b === undefined) {
    return typeof a === "number" ? { status: a, body: null } : { status: 200, body: a };
  }
  return { status: a, body: b };
}

/** `require("./x")` runs `api/x.js` once per request, CommonJS style. */
function requirer(
  scripts: Record<string, string>,
  request: ScriptRequest,
): (spec: string) => unknown {
  const cache = new Map<string, unknown>();
  const require = (spec: string): unknown => {
    const path = spec.startsWith("./")
      ? "api/" + spec.slice(2)
      : spec.startsWith("api/")
      ? spec
      : "api/" + spec;
    const candidates = [path, path + ".js"];
    const found = candidates.find((p) => p in scripts);
    if (!found) throw new Error(`cannot require '${spec}': no such file in api/`);
    if (cache.has(found)) return cache.get(found);
    const module = { exports: {} as unknown };
    new Function("module", "exports", "require", "fazt", "request", "respond", scripts[found])(
      module,
      module.exports,
      require,
      faztGlobal.fazt,
      request,
      respond,
    );
    cache.set(found, module.exports);
    return module.exports;
  };
  return require;
}

/** The completion value as an answer: a `respond(...)`-like object, or a body to send as JSON. */
export function toResponse(value: unknown): Response {
  const plain = value !== null && typeof value === "object" && !Array.isArray(value) &&
      ("status" in value || "body" in value || "headers" in value)
    ? value as ScriptResult
    : undefined;
  const status = plain && typeof plain.status === "number" ? plain.status : 200;
  const body = plain ? plain.body : value;
  const headers = new Headers();
  if (plain?.headers) {
    for (const [k, v] of Object.entries(plain.headers)) headers.set(k, String(v));
  }
  if (!headers.has("content-type")) headers.set("content-type", "application/json");
  if (body === undefined || body === null) return new Response(null, { status, headers });
  const text = typeof body === "string" ? body : JSON.stringify(body) + "\n";
  return new Response(text, { status, headers });
}

/** Runs `api/main.js` for one request. */
export async function runScript(req: Request, scripts: Record<string, string>): Promise<Response> {
  const request = await scriptRequest(req);
  const require = requirer(scripts, request);
  // A sloppy-mode function with a direct eval: the script's completion value
  // is the answer, and its `var`s stay in this request.
  const run = new Function(
    "request",
    "respond",
    "require",
    "fazt",
    "__source",
    "return eval(__source);",
  );
  const result = run(request, respond, require, faztGlobal.fazt, scripts["api/main.js"]);
  const value = result instanceof Promise ? await result : result;
  return toResponse(value);
}
