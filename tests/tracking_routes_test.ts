/**
 * The tracking routes are a table matched by the same router as the API:
 * each answers on its own kind of host only, with the router's 405 and 404.
 */
import assert from "node:assert/strict";
import { TRACKING_ROUTES } from "../server/route_table.ts";
import { makeZip, startTestNode } from "./helpers.ts";

const APP = "site.localhost";

Deno.test("every tracking route answers on its own kind of host", async () => {
  const node = await startTestNode({ settings: { analytics_enabled: 1 } });
  try {
    await node.deploy("site", await makeZip({ "index.html": "<p>hi</p>" }));
    for (const route of TRACKING_ROUTES) {
      const host = route.host === "app" ? APP : undefined;
      const res = await node.fetch(route.path, {
        method: route.method,
        host,
        token: null,
        body: route.method === "POST" ? "{}" : undefined,
      });
      assert.ok(res.status < 300, `${route.method} ${route.path}: ${res.status}`);
      await res.body?.cancel();
    }
    // The same paths on the other kind of host are that host's own: a file, the dashboard.
    const onApp = await node.fetch("/track", {
      method: "POST",
      host: APP,
      token: null,
      body: "{}",
    });
    assert.equal(onApp.status, 405);
    assert.equal(onApp.headers.get("allow"), "GET, HEAD", "a static site's answer");
    await onApp.body?.cancel();
    const onAdmin = await node.fetch("/_fazt/a.js", { token: null });
    assert.match(onAdmin.headers.get("content-type") ?? "", /text\/html/, "the dashboard's page");
    await onAdmin.body?.cancel();
  } finally {
    await node.close();
  }
});

Deno.test("tracking routes refuse other methods and unknown paths like the API does", async () => {
  const node = await startTestNode();
  try {
    await node.deploy("site", await makeZip({ "index.html": "<p>hi</p>" }));
    const cases: [string, string, string | undefined, string][] = [
      ["GET", "/_fazt/track", APP, "POST"],
      ["PUT", "/_fazt/track", APP, "POST"],
      ["POST", "/_fazt/pixel.gif", APP, "GET"],
      ["DELETE", "/_fazt/a.js", APP, "GET"],
      ["GET", "/track", undefined, "POST"],
      ["POST", "/pixel.gif", undefined, "GET"],
    ];
    for (const [method, path, host, allow] of cases) {
      const res = await node.fetch(path, { method, host, token: null });
      const label = `${method} ${path}`;
      assert.equal(res.status, 405, label);
      assert.equal(res.headers.get("allow"), allow, label);
      assert.equal(res.headers.get("cache-control"), "no-store", label);
      assert.deepEqual(await res.json(), {
        error: { code: "METHOD_NOT_ALLOWED", message: `Use ${allow} here` },
      }, label);
    }
    const preflight = await node.fetch("/_fazt/track", {
      method: "OPTIONS",
      host: APP,
      token: null,
    });
    assert.equal(preflight.status, 204);
    assert.equal(preflight.headers.get("access-control-allow-origin"), "*");
    assert.equal(preflight.headers.get("access-control-allow-methods"), "POST");
    const unknown = await node.fetch("/_fazt/%6Eope", { host: APP, token: null });
    assert.equal(unknown.status, 404);
    assert.deepEqual(await unknown.json(), {
      error: { code: "NOT_FOUND", message: "Nothing at /_fazt/nope" },
    });
  } finally {
    await node.close();
  }
});
