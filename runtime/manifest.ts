/**
 * An app's `manifest.json` (or `fazt.json`): what its server code may do.
 *
 * ```json
 * {
 *   "permissions": { "net": ["api.example.com", "nas.lan"] },
 *   "netPrivate": ["nas.lan"],
 *   "routes": ["/feed.xml", "/hooks/*"],
 *   "static_first": true,
 *   "timeout_ms": 5000,
 *   "memory_mb": 64,
 *   "indexes": { "users": ["email"] },
 *   "spa": true,
 *   "static": "dist",
 *   "server": "api/main.ts",
 *   "build": "npm run build",
 *   "crons": [{ "name": "cleanup", "schedule": "0 3 * * *" }]
 * }
 * ```
 *
 * `static`, `server` and `build` are read by `fazt deploy` on the
 * developer's machine (what to publish, what to bundle, what to run first);
 * the node checks them and otherwise ignores them.
 */
import { checkCronSpec, type CronSpec, CronSpecError } from "./cron_schedule.ts";

export interface Manifest {
  net: string[];
  /**
   * Listed names that may resolve to private addresses (loopback, the
   * local network); any other listed name must resolve to public ones.
   */
  netPrivate: string[];
  routes: string[];
  staticFirst: boolean;
  timeoutMs?: number;
  memoryMb?: number;
  indexes: Record<string, string[]>;
  /** Paths with no file and no extension (or `.html`) answer `index.html` (a single-page app). */
  spa: boolean;
  /** The folder published as the site, relative to the project (`dist`). */
  static?: string;
  /** The server code's entry file, relative to the project (default `api/main.ts`…). */
  server?: string;
  /** A command `fazt deploy` runs in the project before it uploads (`npm run build`). */
  build?: string;
  /** Jobs the node runs on a schedule (`scheduled(event, ctx)` in the app's default export). */
  crons: CronSpec[];
}

/** How many scheduled jobs one app may have. */
export const MAX_CRONS = 20;

export const MANIFEST_FILES = ["manifest.json", "fazt.json"];

export class ManifestError extends Error {
  constructor(readonly constraint: string, message: string) {
    super(message);
  }
}

const HOST = /^(\*\.)?[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*(:\d{1,5})?$/;
const IPV6 = /^\[[0-9a-f:.]+\](:\d{1,5})?$/;
const FIELD = /^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$/;
const COLLECTION = /^[A-Za-z0-9_-]{1,64}$/;

function fail(constraint: string, message: string): never {
  throw new ManifestError(constraint, message);
}

function stringList(value: unknown, what: string): string[] {
  if (value === undefined) return [];
  if (!Array.isArray(value) || value.some((v) => typeof v !== "string")) {
    fail("type", `${what} must be a list of strings`);
  }
  return value as string[];
}

function positive(value: unknown, what: string, max: number): number | undefined {
  if (value === undefined) return undefined;
  if (!Number.isInteger(value) || (value as number) < 1 || (value as number) > max) {
    fail("range", `${what} must be a whole number from 1 to ${max}`);
  }
  return value as number;
}

/** A relative path inside the project: no `..`, not absolute, no backslashes. */
function projectPath(value: unknown, what: string): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== "string") fail("type", `${what} must be a string`);
  const path = value.replace(/^\.\//, "").replace(/\/+$/, "");
  if (
    path === "" || path.length > 500 || path.startsWith("/") || /^[A-Za-z]:/.test(path) ||
    path.includes("\\") || path.split("/").some((s) => s === ".." || s === "") ||
    // deno-lint-ignore no-control-regex -- control characters are what is refused
    /[\x00-\x1f\x7f]/.test(path)
  ) {
    fail(what, `${what} must be a path inside the project, like "dist"`);
  }
  return path;
}

/** Parses and checks a manifest; an absent one is the empty manifest. */
export function parseManifest(text: string | undefined): Manifest {
  if (text === undefined) {
    return {
      net: [],
      netPrivate: [],
      routes: [],
      staticFirst: true,
      indexes: {},
      spa: false,
      crons: [],
    };
  }
  let raw: Record<string, unknown>;
  try {
    raw = JSON.parse(text);
  } catch {
    fail("json", "the manifest is not valid JSON");
  }
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) {
    fail("type", "the manifest must be a JSON object");
  }
  const permissions = (raw.permissions ?? {}) as Record<string, unknown>;
  if (typeof permissions !== "object" || Array.isArray(permissions)) {
    fail("type", "permissions must be an object");
  }
  for (const key of Object.keys(permissions)) {
    if (key !== "net") {
      fail("permissions", `the permission "${key}" is not available to apps (only "net")`);
    }
  }
  const net = stringList(permissions.net, "permissions.net").map((h) => h.trim().toLowerCase());
  for (const host of net) {
    if (!HOST.test(host) && !IPV6.test(host)) {
      fail("net", `"${host}" is not a host name (host or host:port)`);
    }
  }
  const netPrivate = stringList(raw.netPrivate, "netPrivate").map((h) => h.trim().toLowerCase());
  for (const host of netPrivate) {
    if (!net.includes(host) && !net.includes(host.replace(/:\d+$/, ""))) {
      fail("netPrivate", `"${host}" in netPrivate must also be in permissions.net`);
    }
  }
  const routes = stringList(raw.routes, "routes");
  for (const r of routes) {
    if (!r.startsWith("/") || r.includes("..")) {
      fail("routes", `route "${r}" must be a path starting with /`);
    }
  }
  const indexes: Record<string, string[]> = {};
  const rawIndexes = raw.indexes ?? {};
  if (typeof rawIndexes !== "object" || Array.isArray(rawIndexes)) {
    fail("type", "indexes must be an object");
  }
  for (const [collection, fields] of Object.entries(rawIndexes as Record<string, unknown>)) {
    if (!COLLECTION.test(collection)) fail("indexes", `"${collection}" is not a collection name`);
    indexes[collection] = stringList(fields, `indexes.${collection}`);
    for (const f of indexes[collection]) {
      if (!FIELD.test(f)) fail("indexes", `"${f}" is not a field path`);
    }
  }
  if (raw.static_first !== undefined && typeof raw.static_first !== "boolean") {
    fail("type", "static_first must be true or false");
  }
  if (raw.spa !== undefined && typeof raw.spa !== "boolean") {
    fail("type", "spa must be true or false");
  }
  const server = projectPath(raw.server, "server");
  if (server !== undefined && !/\.(m?[jt]sx?)$/.test(server)) {
    fail("server", "server must name a .ts, .tsx, .js or .mjs file");
  }
  if (
    raw.build !== undefined &&
    (typeof raw.build !== "string" || raw.build.trim() === "" || raw.build.length > 1000)
  ) {
    fail("type", "build must be a command (a non-empty string)");
  }
  return {
    net,
    netPrivate,
    routes,
    staticFirst: raw.static_first !== false,
    timeoutMs: positive(raw.timeout_ms, "timeout_ms", 3_600_000),
    memoryMb: positive(raw.memory_mb, "memory_mb", 65_536),
    indexes,
    spa: raw.spa === true,
    static: projectPath(raw.static, "static"),
    server,
    build: raw.build as string | undefined,
    crons: cronList(raw.crons),
  };
}

/** The manifest's `crons`: each checked, names unique. Constraint `crons` marks these refusals. */
function cronList(value: unknown): CronSpec[] {
  if (value === undefined) return [];
  if (!Array.isArray(value)) fail("crons", "crons must be a list of {name, schedule, tz?}");
  if (value.length > MAX_CRONS) fail("crons", `an app may have at most ${MAX_CRONS} crons`);
  const seen = new Set<string>();
  return value.map((entry) => {
    if (typeof entry !== "object" || entry === null || Array.isArray(entry)) {
      fail("crons", "each cron must be an object {name, schedule, tz?}");
    }
    let spec: CronSpec;
    try {
      spec = checkCronSpec(entry);
    } catch (err) {
      if (err instanceof CronSpecError) fail("crons", err.message);
      throw err;
    }
    if (seen.has(spec.name)) fail("crons", `cron "${spec.name}" is listed twice`);
    seen.add(spec.name);
    return spec;
  });
}

/** Whether a request path is one the manifest hands to the server code. */
export function routeMatches(routes: string[], path: string): boolean {
  return routes.some((r) =>
    r.endsWith("/*") ? path.startsWith(r.slice(0, -1)) || path === r.slice(0, -2) : path === r
  );
}
