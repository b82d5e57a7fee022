/** The owner's sign-in: sessions, the cookie's attributes, Origin checks, the rate limit. */
import assert from "node:assert/strict";
import { makeZip, startTestNode } from "./helpers.ts";
import { adminOrigin, login, OWNER, setOwner } from "./admin_helpers.ts";
import { type Harness, type RequestOptions, startHarness } from "./harness.ts";

/** `POST /api/auth/login` in-process, from the admin origin unless told otherwise. */
async function harnessLogin(h: Harness, init: RequestOptions = {}) {
  const res = await h.request("/api/auth/login", {
    method: "POST",
    token: null,
    ...init,
    headers: {
      "content-type": "application/json",
      origin: "http://localhost",
      ...Object.fromEntries(new Headers(init.headers)),
    },
    body: JSON.stringify({ username: OWNER.username, password: OWNER.password }),
  });
  const setCookie = res.headers.get("set-cookie");
  return { res, body: await res.json(), setCookie, cookie: setCookie?.split(";")[0] };
}

Deno.test("login sets a host-only, HttpOnly, SameSite=Strict cookie that the API accepts", async () => {
  const node = await startTestNode();
  try {
    await setOwner(node);
    const { res, body, setCookie, cookie } = await login(node);
    assert.equal(res.status, 200);
    assert.equal(body.data!.username, OWNER.username);
    assert.ok(setCookie && cookie, "a cookie is set");
    const attrs = setCookie.split(";").map((s) => s.trim().toLowerCase());
    assert.ok(attrs.includes("httponly"));
    assert.ok(attrs.includes("samesite=strict"));
    assert.ok(attrs.includes("path=/"));
    assert.ok(!attrs.some((a) => a.startsWith("domain")), "no Domain: the admin host only");
    assert.ok(!attrs.includes("secure"), "plain HTTP: not Secure (the browser would drop it)");
    assert.ok(attrs.some((a) => /^max-age=\d+$/.test(a)));
    assert.match(cookie, /^fazt_session=[A-Za-z0-9_-]{43}$/);
    const dump = JSON.stringify(node.storage.db.all("SELECT * FROM sessions"));
    assert.ok(!dump.includes(cookie.split("=")[1]), "only a hash of the cookie is stored");

    const me = await node.fetch("/api/auth/me", { token: null, headers: { cookie } });
    assert.equal(me.status, 200);
    assert.deepEqual(
      { kind: (await me.json()).data.kind },
      { kind: "session" },
    );
    const apps = await node.fetch("/api/apps", { token: null, headers: { cookie } });
    assert.equal(apps.status, 200);
    await apps.body?.cancel();
    // Tokens keep working alongside sessions.
    const viaToken = await node.fetch("/api/auth/me");
    assert.equal((await viaToken.json()).data.kind, "token");
  } finally {
    await node.close();
  }
});

Deno.test("the cookie is Secure under HTTPS (a trusted proxy on loopback says so)", async () => {
  const node = await startTestNode({ settings: { trust_proxy: 1 } });
  try {
    await setOwner(node);
    const { setCookie } = await login(node, {
      headers: { "x-forwarded-proto": "https", origin: `https://localhost:${node.server.port}` },
    });
    assert.match(setCookie ?? "", /;\s*Secure/);
  } finally {
    await node.close();
  }
});

Deno.test("wrong credentials are refused with the standard envelope and no cookie", async () => {
  const node = await startTestNode();
  try {
    await setOwner(node);
    for (
      const creds of [{ password: "wrong" }, { username: "someone", password: OWNER.password }]
    ) {
      const { res, body, setCookie } = await login(node, creds);
      assert.equal(res.status, 401);
      assert.equal(body.error!.code, "INVALID_CREDENTIALS");
      assert.equal(setCookie, null);
    }
    assert.equal(node.count("sessions"), 0);
    const none = await login(node, { password: "" });
    assert.equal(none.res.status, 400);
  } finally {
    await node.close();
  }
});

Deno.test("cookie-authenticated writes must come from the admin origin", async () => {
  const node = await startTestNode();
  try {
    await setOwner(node);
    await node.deploy("site", await makeZip({ "index.html": "hi" }));
    const { cookie } = await login(node);
    const before = node.count("tokens");
    const create = (headers: Record<string, string>) =>
      node.fetch("/api/tokens", {
        method: "POST",
        token: null,
        headers: { cookie: cookie!, "content-type": "application/json", ...headers },
        body: JSON.stringify({ name: "x", scope: "read" }),
      });
    const cases: Record<string, string>[] = [
      {},
      { origin: "http://evil.example" },
      { origin: `http://site.localhost:${node.server.port}` }, // an app on this node is another site
      { origin: `${adminOrigin(node)}0` }, // another port that starts with this one
      { origin: `https://localhost:${node.server.port}` },
      { origin: "null" },
      { "sec-fetch-site": "cross-site" },
      { "sec-fetch-site": "same-site" },
    ];
    for (const headers of cases) {
      const res = await create(headers);
      assert.equal(res.status, 403, JSON.stringify(headers));
      assert.equal((await res.json()).error.code, "FORBIDDEN_ORIGIN");
    }
    const del = await node.fetch("/api/apps/site", {
      method: "DELETE",
      token: null,
      headers: { cookie: cookie!, origin: "http://evil.example" },
    });
    assert.equal(del.status, 403);
    await del.body?.cancel();
    assert.equal(node.count("tokens"), before, "refused requests changed nothing");
    assert.equal(node.count("apps"), 1);

    const ok = await create({ origin: adminOrigin(node) });
    assert.equal(ok.status, 201);
    await ok.body?.cancel();
    const sameOrigin = await create({ "sec-fetch-site": "same-origin" });
    assert.equal(sameOrigin.status, 201, "no Origin but Sec-Fetch-Site: same-origin");
    await sameOrigin.body?.cancel();
    // Reads need no Origin.
    const read = await node.fetch("/api/tokens", { token: null, headers: { cookie: cookie! } });
    assert.equal(read.status, 200);
    await read.body?.cancel();
    // A login form posted from another site is refused too.
    const cross = await login(node, { headers: { origin: "http://evil.example" } });
    assert.equal(cross.res.status, 403);
  } finally {
    await node.close();
  }
});

Deno.test("a Bearer header decides alone: a bad token is not rescued by a good cookie", async () => {
  const node = await startTestNode();
  try {
    await setOwner(node);
    const { cookie } = await login(node);
    const res = await node.fetch("/api/apps", {
      token: "fazt_1_" + "A".repeat(43),
      headers: { cookie: cookie! },
    });
    assert.equal(res.status, 401);
    assert.equal((await res.json()).error.code, "INVALID_TOKEN");
  } finally {
    await node.close();
  }
});

Deno.test("logout ends the session and clears the cookie", async () => {
  const node = await startTestNode();
  try {
    await setOwner(node);
    const { cookie } = await login(node);
    const crossSite = await node.fetch("/api/auth/logout", {
      method: "POST",
      token: null,
      headers: { cookie: cookie!, origin: "http://evil.example" },
    });
    assert.equal(crossSite.status, 403, "no logout from another site");
    await crossSite.body?.cancel();
    const out = await node.fetch("/api/auth/logout", {
      method: "POST",
      token: null,
      headers: { cookie: cookie!, origin: adminOrigin(node) },
    });
    assert.equal(out.status, 200);
    assert.deepEqual((await out.json()).data, { logged_out: true });
    assert.match(out.headers.get("set-cookie") ?? "", /^fazt_session=;.*Max-Age=0/);
    assert.equal(node.count("sessions"), 0);
    const after = await node.fetch("/api/apps", { token: null, headers: { cookie: cookie! } });
    assert.equal(after.status, 401);
    assert.equal((await after.json()).error.code, "SESSION_EXPIRED");
  } finally {
    await node.close();
  }
});

Deno.test("5 failed logins per address per 15 minutes, then 429 even with the right password", async () => {
  const node = await startTestNode();
  try {
    await setOwner(node);
    for (let i = 1; i <= 5; i++) {
      const { res, body } = await login(node, { password: `wrong ${i}` });
      assert.equal(res.status, 401);
      assert.equal(body.error!.details?.attempts_left, 5 - i);
    }
    const blocked = await login(node);
    assert.equal(blocked.res.status, 429);
    assert.equal(blocked.body.error!.code, "RATE_LIMITED");
    assert.ok(Number(blocked.res.headers.get("retry-after")) > 800);
    assert.equal(blocked.setCookie, null);
    // The address comes from the socket: a forged X-Forwarded-For does not get around it.
    const forged = await login(node, { headers: { "x-forwarded-for": "203.0.113.9" } });
    assert.equal(forged.res.status, 429);
    // Sessions that exist keep working; tokens too.
    const res = await node.fetch("/api/apps");
    assert.equal(res.status, 200);
    await res.body?.cancel();
  } finally {
    await node.close();
  }
});

Deno.test("behind a trusted proxy the limit is per forwarded address; success resets it", async () => {
  const node = await startTestNode({ settings: { trust_proxy: 1 } });
  try {
    await setOwner(node);
    const from = (ip: string) => ({ "x-forwarded-for": `198.51.100.1, ${ip}` });
    for (let i = 0; i < 5; i++) {
      await login(node, { password: "wrong", headers: from("192.0.2.1") });
    }
    assert.equal((await login(node, { headers: from("192.0.2.1") })).res.status, 429);
    assert.equal((await login(node, { headers: from("192.0.2.2") })).res.status, 200);
    for (let i = 0; i < 4; i++) {
      await login(node, { password: "wrong", headers: from("192.0.2.3") });
    }
    assert.equal((await login(node, { headers: from("192.0.2.3") })).res.status, 200);
    for (let i = 0; i < 4; i++) {
      await login(node, { password: "wrong", headers: from("192.0.2.3") });
    }
    assert.equal(
      (await login(node, { headers: from("192.0.2.3") })).res.status,
      200,
      "the count restarted after the success",
    );
  } finally {
    await node.close();
  }
});

Deno.test("sessions survive a restart of the node", async () => {
  const dir = await Deno.makeTempDir({ prefix: "fazt-test-" });
  try {
    const first = await startTestNode({ dir });
    await setOwner(first);
    const { cookie } = await login(first);
    await first.close();
    const second = await startTestNode({ dir });
    try {
      const res = await second.fetch("/api/auth/me", { token: null, headers: { cookie: cookie! } });
      assert.equal(res.status, 200);
      assert.equal((await res.json()).data.kind, "session");
    } finally {
      await second.close();
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("app hosts never see the session cookie as theirs to use", async () => {
  const node = await startTestNode();
  try {
    await setOwner(node);
    const { setCookie, cookie } = await login(node);
    assert.ok(!/domain=/i.test(setCookie!), "host-only: browsers send it to the admin host alone");
    // Even if a client sent it to an app host, an app host has no API of the owner's.
    await node.deploy("site", await makeZip({ "index.html": "hi" }));
    const res = await node.fetch("/api/apps", {
      host: `site.localhost:${node.server.port}`,
      token: null,
      headers: { cookie: cookie! },
    });
    assert.equal(res.status, 404);
    await res.body?.cancel();
  } finally {
    await node.close();
  }
});

Deno.test("signed-in browsers are listed and can be signed out one by one", async () => {
  const node = await startTestNode();
  try {
    await setOwner(node);
    const a = await login(node, { headers: { "user-agent": "Browser A" } });
    const b = await login(node, { headers: { "user-agent": "Browser B" } });
    const list = await node.fetch("/api/auth/sessions", {
      token: null,
      headers: { cookie: a.cookie! },
    });
    const rows = (await list.json()).data as { id: string; user_agent: string; current: boolean }[];
    assert.equal(rows.length, 2);
    const other = rows.find((r) => !r.current)!;
    assert.equal(other.user_agent, "Browser B");
    const del = await node.fetch(`/api/auth/sessions/${other.id}`, {
      method: "DELETE",
      token: null,
      headers: { cookie: a.cookie!, origin: adminOrigin(node) },
    });
    assert.equal(del.status, 200);
    await del.body?.cancel();
    const gone = await node.fetch("/api/auth/me", { token: null, headers: { cookie: b.cookie! } });
    assert.equal(gone.status, 401);
    await gone.body?.cancel();
  } finally {
    await node.close();
  }
});

Deno.test("the session's idle time and hard cap come from the settings", async () => {
  const h = startHarness({ settings: { session_idle_hours: 2, session_max_days: 3 } });
  try {
    await setOwner(h);
    const { res, setCookie, cookie } = await harnessLogin(h);
    assert.equal(res.status, 200);
    assert.match(setCookie!, /;\s*Max-Age=259200;/, "the cookie lives as long as the hard cap");
    const list = await h.request("/api/auth/sessions", {
      token: null,
      headers: { cookie: cookie! },
    });
    const [s] = (await list.json()).data;
    assert.equal(s.expires_at - s.created_at, 2 * 3_600_000, "idle time in hours");
  } finally {
    await h.close();
  }
  // An idle time longer than the cap: the cap wins from the start.
  const capped = startHarness({ settings: { session_idle_hours: 100, session_max_days: 1 } });
  try {
    await setOwner(capped);
    const { cookie } = await harnessLogin(capped);
    const list = await capped.request("/api/auth/sessions", {
      token: null,
      headers: { cookie: cookie! },
    });
    const [s] = (await list.json()).data;
    assert.equal(s.expires_at - s.created_at, 24 * 3_600_000);
  } finally {
    await capped.close();
  }
});

Deno.test("only a cookie named exactly fazt_session signs in", async () => {
  const h = startHarness();
  try {
    await setOwner(h);
    const { cookie } = await harnessLogin(h);
    const secret = cookie!.split("=")[1];
    for (const name of ["xfazt_session", "not_fazt_session", "fazt_session_old", "FAZT_SESSION"]) {
      const res = await h.request("/api/auth/me", {
        token: null,
        headers: { cookie: `${name}=${secret}` },
      });
      assert.equal(res.status, 401, name);
      assert.equal((await res.json()).error.code, "UNAUTHORIZED", name);
    }
    const among = await h.request("/api/auth/me", {
      token: null,
      headers: { cookie: `theme=dark; fazt_session=${secret}; lang=en` },
    });
    assert.equal(among.status, 200, "found among other cookies");
    await among.body?.cancel();
  } finally {
    await h.close();
  }
});

Deno.test("forwarding headers count only from a trusted proxy on loopback", async () => {
  // Without trust_proxy, X-Forwarded-Proto does not make the cookie Secure
  // (a browser on plain HTTP would drop it) nor the origin https.
  const plain = startHarness();
  try {
    await setOwner(plain);
    const forged = await harnessLogin(plain, {
      headers: { "x-forwarded-proto": "https", origin: "https://localhost" },
    });
    assert.equal(forged.res.status, 403, "the origin is still http://");
    const ok = await harnessLogin(plain, { headers: { "x-forwarded-proto": "https" } });
    assert.equal(ok.res.status, 200);
    assert.doesNotMatch(ok.setCookie!, /Secure/i);
  } finally {
    await plain.close();
  }
  // With trust_proxy on but the peer not on loopback, the headers are anyone's.
  const remote = startHarness({ settings: { trust_proxy: 1 } });
  try {
    await setOwner(remote);
    const from = (ip: string): RequestOptions => ({
      remote: "203.0.113.7",
      headers: { "x-forwarded-for": ip, "x-forwarded-proto": "https" },
    });
    const ok = await harnessLogin(remote, from("192.0.2.1"));
    assert.equal(ok.res.status, 200);
    assert.doesNotMatch(ok.setCookie!, /Secure/i);
    for (let i = 0; i < 5; i++) {
      const res = await remote.request("/api/auth/login", {
        method: "POST",
        token: null,
        ...from(`192.0.2.${10 + i}`),
        headers: { ...from(`192.0.2.${10 + i}`).headers, origin: "http://localhost" },
        body: JSON.stringify({ username: OWNER.username, password: "wrong" }),
      });
      assert.equal(res.status, 401);
      await res.body?.cancel();
    }
    const blocked = await harnessLogin(remote, from("192.0.2.99"));
    assert.equal(blocked.res.status, 429, "counted per socket address, not per header");
  } finally {
    await remote.close();
  }
});

Deno.test("the admin host's origin is compared without regard to case", async () => {
  const h = startHarness();
  try {
    await setOwner(h);
    // Host names are case-insensitive; browsers send the Origin lower-cased.
    const res = await harnessLogin(h, { host: "LocalHost" });
    assert.equal(res.res.status, 200);
    const cross = await harnessLogin(h, {
      host: "LocalHost",
      headers: { origin: "http://LocalHost.evil.example" },
    });
    assert.equal(cross.res.status, 403);
  } finally {
    await h.close();
  }
});
