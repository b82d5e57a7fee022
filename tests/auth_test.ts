import assert from "node:assert/strict";
import { type Route, ROUTES } from "../server/mod.ts";
import { SCOPES } from "../storage/mod.ts";
import { makeZip, startTestNode } from "./helpers.ts";
import { adminOrigin, login, setOwner } from "./admin_helpers.ts";
import { startHarness } from "./harness.ts";
import { deadline } from "./deadline.ts";

type Policy = "public" | "read" | "deploy" | "admin";

/**
 * Who may call each route, written out here rather than read from `ROUTES`
 * (PocketBase's ApiScenario style): a test that took the policy from the
 * table it checks would pass whatever the table said. A new route needs a
 * line here; a changed policy, a changed line.
 */
const EXPECTED: Record<string, Policy> = {
  "GET /health": "public",
  "GET /api/system": "read",
  "GET /api/upgrade": "read",
  "POST /api/upgrade": "admin",
  "GET /api/upgrade/release": "admin",
  "GET /api/stats": "read",
  "GET /api/stats/realtime": "read",
  "GET /api/stats/events": "read",
  "POST /api/deploy": "deploy",
  "GET /api/apps": "read",
  "GET /api/apps/:name": "read",
  "DELETE /api/apps/:name": "admin",
  "POST /api/apps/:name/rollback": "deploy",
  "POST /api/apps/:name/promote": "deploy",
  "GET /api/apps/:name/domains": "read",
  "POST /api/apps/:name/domains": "admin",
  "DELETE /api/apps/:name/domains/:domain": "admin",
  "GET /api/apps/:name/files": "read",
  "GET /api/apps/:name/files/*path": "read",
  "GET /api/apps/:name/env": "read",
  "PUT /api/apps/:name/env": "admin",
  "GET /api/apps/:name/limits": "read",
  "PUT /api/apps/:name/limits": "admin",
  "GET /api/apps/:name/crons": "read",
  "POST /api/apps/:name/crons/:job/run": "deploy",
  "GET /api/apps/:name/logs": "read",
  "GET /api/apps/:name/logs/stream": "read",
  "GET /api/apps/:name/kv": "admin",
  "PUT /api/apps/:name/kv/*key": "admin",
  "DELETE /api/apps/:name/kv/*key": "admin",
  "GET /api/apps/:name/denokv": "admin",
  "GET /api/apps/:name/docs": "admin",
  "GET /api/apps/:name/docs/:collection": "admin",
  "PUT /api/apps/:name/docs/:collection/:id": "admin",
  "DELETE /api/apps/:name/docs/:collection/:id": "admin",
  "GET /api/apps/:name/blobs": "admin",
  "GET /api/apps/:name/blobs/*key": "admin",
  "DELETE /api/apps/:name/blobs/*key": "admin",
  "GET /api/tokens": "admin",
  "POST /api/tokens": "admin",
  "DELETE /api/tokens/:id": "admin",
  "POST /api/auth/login": "public",
  "POST /api/auth/logout": "public",
  "GET /api/auth/me": "read",
  "GET /api/auth/sessions": "admin",
  "DELETE /api/auth/sessions/:id": "admin",
  "GET /api/settings": "admin",
  "PUT /api/settings": "admin",
  "GET /api/system/requests": "read",
  "POST /api/system/restart": "admin",
  "POST /api/peers": "admin",
  "DELETE /api/peers/:name": "admin",
  "GET /api/certificates": "read",
  "GET /api/peers": "admin",
  "GET /api/peers/status": "admin",
  "GET /api/backup": "admin",
  "GET /api/replication": "read",
  "PUT /api/replication": "admin",
  "DELETE /api/replication": "admin",
  "POST /api/standby/promote": "admin",
  "POST /mcp": "read",
  "GET /.well-known/mcp.json": "public",
  "GET /llms.txt": "public",
};

const keyOf = (route: Route) => `${route.method} ${route.path}`;

/** The expected policy of a route; a route missing from `EXPECTED` fails the test. */
function expected(route: Route): Policy {
  const policy = EXPECTED[keyOf(route)];
  assert.ok(
    policy,
    `${keyOf(route)} has no expected policy: add it to EXPECTED in tests/auth_test.ts`,
  );
  return policy;
}

const concrete = (path: string, id = "1", name = "site") =>
  path.replace(":name", name).replace(":id", id).replace(":collection", "notes")
    .replace("*key", "a/b").replace(":domain", "shop.example.com")
    .replace(":job", "cleanup");

Deno.test("every route has its expected policy written down, and no other route does", () => {
  const routes = ROUTES.map(keyOf);
  const missing = routes.filter((k) => !(k in EXPECTED));
  assert.deepEqual(missing, [], "routes without an expected policy in tests/auth_test.ts");
  const gone = Object.keys(EXPECTED).filter((k) => !routes.includes(k));
  assert.deepEqual(gone, [], "expected policies of routes that no longer exist");
  assert.equal(new Set(routes).size, routes.length, "each method and path once");
});

Deno.test("every route in the table enforces its auth policy", async () => {
  // Hundreds of bad tokens from one address, on purpose: the limit on them
  // (token_failures_max) is tested in tests/token_failures_test.ts.
  const node = await startTestNode({ settings: { token_failures_max: 1_000_000 } });
  try {
    await node.deploy("site", await makeZip({ "index.html": "v1" }));
    await node.deploy("site", await makeZip({ "index.html": "v2" }));
    const before = ["apps", "versions", "files", "tokens"].map((t) => node.count(t));
    const wrongSecret = node.tokens.admin.slice(0, -4) + "AAAA";
    let checked = 0;
    for (const route of ROUTES) {
      const path = concrete(route.path);
      const send = (headers: Record<string, string>) =>
        node.fetch(path, { method: route.method, headers, token: null });
      const policy = expected(route);
      if (policy === "public") {
        const res = await send({});
        // Public: no credentials needed (a login without any is refused as invalid input).
        assert.ok(
          res.status < 400 || (res.status === 400 && route.path === "/api/auth/login"),
          `${route.method} ${route.path} is public (${res.status})`,
        );
        await res.body?.cancel();
        continue;
      }
      const cases: [Record<string, string>, number, string][] = [
        [{}, 401, "UNAUTHORIZED"],
        [{ authorization: "Basic YWRtaW46YWRtaW4=" }, 401, "UNAUTHORIZED"],
        [{ authorization: "Bearer not-a-token" }, 401, "INVALID_TOKEN"],
        [{ authorization: `Bearer ${wrongSecret}` }, 401, "INVALID_TOKEN"],
        [{ authorization: "Bearer fazt_999_" + "A".repeat(43) }, 401, "INVALID_TOKEN"],
        // A good token in a malformed header is not fished out of it.
        [{ authorization: `Bearer ${node.tokens.admin} extra` }, 401, "UNAUTHORIZED"],
        [{ authorization: `xBearer ${node.tokens.admin}` }, 401, "UNAUTHORIZED"],
        [{ authorization: `Token Bearer ${node.tokens.admin}` }, 401, "UNAUTHORIZED"],
      ];
      for (const scope of SCOPES.slice(0, SCOPES.indexOf(policy))) {
        cases.push([{ authorization: `Bearer ${node.tokens[scope]}` }, 403, "FORBIDDEN"]);
      }
      for (const [headers, status, code] of cases) {
        const res = await send(headers);
        const label = `${route.method} ${route.path} with ${JSON.stringify(headers)}`;
        assert.equal(res.status, status, label);
        const body = await res.json();
        assert.equal(body.error.code, code, label);
        if (status === 401) {
          assert.match(res.headers.get("www-authenticate") ?? "", /^Bearer/, label);
        }
        checked++;
      }
    }
    assert.ok(checked >= 150, `checked ${checked} refusals`);
    const after = ["apps", "versions", "files", "tokens"].map((t) => node.count(t));
    assert.deepEqual(after, before, "refused requests changed nothing");
    const live = await node.fetch("/", { host: "site.localhost", token: null });
    assert.equal(await live.text(), "v2");
  } finally {
    await node.close();
  }
});

Deno.test("every route in the table holds for owner sessions too", async () => {
  const node = await startTestNode();
  try {
    await setOwner(node);
    await node.deploy("site", await makeZip({ "index.html": "v1" }));
    await node.deploy("site", await makeZip({ "index.html": "v2" }));
    const { cookie } = await login(node);
    const tables = ["apps", "versions", "files", "tokens", "sessions"];
    const before = tables.map((t) => node.count(t));
    const dead = "fazt_session=" + "A".repeat(43);
    let checked = 0;
    for (const route of ROUTES) {
      if (expected(route) === "public") continue;
      const path = concrete(route.path);
      const send = (headers: Record<string, string>) =>
        node.fetch(path, { method: route.method, headers, token: null });
      const label = `${route.method} ${route.path}`;
      const expired = await send({ cookie: dead, origin: adminOrigin(node) });
      assert.equal(expired.status, 401, `${label} with an unknown session`);
      assert.equal((await expired.json()).error.code, "SESSION_EXPIRED", label);
      checked++;
      if (route.method === "GET") {
        if (path.endsWith("/stream")) continue; // never ends by itself; tested on its own
        const ok = await send({ cookie: cookie! });
        assert.ok(ok.status !== 401 && ok.status !== 403, `${label}: a session may read`);
        await ok.body?.cancel();
        continue;
      }
      for (const origin of [undefined, "http://evil.example", "null"]) {
        const headers: Record<string, string> = {
          cookie: cookie!,
          "content-type": "application/json",
        };
        if (origin) headers.origin = origin;
        const res = await send(headers);
        assert.equal(res.status, 403, `${label} from origin ${origin}`);
        assert.equal((await res.json()).error.code, "FORBIDDEN_ORIGIN", label);
        checked++;
      }
    }
    assert.ok(checked >= 30, `checked ${checked} refusals`);
    assert.deepEqual(tables.map((t) => node.count(t)), before, "refused requests changed nothing");
  } finally {
    await node.close();
  }
});

Deno.test("every route lets in the lowest scope it is meant for", async () => {
  // In-process, so a stream that never ends by itself is just cancelled.
  const h = startHarness();
  try {
    await h.deploy("site", { "index.html": "v1" });
    await h.deploy("site", { "index.html": "v2" });
    // The deletes take these, not the app and tokens the other routes use.
    await h.deploy("doomed", { "index.html": "x" });
    const spare = h.storage.tokens.create("spare", "read");
    let checked = 0;
    for (const route of ROUTES) {
      const policy = expected(route);
      if (policy === "public") continue;
      const label = `${keyOf(route)} with a '${policy}' token`;
      const deletesApp = keyOf(route) === "DELETE /api/apps/:name";
      const res = await deadline(
        h.request(concrete(route.path, String(spare.info.id), deletesApp ? "doomed" : "site"), {
          method: route.method,
          token: h.tokens[policy],
        }),
        label,
      );
      assert.ok(res.status !== 401 && res.status !== 403, `${label}: ${res.status}`);
      await res.body?.cancel();
      checked++;
    }
    assert.ok(checked >= 35, `checked ${checked} routes`);
  } finally {
    await h.close();
  }
});

Deno.test("scopes nest: read ⊂ deploy ⊂ admin", async () => {
  const node = await startTestNode();
  try {
    const zip = await makeZip({ "index.html": "x" });
    const deployWith = (token: string) =>
      node.fetch("/api/deploy?name=s", {
        method: "POST",
        body: zip,
        token,
        headers: { "content-type": "application/zip" },
      });
    assert.equal((await deployWith(node.tokens.read)).status, 403);
    assert.equal((await deployWith(node.tokens.deploy)).status, 201);
    assert.equal((await deployWith(node.tokens.admin)).status, 201);
    for (const scope of SCOPES) {
      const res = await node.fetch("/api/apps", { token: node.tokens[scope] });
      assert.equal(res.status, 200, scope);
      await res.body?.cancel();
    }
    const del = await node.fetch("/api/apps/s", { method: "DELETE", token: node.tokens.deploy });
    assert.equal(del.status, 403);
    await del.body?.cancel();
    assert.equal(node.count("apps"), 1);
  } finally {
    await node.close();
  }
});

Deno.test("tokens are stored only as hashes", async () => {
  const node = await startTestNode();
  try {
    const rows = node.storage.db.all<Record<string, unknown>>("SELECT * FROM tokens");
    const dump = JSON.stringify(rows);
    for (const token of Object.values(node.tokens)) {
      // The secret is everything after `fazt_<id>_`; it may itself contain '_'.
      const secret = token.split("_").slice(2).join("_");
      assert.ok(secret.length >= 32 && !dump.includes(secret), "no secret stored in clear");
    }
  } finally {
    await node.close();
  }
});
