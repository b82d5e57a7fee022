/**
 * Behind a reverse proxy fazt does not trust, every client has the proxy's
 * address. The node notes forwarding headers it ignores and says so in
 * `GET /api/system` (the dashboard warns) and in a sign-in 429.
 */
import assert from "node:assert/strict";
import { startTestNode, type TestNode } from "./helpers.ts";
import { login, setOwner } from "./admin_helpers.ts";
import { startHarness } from "./harness.ts";

// deno-lint-ignore no-explicit-any -- tests read arbitrary JSON bodies
type Json = any;

async function proxyInfo(node: Pick<TestNode, "fetch">): Promise<Json> {
  const res = await node.fetch("/api/system");
  assert.equal(res.status, 200);
  return (await res.json()).data.proxy;
}

Deno.test("ignored forwarding headers are reported by /api/system", async () => {
  const node = await startTestNode();
  try {
    assert.deepEqual(await proxyInfo(node), { trust_proxy: false, ignored_forwarding: null });
    for (const header of ["x-real-ip", "forwarded", "x-forwarded-for"]) {
      const value = header === "forwarded" ? "for=203.0.113.5" : "203.0.113.5";
      const res = await node.fetch("/api/apps", { headers: { [header]: value } });
      await res.body?.cancel();
      const seen = (await proxyInfo(node)).ignored_forwarding;
      assert.equal(seen.header, header);
      assert.equal(seen.from_loopback, true);
      assert.ok(seen.last_seen_at > 0);
    }
    // Only the admin host is watched (where the owner signs in); apps' hosts are not.
    const app = await node.fetch("/", {
      host: "site.localhost",
      token: null,
      headers: { "x-forwarded-for": "203.0.113.5" },
    });
    await app.body?.cancel();
    assert.equal((await proxyInfo(node)).ignored_forwarding.requests, 3);
  } finally {
    await node.close();
  }
});

Deno.test("a trusted proxy on loopback with X-Forwarded-For is not reported", async () => {
  const node = await startTestNode({ settings: { trust_proxy: 1 } });
  try {
    const res = await node.fetch("/api/apps", { headers: { "x-forwarded-for": "203.0.113.5" } });
    await res.body?.cancel();
    assert.deepEqual(await proxyInfo(node), { trust_proxy: true, ignored_forwarding: null });
    // Only `Forwarded`, which fazt does not read: reported even though the proxy is trusted.
    const fwd = await node.fetch("/api/apps", { headers: { forwarded: "for=203.0.113.5" } });
    await fwd.body?.cancel();
    const seen = (await proxyInfo(node)).ignored_forwarding;
    assert.equal(seen.header, "forwarded");
  } finally {
    await node.close();
  }
});

Deno.test("trust_proxy on but the proxy not on loopback: reported, not from loopback", async () => {
  const h = startHarness({ settings: { trust_proxy: 1 } });
  try {
    const res = await h.request("/api/apps", {
      remote: "198.51.100.9",
      headers: { "x-forwarded-for": "203.0.113.5" },
    });
    await res.body?.cancel();
    const seen = (await proxyInfo({ fetch: (p) => h.request(p) })).ignored_forwarding;
    assert.equal(seen.header, "x-forwarded-for");
    assert.equal(seen.from_loopback, false);
  } finally {
    await h.close();
  }
});

Deno.test("a locked-out sign-in through an ignored proxy says which header was ignored", async () => {
  const node = await startTestNode();
  try {
    await setOwner(node);
    const via = { "x-forwarded-for": "203.0.113.5" };
    for (let i = 0; i < 5; i++) await login(node, { password: "wrong", headers: via });
    const blocked = await login(node, { headers: via });
    assert.equal(blocked.res.status, 429);
    assert.equal(blocked.body.error.details.ignored_header, "x-forwarded-for");
    // Without such a header the 429 does not mention one.
    const direct = await login(node);
    assert.equal(direct.res.status, 429);
    assert.equal(direct.body.error.details.ignored_header, undefined);
  } finally {
    await node.close();
  }
});
