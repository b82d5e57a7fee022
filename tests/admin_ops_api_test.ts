/**
 * The API behind the dashboard's operations pages: peers added and removed,
 * the apps list's traffic and waiting drafts, and a request rate that counts
 * the node's traffic but not the dashboard watching it.
 */
import assert from "node:assert/strict";
import { makeZip, startTestNode, type TestNode } from "./helpers.ts";
import { freePort } from "./ports.ts";
import { VERSION } from "../version.ts";
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

Deno.test("peers: verified, added with a token that is never answered, refused when wrong, removed", async () => {
  const node = await startTestNode();
  const peer = await startTestNode();
  try {
    const added = await call(node, "POST", "/api/peers", {
      name: "prod",
      url: `${peer.base}/`,
      token: peer.tokens.read,
    });
    assert.equal(added.status, 201, JSON.stringify(added.body));
    assert.equal(added.body.data.name, "prod");
    assert.equal(added.body.data.url, peer.base);
    assert.equal(added.body.data.token, undefined);
    assert.equal(added.body.data.version, VERSION, "the version the peer reported");
    const stored = node.storage.peers.get("prod")!;
    assert.equal(stored.token, peer.tokens.read);
    const list = await call(node, "GET", "/api/peers");
    assert.deepEqual(list.body.data.map((p: Json) => p.name), ["prod"]);
    assert.ok(!JSON.stringify(list.body).includes(peer.tokens.read));

    const again = await call(node, "POST", "/api/peers", {
      name: "prod",
      url: "http://127.0.0.1:1",
      token: "other",
    });
    assert.equal(again.status, 409);
    assert.equal(again.body.error.code, "PEER_EXISTS");
    assert.equal(node.storage.peers.get("prod")!.url, peer.base, "unchanged");

    const refusals: [unknown, string][] = [
      [{ name: "Prod!", url: "https://a.example", token: "t" }, "name"],
      [{ url: "https://a.example", token: "t" }, "name"],
      [{ name: "a", url: "https://a.example/admin", token: "t" }, "url"],
      [{ name: "a", url: "ftp://a.example", token: "t" }, "url"],
      [{ name: "a", url: "https://user:pw@a.example", token: "t" }, "url"],
      [{ name: "a", url: "not a url", token: "t" }, "url"],
      [{ name: "a", url: "https://a.example", token: "" }, "token"],
      [{ name: "a", url: "https://a.example", token: "x".repeat(513) }, "token"],
      [{ name: "a", url: "https://a.example", token: "t", verify: "no" }, "verify"],
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
    await peer.close();
  }
});

Deno.test("peers: one that cannot be verified is refused with why, unless verify is false", async () => {
  const node = await startTestNode();
  const peer = await startTestNode();
  // Answers HTTP but is not fazt, and notes every Authorization header it gets.
  const sentTokens: string[] = [];
  const web = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, (req) => {
    const auth = req.headers.get("authorization");
    if (auth) sentTokens.push(auth);
    return new Response("<h1>Welcome</h1>", { headers: { "content-type": "text/html" } });
  });
  const mover = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    () => Response.redirect("https://elsewhere.test/health", 308),
  );
  try {
    const wrong = peer.tokens.read.slice(0, -4) +
      (peer.tokens.read.endsWith("AAAA") ? "BBBB" : "AAAA");
    const cases: [string, string, string, RegExp][] = [
      [peer.base, wrong, "PEER_TOKEN_REFUSED", /refused the token: .*; nothing saved$/],
      [`http://127.0.0.1:${freePort()}`, "t", "PEER_UNREACHABLE", /^cannot reach .*nothing saved$/],
      [
        `http://127.0.0.1:${web.addr.port}`,
        peer.tokens.read,
        "PEER_NOT_FAZT_NODE",
        /answered, but it is not a fazt node \(GET \/health: 200, no fazt version\)/,
      ],
      [
        `http://127.0.0.1:${mover.addr.port}`,
        "t",
        "PEER_REDIRECTED",
        /redirects to https:\/\/elsewhere\.test: add the peer with that address/,
      ],
    ];
    for (const [url, token, code, message] of cases) {
      const r = await call(node, "POST", "/api/peers", { name: "p", url, token });
      assert.equal(r.status, 422, `${url}: ${JSON.stringify(r.body)}`);
      assert.equal(r.body.error.code, code);
      assert.match(r.body.error.message, message);
      assert.ok(!JSON.stringify(r.body).includes(wrong), "the token is not echoed");
    }
    const refused = await call(node, "POST", "/api/peers", {
      name: "p",
      url: peer.base,
      token: wrong,
    });
    assert.equal(refused.body.error.details.peer_code, "INVALID_TOKEN");
    assert.deepEqual(sentTokens, [], "the token is never sent to what is not fazt");
    assert.deepEqual(node.storage.peers.list(), [], "nothing saved");

    // Saved unchecked when asked: an address not up yet, say.
    const later = `http://127.0.0.1:${freePort()}`;
    const unchecked = await call(node, "POST", "/api/peers", {
      name: "later",
      url: later,
      token: "t",
      verify: false,
    });
    assert.equal(unchecked.status, 201);
    assert.equal(unchecked.body.data.url, later);
    assert.equal(unchecked.body.data.version, null);
  } finally {
    await web.shutdown();
    await mover.shutdown();
    await node.close();
    await peer.close();
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
