import assert from "node:assert/strict";
import { ROUTES } from "../server/mod.ts";
import { SCOPES } from "../storage/mod.ts";
import { makeZip, startTestNode } from "./helpers.ts";
import { adminOrigin, login, setOwner } from "./admin_helpers.ts";

const concrete = (path: string) =>
  path.replace(":name", "site").replace(":id", "1").replace(":collection", "notes")
    .replace("*key", "a/b");

Deno.test("every route in the table enforces its auth policy", async () => {
  const node = await startTestNode();
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
      if (route.auth === "public") {
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
      ];
      for (const scope of SCOPES.slice(0, SCOPES.indexOf(route.auth))) {
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
    assert.ok(checked >= 40, `checked ${checked} refusals`);
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
      if (route.auth === "public") continue;
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
