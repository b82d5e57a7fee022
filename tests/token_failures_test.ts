/**
 * Failed token authentications are limited per client address
 * (`token_failures_max` per `token_failures_window_s`): then 429, even for
 * a valid token from that address, while other clients keep working.
 */
import assert from "node:assert/strict";
import { SettingError } from "../storage/mod.ts";
import { startTestNode, type TestNode } from "./helpers.ts";

const BAD = "fazt_1_" + "A".repeat(43);

/** A request to `/api/apps` from client `ip` (a trusted proxy on loopback forwards it). */
async function from(
  node: TestNode,
  ip: string,
  auth: string | null,
): Promise<{ status: number; code?: string; retryAfter: string | null }> {
  const headers: Record<string, string> = { "x-forwarded-for": ip };
  if (auth !== null) headers.authorization = auth;
  const res = await node.fetch("/api/apps", { token: null, headers });
  const body = await res.json();
  return { status: res.status, code: body.error?.code, retryAfter: res.headers.get("retry-after") };
}

Deno.test("failed tokens: the limit per address, then 429 even for a valid token there", async () => {
  const node = await startTestNode({
    settings: { trust_proxy: 1, token_failures_max: 3, token_failures_window_s: 120 },
  });
  const good = `Bearer ${node.tokens.admin}`;
  try {
    // Bad, malformed and non-Bearer credentials all count.
    assert.equal((await from(node, "192.0.2.1", `Bearer ${BAD}`)).code, "INVALID_TOKEN");
    assert.equal((await from(node, "192.0.2.1", "Bearer not-a-token")).code, "INVALID_TOKEN");
    assert.equal((await from(node, "192.0.2.1", "Basic YWRtaW46YWRtaW4=")).code, "UNAUTHORIZED");
    const blocked = await from(node, "192.0.2.1", `Bearer ${BAD}`);
    assert.equal(blocked.status, 429);
    assert.equal(blocked.code, "RATE_LIMITED");
    const wait = Number(blocked.retryAfter);
    assert.ok(wait > 0 && wait <= 120, `Retry-After ${blocked.retryAfter}`);
    // The limit is checked before the token: a blocked client learns nothing from a good one.
    const validThere = await from(node, "192.0.2.1", good);
    assert.equal(validThere.status, 429);
    assert.equal(validThere.code, "RATE_LIMITED");

    // Other clients are not affected: a valid token works, a bad one has its own count.
    assert.equal((await from(node, "192.0.2.2", good)).status, 200);
    assert.equal((await from(node, "192.0.2.2", `Bearer ${BAD}`)).status, 401);
    assert.equal((await from(node, "192.0.2.2", good)).status, 200);
  } finally {
    await node.close();
  }
});

Deno.test("failed tokens: no credentials, a low scope and sessions are not counted", async () => {
  const node = await startTestNode({
    settings: { trust_proxy: 1, token_failures_max: 2, token_failures_window_s: 600 },
  });
  try {
    for (let i = 0; i < 5; i++) {
      // The dashboard asks /api/auth/me before anyone signs in: no header is not a failure.
      const none = await from(node, "192.0.2.7", null);
      assert.equal(none.status, 401);
      assert.equal(none.code, "UNAUTHORIZED");
      // A valid token with too low a scope is refused, not counted.
      const res = await node.fetch("/api/tokens", {
        token: node.tokens.read,
        headers: { "x-forwarded-for": "192.0.2.7" },
      });
      assert.equal(res.status, 403);
      await res.body?.cancel();
      const cookie = await node.fetch("/api/apps", {
        token: null,
        headers: { "x-forwarded-for": "192.0.2.7", cookie: "fazt_session=" + "B".repeat(43) },
      });
      assert.equal((await cookie.json()).error.code, "SESSION_EXPIRED");
    }
    assert.equal((await from(node, "192.0.2.7", `Bearer ${node.tokens.admin}`)).status, 200);
  } finally {
    await node.close();
  }
});

Deno.test("failed tokens: without trust_proxy every client behind a proxy is one address", async () => {
  // What the README warns about: the socket's address decides.
  const node = await startTestNode({ settings: { token_failures_max: 2 } });
  try {
    await from(node, "192.0.2.1", `Bearer ${BAD}`);
    await from(node, "192.0.2.2", `Bearer ${BAD}`);
    const other = await from(node, "192.0.2.3", `Bearer ${node.tokens.admin}`);
    assert.equal(other.status, 429);
    assert.equal(other.code, "RATE_LIMITED");
  } finally {
    await node.close();
  }
});

Deno.test("failed tokens over MCP count too, and the limit's settings are checked", async () => {
  const node = await startTestNode({ settings: { token_failures_max: 1 } });
  try {
    const post = () =>
      node.fetch("/mcp", {
        method: "POST",
        token: BAD,
        headers: {
          "content-type": "application/json",
          accept: "application/json, text/event-stream",
        },
        body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "tools/list", params: {} }),
      });
    const first = await post();
    assert.equal(first.status, 401);
    await first.body?.cancel();
    const second = await post();
    assert.equal(second.status, 429);
    assert.equal((await second.json()).error.code, "RATE_LIMITED");
    for (const [key, value] of [["token_failures_max", 0], ["token_failures_window_s", 0]]) {
      assert.throws(() => node.storage.settings.set(String(key), value), SettingError, `${key}`);
    }
  } finally {
    await node.close();
  }
});
