/**
 * Cookie tossing: a page on an app host (`<app>.<domain>`) can set a cookie
 * named like the session cookie for the parent domain, and the browser sends
 * it along with (often before) the real one. fazt tries every value, and
 * under HTTPS uses a `__Host-` cookie an app host cannot set at all.
 */
import assert from "node:assert/strict";
import { startTestNode, type TestNode } from "./helpers.ts";
import { login, setOwner } from "./admin_helpers.ts";

const SHAPED = "B".repeat(43); // shaped like a session secret, but nobody's

function me(node: TestNode, cookie: string, headers: Record<string, string> = {}) {
  return node.fetch("/api/auth/me", { token: null, headers: { cookie, ...headers } });
}

Deno.test("a tossed same-name cookie sent first does not hide the real session", async () => {
  const node = await startTestNode();
  try {
    await setOwner(node);
    const { cookie } = await login(node);
    assert.match(cookie!, /^fazt_session=/);
    for (
      const tossed of [
        "fazt_session=x",
        `fazt_session=${SHAPED}`,
        "fazt_session=",
        Array.from({ length: 20 }, (_, i) => `fazt_session=${SHAPED.slice(2)}${i}0`).join("; "),
      ]
    ) {
      const res = await me(node, `${tossed}; ${cookie}`);
      assert.equal(res.status, 200, tossed);
      assert.equal((await res.json()).data.kind, "session");
    }
    // A write with the same cookies (and the admin origin) works too.
    const write = await node.fetch("/api/tokens", {
      method: "POST",
      token: null,
      headers: {
        cookie: `fazt_session=x; ${cookie}`,
        origin: `http://localhost:${node.server.port}`,
        "content-type": "application/json",
      },
      body: JSON.stringify({ name: "after-toss", scope: "read" }),
    });
    assert.equal(write.status, 201);
    await write.body?.cancel();
    // Only tossed cookies: still refused.
    const only = await me(node, `fazt_session=x; fazt_session=${SHAPED}`);
    assert.equal(only.status, 401);
    assert.equal((await only.json()).error.code, "SESSION_EXPIRED");
    // Logout with both ends the real session.
    const out = await node.fetch("/api/auth/logout", {
      method: "POST",
      token: null,
      headers: {
        cookie: `fazt_session=x; ${cookie}`,
        origin: `http://localhost:${node.server.port}`,
      },
    });
    assert.deepEqual((await out.json()).data, { logged_out: true });
    assert.equal(node.count("sessions"), 0);
  } finally {
    await node.close();
  }
});

Deno.test("under HTTPS the session cookie is __Host-, Secure, Path=/ and has no Domain", async () => {
  const node = await startTestNode({ settings: { trust_proxy: 1 } });
  try {
    await setOwner(node);
    const https = {
      "x-forwarded-proto": "https",
      origin: `https://localhost:${node.server.port}`,
    };
    const { res, setCookie, cookie } = await login(node, { headers: https });
    assert.equal(res.status, 200);
    const attrs = setCookie!.split(";").map((s) => s.trim());
    assert.match(attrs[0], /^__Host-fazt_session=[A-Za-z0-9_-]{43}$/);
    assert.ok(attrs.includes("Secure"));
    assert.ok(attrs.includes("Path=/"));
    assert.ok(attrs.includes("HttpOnly"));
    assert.ok(attrs.includes("SameSite=Strict"));
    assert.ok(!attrs.some((a) => /^domain=/i.test(a)));
    // The browser sends it after tossed cookies of the plain name: it is tried first anyway.
    const many = Array.from({ length: 40 }, (_, i) => `fazt_session=t${i}`).join("; ");
    const ok = await me(node, `${many}; ${cookie}`, { "x-forwarded-proto": "https" });
    assert.equal(ok.status, 200);
    assert.equal((await ok.json()).data.kind, "session");
    // Logout clears the __Host- cookie, and a plain one from HTTP days, both Secure.
    const out = await node.fetch("/api/auth/logout", {
      method: "POST",
      token: null,
      headers: { ...https, cookie: cookie! },
    });
    assert.equal(out.status, 200);
    const cleared = out.headers.getSetCookie();
    assert.deepEqual(cleared.map((c) => c.split("=")[0]), ["__Host-fazt_session", "fazt_session"]);
    for (const c of cleared) assert.match(c, /; Max-Age=0;.*; Secure$/);
    assert.equal(node.count("sessions"), 0);
  } finally {
    await node.close();
  }
});

Deno.test("plain HTTP keeps the plain cookie name (a browser drops __Host- without Secure)", async () => {
  const node = await startTestNode();
  try {
    await setOwner(node);
    const { setCookie } = await login(node);
    assert.match(setCookie!, /^fazt_session=/);
    assert.doesNotMatch(setCookie!, /__Host-|Secure/);
  } finally {
    await node.close();
  }
});
