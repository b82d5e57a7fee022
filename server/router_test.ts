import assert from "node:assert/strict";
import type { Route } from "./context.ts";
import { ROUTES } from "./route_table.ts";
import { matchRoute } from "./router.ts";

const handler = () => new Response();
const route = (method: Route["method"], path: string): Route => ({
  method,
  path,
  auth: "public",
  summary: `${method} ${path}`,
  handler,
});

const TABLE = [
  route("GET", "/api/apps"),
  route("POST", "/api/apps"),
  route("GET", "/api/apps/:name"),
  route("DELETE", "/api/apps/:name"),
  route("GET", "/api/apps/:name/files/*path"),
  route("PUT", "/api/apps/:name/kv/*key"),
];

function found(method: string, path: string) {
  const m = matchRoute(TABLE, method, path);
  assert.equal(m.kind, "found", `${method} ${path}: ${JSON.stringify(m)}`);
  return m as Extract<typeof m, { kind: "found" }>;
}

Deno.test("literal paths match whole, segment by segment", () => {
  assert.equal(found("GET", "/api/apps").route, TABLE[0]);
  assert.equal(found("POST", "/api/apps").route, TABLE[1]);
  for (const path of ["/api/app", "/api/apps/", "/api/apps/x/y", "/api", "/", "", "/API/APPS"]) {
    assert.equal(matchRoute(TABLE, "GET", path).kind, "none", path);
  }
});

Deno.test(":params capture one decoded, non-empty segment", () => {
  const m = found("GET", "/api/apps/blog");
  assert.equal(m.route, TABLE[2]);
  assert.deepEqual(m.params, { name: "blog" });
  assert.deepEqual(found("GET", "/api/apps/caf%C3%A9").params, { name: "café" });
  assert.deepEqual(found("GET", "/api/apps/a%2Fb").params, { name: "a/b" });
  assert.equal(matchRoute(TABLE, "GET", "/api/apps/%E0%A4%A").kind, "none", "bad escape");
});

Deno.test("a last *name captures the rest of the path, slashes included", () => {
  const m = found("GET", "/api/apps/blog/files/assets/js/app.js");
  assert.deepEqual(m.params, { name: "blog", path: "assets/js/app.js" });
  assert.deepEqual(found("GET", "/api/apps/blog/files/a%20b/c%2Fd").params, {
    name: "blog",
    path: "a b/c/d",
  });
  assert.deepEqual(found("PUT", "/api/apps/x/kv/user/1").params, { name: "x", key: "user/1" });
  for (
    const path of [
      "/api/apps/blog/files", // nothing to capture
      "/api/apps/blog/files/", // an empty rest
      "/api/apps/blog/files/a//b", // an empty segment inside
      "/api/apps/blog/files/a/%E0%A4%A", // a bad escape
    ]
  ) {
    assert.equal(matchRoute(TABLE, "GET", path).kind, "none", path);
  }
});

Deno.test("a known path with another method lists the allowed ones; HEAD is GET", () => {
  assert.deepEqual(matchRoute(TABLE, "PATCH", "/api/apps"), {
    kind: "method",
    allowed: ["GET", "POST"],
  });
  assert.deepEqual(matchRoute(TABLE, "POST", "/api/apps/x"), {
    kind: "method",
    allowed: ["GET", "DELETE"],
  });
  assert.equal(found("HEAD", "/api/apps/x").route, TABLE[2]);
  assert.deepEqual(matchRoute(TABLE, "HEAD", "/api/apps/x/kv/k"), {
    kind: "method",
    allowed: ["PUT"],
  });
  assert.deepEqual(matchRoute(TABLE, "GET", "/nowhere"), { kind: "none" });
});

Deno.test("every route of the real table is reached by its own path (none is shadowed)", () => {
  const example = (path: string) =>
    path.split("/").map((s) => s.startsWith(":") || s.startsWith("*") ? `x-${s.slice(1)}` : s)
      .join("/");
  for (const r of ROUTES) {
    const m = matchRoute(ROUTES, r.method, example(r.path));
    assert.equal(m.kind, "found", `${r.method} ${r.path}`);
    assert.equal((m as { route: Route }).route, r, `${r.method} ${r.path} is shadowed`);
  }
});
