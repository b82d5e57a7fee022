/**
 * Custom domains: added, listed and removed over the API; a request whose
 * Host is one serves its app (files, server code, analytics); every refusal.
 * Certificates for them are in tests/acme_test.ts.
 */
import assert from "node:assert/strict";
import { deployFiles, startTestNode, type TestNode, withTestNode } from "./helpers.ts";
import { waitFor } from "./deadline.ts";

// deno-lint-ignore no-explicit-any -- tests read arbitrary JSON bodies
type Json = any;

function add(node: TestNode, app: string, name: unknown, token = node.tokens.admin) {
  return node.fetch(`/api/apps/${app}/domains`, {
    method: "POST",
    token,
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ name }),
  });
}

async function body(res: Response): Promise<Json> {
  return await res.json();
}

function onHost(node: TestNode, host: string, path = "/") {
  return node.fetch(path, { host, token: null });
}

Deno.test("a custom domain serves its app: files, server code, any case or port", async () => {
  await withTestNode(async (node) => {
    await deployFiles(node, "shop", {
      "index.html": "shop home",
      "api/main.ts": `export default (req: Request) =>
        Response.json({ path: new URL(req.url).pathname, host: req.headers.get("host") });`,
    });
    await deployFiles(node, "blog", { "index.html": "blog home" });
    const before = await onHost(node, "shop.example.com");
    assert.equal(before.status, 404, "not served before it is added");
    assert.match(await before.text(), /does not serve/);

    const res = await add(node, "shop", "Shop.Example.COM.");
    assert.equal(res.status, 201);
    const added = (await body(res)).data;
    assert.equal(added.created, true);
    assert.equal(added.domain.name, "shop.example.com");
    assert.equal(added.domain.app, "shop");
    assert.equal(added.domain.unicode, "shop.example.com");
    assert.equal(added.domain.certificate.kind, "custom");
    assert.equal(added.domain.certificate.status, "pending");
    assert.equal(added.domain.certificate.next_attempt_at, null, "HTTPS is off");

    for (const host of ["shop.example.com", "SHOP.example.com:8080", "shop.example.com."]) {
      const page = await onHost(node, host);
      assert.equal(page.status, 200, host);
      assert.equal(await page.text(), "shop home", host);
    }
    const api = await onHost(node, "shop.example.com", "/api/hello");
    assert.equal(api.status, 200);
    assert.deepEqual(await api.json(), { path: "/api/hello", host: "shop.example.com" });
    const blog = await onHost(node, "blog.localhost");
    assert.equal(await blog.text(), "blog home", "other apps are untouched");

    const again = await add(node, "shop", "shop.example.com");
    assert.equal(again.status, 200, "adding it again is no change");
    assert.equal((await body(again)).data.created, false);

    const list = await node.fetch("/api/apps/shop/domains", { token: node.tokens.read });
    assert.equal(list.status, 200);
    assert.deepEqual((await body(list)).data.map((d: Json) => d.name), ["shop.example.com"]);
    const blogList = await node.fetch("/api/apps/blog/domains");
    assert.deepEqual((await body(blogList)).data, []);

    const del = await node.fetch("/api/apps/shop/domains/shop.example.com", { method: "DELETE" });
    assert.equal(del.status, 200);
    assert.deepEqual((await body(del)).data, {
      app: "shop",
      name: "shop.example.com",
      removed: true,
    });
    const after = await onHost(node, "shop.example.com");
    assert.equal(after.status, 404, "removing it stops serving it");
    await after.body?.cancel();
  });
});

Deno.test("a page view on a custom domain counts for its app", async () => {
  await withTestNode(async (node) => {
    await deployFiles(node, "shop", { "index.html": "<h1>shop</h1>" });
    assert.equal((await add(node, "shop", "shop.example.com")).status, 201);
    const page = await node.fetch("/", {
      host: "shop.example.com",
      token: null,
      headers: { "user-agent": "Mozilla/5.0 (X11; Linux x86_64; rv:125.0) Firefox/125.0" },
    });
    assert.equal(page.status, 200);
    await page.body?.cancel();
    node.server.context.analytics.flush();
    const views = await waitFor(async () => {
      const stats = (await body(await node.fetch("/api/stats?app=shop"))).data;
      return stats.totals.views > 0 ? stats.totals.views : undefined;
    }, "the page view counted for shop");
    assert.equal(views, 1);
  }, { analytics_enabled: 1 });
});

Deno.test("international names are kept as IDNA and served under either form", async () => {
  await withTestNode(async (node) => {
    await deployFiles(node, "books", { "index.html": "bücher" });
    const res = await add(node, "books", "Bücher.example");
    assert.equal(res.status, 201);
    const { domain } = (await body(res)).data;
    assert.equal(domain.name, "xn--bcher-kva.example");
    assert.equal(domain.unicode, "bücher.example");
    const page = await onHost(node, "xn--bcher-kva.example");
    assert.equal(await page.text(), "bücher");
    const del = await node.fetch(
      `/api/apps/books/domains/${encodeURIComponent("bücher.example")}`,
      {
        method: "DELETE",
      },
    );
    assert.equal(del.status, 200, "removed by its Unicode name too");
    assert.equal((await body(del)).data.name, "xn--bcher-kva.example");
  });
});

Deno.test("custom domains: every refusal, and none changes anything", async () => {
  const node = await startTestNode({ settings: { domain: "fazt.example", max_custom_domains: 2 } });
  try {
    await deployFiles(node, "shop", { "index.html": "shop" });
    await deployFiles(node, "blog", { "index.html": "blog" });
    assert.equal((await add(node, "shop", "shop.example.com")).status, 201);
    const before = node.count("custom_domains");
    const refusals: [string, unknown, number, string, string?][] = [
      ["shop", undefined, 400, "VALIDATION_FAILED", "required"],
      ["shop", 42, 400, "VALIDATION_FAILED", "required"],
      ["shop", "", 400, "VALIDATION_FAILED", "required"],
      ["shop", "203.0.113.7", 400, "VALIDATION_FAILED", "ip_address"],
      ["shop", "[2001:db8::1]", 400, "VALIDATION_FAILED", "ip_address"],
      ["shop", "localhost", 400, "VALIDATION_FAILED", "localhost"],
      ["shop", "shop.localhost", 400, "VALIDATION_FAILED", "localhost"],
      ["shop", "fazt.example", 400, "VALIDATION_FAILED", "own_domain"],
      ["shop", "admin.fazt.example", 400, "VALIDATION_FAILED", "own_domain"],
      ["shop", "blog.fazt.example", 400, "VALIDATION_FAILED", "own_domain"],
      ["shop", "*.example.com", 400, "VALIDATION_FAILED", "characters"],
      ["shop", "https://shop.example.org/", 400, "VALIDATION_FAILED", "characters"],
      ["shop", "shop.example.org:443", 400, "VALIDATION_FAILED", "characters"],
      ["shop", "com", 400, "VALIDATION_FAILED", "labels"],
      ["shop", `${"a".repeat(64)}.com`, 400, "VALIDATION_FAILED", "labels"],
      ["shop", `${"a.".repeat(130)}com`, 400, "VALIDATION_FAILED", "max_length"],
      ["blog", "shop.example.com", 409, "DOMAIN_TAKEN"],
      ["nope", "nope.example.com", 404, "APP_NOT_FOUND"],
    ];
    for (const [app, name, status, code, constraint] of refusals) {
      const res = await add(node, app, name);
      const label = `${app} ← ${JSON.stringify(name)}`;
      assert.equal(res.status, status, label);
      const err = (await body(res)).error;
      assert.equal(err.code, code, label);
      if (constraint) assert.equal(err.details.constraint, constraint, label);
    }
    const notJson = await node.fetch("/api/apps/shop/domains", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: "{",
    });
    assert.equal(notJson.status, 400);
    assert.equal((await body(notJson)).error.code, "INVALID_JSON");
    assert.equal(node.count("custom_domains"), before, "refusals add nothing");

    // The node's limit, then room again once one is removed.
    assert.equal((await add(node, "blog", "blog.example.org")).status, 201);
    const full = await add(node, "blog", "www.blog.example.org");
    assert.equal(full.status, 409);
    assert.equal((await body(full)).error.code, "DOMAIN_LIMIT");
    assert.equal(node.count("custom_domains"), 2);

    const cases: [string, number, string][] = [
      ["/api/apps/blog/domains/shop.example.com", 404, "DOMAIN_NOT_FOUND"],
      ["/api/apps/shop/domains/other.example.com", 404, "DOMAIN_NOT_FOUND"],
      ["/api/apps/shop/domains/203.0.113.7", 400, "VALIDATION_FAILED"],
      ["/api/apps/nope/domains/shop.example.com", 404, "APP_NOT_FOUND"],
    ];
    for (const [path, status, code] of cases) {
      const res = await node.fetch(path, { method: "DELETE" });
      assert.equal(res.status, status, path);
      assert.equal((await body(res)).error.code, code, path);
    }
    const forbidden = await node.fetch("/api/apps/shop/domains/shop.example.com", {
      method: "DELETE",
      token: node.tokens.deploy,
    });
    assert.equal(forbidden.status, 403);
    await forbidden.body?.cancel();
    const readOnly = await add(node, "shop", "other.example.com", node.tokens.deploy);
    assert.equal(readOnly.status, 403);
    await readOnly.body?.cancel();
    assert.equal(node.count("custom_domains"), 2, "refused removals remove nothing");
    const served = await onHost(node, "shop.example.com");
    assert.equal(await served.text(), "shop");
  } finally {
    await node.close();
  }
});

Deno.test("deleting an app removes its custom domains and stops serving them", async () => {
  await withTestNode(async (node) => {
    await deployFiles(node, "shop", { "index.html": "shop" });
    assert.equal((await add(node, "shop", "shop.example.com")).status, 201);
    const del = await node.fetch("/api/apps/shop", { method: "DELETE" });
    assert.equal(del.status, 200);
    await del.body?.cancel();
    assert.equal(node.count("custom_domains"), 0);
    const gone = await onHost(node, "shop.example.com");
    assert.equal(gone.status, 404);
    assert.match(await gone.text(), /does not serve/);
    // The same name deployed again is a new app: the domain is not its own.
    await deployFiles(node, "shop", { "index.html": "new shop" });
    const still = await onHost(node, "shop.example.com");
    assert.equal(still.status, 404);
    await still.body?.cancel();
  });
});

Deno.test("the HTTP-01 path answers on every host, only with the node's own tokens", async () => {
  await withTestNode(async (node) => {
    await deployFiles(node, "shop", { "index.html": "shop", ".well-known/acme-challenge/t": "x" });
    assert.equal((await add(node, "shop", "shop.example.com")).status, 201);
    const { challenges } = node.server.context.certs;
    challenges.set("tok-1", "tok-1.thumbprint");
    for (const host of ["localhost", "shop.localhost", "shop.example.com", "unknown.example.net"]) {
      const res = await onHost(node, host, "/.well-known/acme-challenge/tok-1");
      assert.equal(res.status, 200, host);
      assert.match(res.headers.get("content-type") ?? "", /^text\/plain/);
      assert.equal(await res.text(), "tok-1.thumbprint", host);
    }
    const unknown = await onHost(node, "shop.localhost", "/.well-known/acme-challenge/t");
    assert.equal(unknown.status, 404, "an app's file never answers for the CA");
    assert.equal((await body(unknown)).error.code, "NOT_FOUND");
    const post = await node.fetch("/.well-known/acme-challenge/tok-1", {
      method: "POST",
      token: null,
    });
    assert.equal(post.status, 405);
    await post.body?.cancel();
    challenges.delete("tok-1");
    const gone = await onHost(node, "localhost", "/.well-known/acme-challenge/tok-1");
    assert.equal(gone.status, 404);
    await gone.body?.cancel();
  });
});
