import type { Route } from "./context.ts";

export type Match =
  | { kind: "found"; route: Route; params: Record<string, string> }
  | { kind: "method"; allowed: string[] }
  | { kind: "none" };

/**
 * A pattern's segments, split once; `undefined` for a pattern with no
 * parameter, which matches a path only when the two are equal (no split at
 * all: the tracking calls are matched per request).
 */
const SEGMENTS = new Map<string, string[] | undefined>();

function segmentsOf(pattern: string): string[] | undefined {
  if (SEGMENTS.has(pattern)) return SEGMENTS.get(pattern);
  const want = pattern.split("/");
  const literal = want.every((s) => !s.startsWith(":") && !s.startsWith("*"));
  SEGMENTS.set(pattern, literal ? undefined : want);
  return literal ? undefined : want;
}

function matchPath(pattern: string, path: string): Record<string, string> | undefined {
  const want = segmentsOf(pattern);
  if (want === undefined) return pattern === path ? {} : undefined;
  const got = path.split("/");
  const rest = want.at(-1)!.startsWith("*");
  if (rest ? got.length < want.length : want.length !== got.length) return undefined;
  const params: Record<string, string> = {};
  for (let i = 0; i < want.length; i++) {
    if (rest && i === want.length - 1) {
      // `*name` (last segment only) captures the rest of the path, slashes included.
      const tail = got.slice(i);
      if (tail.some((s) => s === "")) return undefined;
      try {
        params[want[i].slice(1)] = tail.map(decodeURIComponent).join("/");
      } catch {
        return undefined;
      }
    } else if (want[i].startsWith(":")) {
      if (!got[i]) return undefined;
      try {
        params[want[i].slice(1)] = decodeURIComponent(got[i]);
      } catch {
        return undefined;
      }
    } else if (want[i] !== got[i]) return undefined;
  }
  return params;
}

/**
 * Finds the route for a request; distinguishes "no such path" from "wrong
 * method". `allowed` lists the methods a client may use instead (a CORS
 * preflight route is not one of them).
 */
export function matchRoute(routes: readonly Route[], method: string, path: string): Match {
  const allowed: string[] = [];
  for (const route of routes) {
    const params = matchPath(route.path, path);
    if (!params) continue;
    if (route.method === method || (method === "HEAD" && route.method === "GET")) {
      return { kind: "found", route, params };
    }
    if (route.method !== "OPTIONS") allowed.push(route.method);
  }
  return allowed.length ? { kind: "method", allowed } : { kind: "none" };
}
