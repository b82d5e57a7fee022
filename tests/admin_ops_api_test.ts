/**
 * The API behind the dashboard's operations pages: peers added and removed,
 * the apps list's traffic and waiting drafts, and a request rate that counts
 * the node's traffic but not the dashboard watching it.
 */
import assert from "node:assert/strict";
import { makeZip, startTestNode, type TestNode } from "./helpers.ts";
import { login, setOwner } from "./admin_helpers.ts";

// deno-lint-ignore no-explicit-any -- tests read arbitrary JSON bodies
type Json = any;

async function call(node: TestNode, method: string, path: string, body?: unknown) {
  const res = await node.fetch(path, {
    method,
    headers: body === undefined ? {} : { "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.status, body: await res.json() as Json };
}

Deno.test("peers: added with a token that is never answered, refused when wrong, removed", async () => {
  const node = await startTestNode();
  try {
    const added = await call(node, "POST", "/api/peers", {
      name: "prod",
      url: "https://admin.example.com/",
      token: "secret-token",
    });
    assert.equal(added.status, 201, JSON.stringify(added.body));
    assert.equal(added.body.data.name, "prod");
    assert.equal(added.body.data.url, "https://admin.example.com");
    assert.equal(added.body.data.token, undefined);
    const stored = node.storage.peers.get("prod")!;
    assert.equal(stored.token, "secret-token");
    const list = await call(node, "GET", "/api/peers");
    assert.deepEqual(list.body.data.map((p: Json) => p.name), ["prod"]);
    assert.ok(!JSON.stringify(list.body).includes("secret-token"));

    const again = await call(node, "POST", "/api/peers", {
      name: "prod",
      url: "https://other.example.com",
      token: "other",
    });
    assert.equal(again.status, 409);
    assert.equal(again.body.error.code, "PEER_EXISTS");
    assert.equal(node.storage.peers.get("prod")!.url, "https://admin.example.com", "unchanged");

    const refusals: [unknown, string][] = [
      [{ name: "Prod!", url: "https://a.example", token: "t" }, "name"],
      [{ url: "https://a.example", token: "t" }, "name"],
      [{ name: "a", url: "https://a.example/admin", token: "t" }, "url"],
      [{ name: "a", url: "ftp://a.example", token: "t" }, "url"],
      [{ name: "a", url: "https://user:pw@a.example", token: "t" }, "url"],
      [{ name: "a", url: "not a url", token: "t" }, "url"],
      [{ name: "a", url: "https://a.example", token: "" }, "token"],
      [{ name: "a", url: "https://a.example", token: "x".repeat(513) }, "token"],
    ];
    for (const [body, field] of refusals) {
      const r = await call(node, "POST", "/api/peers", body);
      assert.equal(r.status, 400, JSON.stringify(body));
      assert.equal(r.body.error.code, "VALIDATION_FAILED");
      assert.equal(r.body.error.details.field, field, JSON.stringify(body));
    }
    assert.equal(node.storage.peers.get("a"), undefined);

    const removed = await call(node, "DELETE", "/api/peers/prod");
    assert.equal(removed.status, 200);
    assert.deepEqual(removed.body.data, { removed: "prod" });
    assert.equal(node.storage.peers.get("prod"), undefined);
    const gone = await call(node, "DELETE", "/api/peers/prod");
    assert.equal(gone.status, 404);
    assert.equal(gone.body.error.code, "PEER_NOT_FOUND");
  } finally {
    await node.close();
  }
});

Deno.test("apps list: views of the last 7 days and drafts waiting to go live", async () => {
  const node = await startTestNode({
    analytics: { flushIntervalMs: 3_600_000, flushEvents: 1_000_000, writer: "inline" },
  });
  try {
    await node.deploy("site", await makeZip({ "index.html": "v1" }));
    await node.deploy("quiet", await makeZip({ "index.html": "q" }));
    const draft = await node.deploy("site", await makeZip({ "index.html": "v2" }), "&draft=1");
    assert.equal(draft.status, 201);
    for (let i = 0; i < 3; i++) {
      const res = await node.fetch("/", {
        host: "site.localhost",
        token: null,
        headers: {
          accept: "text/html",
          "user-agent": "Mozilla/5.0 (X11; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0",
        },
      });
      assert.equal(res.status, 200);
      await res.body?.cancel();
    }
    node.server.context.analytics.flush();
    const apps = async () =>
      Object.fromEntries(
        ((await call(node, "GET", "/api/apps")).body.data as Json[]).map((a) => [a.name, a]),
      );
    let list = await apps();
    assert.equal(list.site.views_7d, 3);
    assert.equal(list.quiet.views_7d, 0);
    assert.equal(list.site.drafts, 1);
    assert.equal(list.quiet.drafts, 0);
    // Made live, then rolled back: v2 was live, so it no longer waits.
    assert.equal((await call(node, "POST", "/api/apps/site/promote", { version: 2 })).status, 200);
    list = await apps();
    assert.equal(list.site.drafts, 0);
    assert.equal((await call(node, "POST", "/api/apps/site/rollback", {})).status, 200);
    list = await apps();
    assert.equal(list.site.live_version, 1);
    assert.equal(list.site.drafts, 0);
  } finally {
    await node.close();
  }
});

Deno.test("requests per minute: the dashboard's page, files and session calls are not counted", async () => {
  const node = await startTestNode();
  try {
    await setOwner(node);
    const counted = async () => {
      const res = await node.fetch("/api/system/requests", { token: node.tokens.read });
      const body = (await res.json()).data;
      return body.this_minute + body.per_minute.reduce((n: number, m: Json) => n + m.n, 0);
    };
    const before = await counted();
    const { cookie } = await login(node); // a sign-in counts: it is not yet the dashboard's
    assert.ok(cookie);
    // The dashboard loading its page, its files and its calls, many times over.
    for (let i = 0; i < 5; i++) {
      for (const path of ["/", "/apps", "/api/system", "/api/apps", "/api/system/requests"]) {
        const res = await node.fetch(path, { token: null, headers: { cookie } });
        assert.ok(res.status < 400, `${path}: ${res.status}`);
        await res.body?.cancel();
      }
    }
    // Real traffic: a visitor of an app, a token's call, an unknown API path.
    await node.deploy("site", await makeZip({ "index.html": "x" }));
    for (
      const res of await Promise.all([
        node.fetch("/", { host: "site.localhost", token: null }),
        node.fetch("/api/apps", { token: node.tokens.read }),
        node.fetch("/api/nope", { token: null }),
      ])
    ) await res.body?.cancel();
    // `before` counted the first look; then the sign-in, the deploy, the three above, this look.
    assert.equal(await counted(), before + 1 + 1 + 3 + 1);
  } finally {
    await node.close();
  }
});
