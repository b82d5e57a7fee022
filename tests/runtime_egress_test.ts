/**
 * App code reaches the network only through the egress proxy: hosts the
 * manifest lists, and never a private address by way of a name (DNS
 * rebinding), on the first request or after a redirect, unless the manifest
 * opts the name in with `netPrivate`.
 */
import assert from "node:assert/strict";
import { deployFiles, type TestNode, withTestNode } from "./helpers.ts";

const FETCHER = `export default async (req: Request) => {
  const q = new URL(req.url).searchParams;
  try {
    const init = q.has("post") ? { method: "POST", body: q.get("post")!, headers: { "x-app": "1" } } : {};
    const r = await fetch(q.get("to")!, init);
    return Response.json({ status: r.status, body: await r.text(), url: r.url, redirected: r.redirected,
      header: r.headers.get("x-target") });
  } catch (e) {
    return Response.json({ refused: (e as Error).name, message: (e as Error).message });
  }
};`;

async function fetchVia(node: TestNode, app: string, to: string, post?: string) {
  const q = new URLSearchParams({ to });
  if (post !== undefined) q.set("post", post);
  const res = await node.fetch(`/api/?${q}`, { host: `${app}.localhost`, token: null });
  assert.equal(res.status, 200);
  return await res.json();
}

/** A local server that answers what it got, and redirects where it is told. */
function target() {
  return Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (req) => {
    const url = new URL(req.url);
    const to = url.searchParams.get("redirect");
    if (to) return new Response(null, { status: 302, headers: { location: to } });
    const body = req.method === "POST" ? await req.text() : "";
    return new Response(`${req.method} ${url.pathname} ${body} ${req.headers.get("x-app") ?? ""}`, {
      headers: { "x-target": "yes" },
    });
  });
}

Deno.test("a listed name that resolves to a private address is refused; netPrivate allows it", async () => {
  const server = target();
  const port = server.addr.port;
  try {
    await withTestNode(async (node) => {
      await deployFiles(node, "named", {
        "manifest.json": JSON.stringify({ permissions: { net: [`localhost:${port}`] } }),
        "api/main.ts": FETCHER,
      });
      await deployFiles(node, "optin", {
        "manifest.json": JSON.stringify({
          permissions: { net: [`localhost:${port}`] },
          netPrivate: [`localhost:${port}`],
        }),
        "api/main.ts": FETCHER,
      });
      const refused = await fetchVia(node, "named", `http://localhost:${port}/x`);
      assert.equal(refused.refused, "NotCapable");
      assert.match(refused.message, /private address/);
      const allowed = await fetchVia(node, "optin", `http://localhost:${port}/x`);
      assert.equal(allowed.status, 200);
      assert.equal(allowed.body, "GET /x  ");
      assert.equal(allowed.header, "yes");
      assert.equal(allowed.url, `http://localhost:${port}/x`);
    });
  } finally {
    await server.shutdown();
  }
});

Deno.test("every redirect hop is checked again", async () => {
  const a = target();
  const b = target();
  try {
    await withTestNode(async (node) => {
      await deployFiles(node, "hops", {
        "manifest.json": JSON.stringify({
          permissions: { net: [`127.0.0.1:${a.addr.port}`, `localhost:${b.addr.port}`] },
        }),
        "api/main.ts": FETCHER,
      });
      const base = `http://127.0.0.1:${a.addr.port}`;
      const go = (to: string) =>
        fetchVia(node, "hops", `${base}/start?redirect=${encodeURIComponent(to)}`);
      // To a listed address: followed.
      const ok = await go(`${base}/landed`);
      assert.equal(ok.body, "GET /landed  ");
      assert.equal(ok.redirected, true);
      assert.equal(ok.url, `${base}/landed`);
      // To an unlisted one, and to a listed name that resolves privately: refused.
      for (const to of [`http://127.0.0.1:${b.addr.port}/x`, `http://localhost:${b.addr.port}/x`]) {
        const r = await go(to);
        assert.equal(r.refused, "NotCapable", `${to}: ${JSON.stringify(r)}`);
      }
    });
  } finally {
    await a.shutdown();
    await b.shutdown();
  }
});

Deno.test("bodies and headers pass through the proxy both ways", async () => {
  const server = target();
  try {
    await withTestNode(async (node) => {
      await deployFiles(node, "poster", {
        // Any port of this address.
        "manifest.json": JSON.stringify({ permissions: { net: ["127.0.0.1"] } }),
        "api/main.ts": FETCHER,
      });
      const r = await fetchVia(
        node,
        "poster",
        `http://127.0.0.1:${server.addr.port}/in`,
        "payload",
      );
      assert.equal(r.body, "POST /in payload 1");
      const closed = await fetchVia(node, "poster", `http://127.0.0.1:1/`);
      assert.equal(closed.refused, "TypeError", JSON.stringify(closed));
    });
  } finally {
    await server.shutdown();
  }
});
