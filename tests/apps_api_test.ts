import assert from "node:assert/strict";
import { makeZip, type TestNode, withTestNode } from "./helpers.ts";

const withNode = withTestNode;

const page = (node: TestNode, app: string) =>
  node.fetch("/", { host: `${app}.localhost`, token: null }).then((r) => r.text());

Deno.test("GET /api/apps and /api/apps/{name} describe apps and versions", async () => {
  await withNode(async (node) => {
    let res = await node.fetch("/api/apps");
    assert.deepEqual(await res.json(), { data: [] });
    await node.deploy("alpha", await makeZip({ "index.html": "a1" }));
    await node.deploy("alpha", await makeZip({ "index.html": "a2", "x.txt": "x" }));
    await node.deploy("beta", await makeZip({ "index.html": "b1" }));
    res = await node.fetch("/api/apps", { token: node.tokens.read });
    const list = (await res.json()).data;
    assert.deepEqual(list.map((a: { name: string }) => a.name), ["alpha", "beta"]);
    assert.equal(list[0].live_version, 2);
    assert.equal(list[0].files, 2);
    assert.equal(list[0].versions, 2);
    assert.equal(list[0].url, `http://alpha.localhost:${node.server.port}`);
    const info = (await (await node.fetch("/api/apps/alpha")).json()).data;
    assert.equal(info.live_version, 2);
    assert.deepEqual(
      info.versions.map((v: { number: number; live: boolean }) => [v.number, v.live]),
      [
        [2, true],
        [1, false],
      ],
    );
    assert.equal(info.versions[0].deployed_by, "owner");
    const missing = await node.fetch("/api/apps/nope");
    assert.equal(missing.status, 404);
    assert.equal((await missing.json()).error.code, "APP_NOT_FOUND");
  });
});

Deno.test("rollback: to the previous version by default, or to a named one", async () => {
  await withNode(async (node) => {
    for (const v of ["v1", "v2", "v3"]) {
      await node.deploy("site", await makeZip({ "index.html": v }));
    }
    assert.equal(await page(node, "site"), "v3");
    let res = await node.fetch("/api/apps/site/rollback", { method: "POST" });
    assert.equal(res.status, 200);
    assert.deepEqual((await res.json()).data, {
      app: "site",
      live_version: 2,
      previous_version: 3,
    });
    assert.equal(await page(node, "site"), "v2");
    res = await node.fetch("/api/apps/site/rollback", {
      method: "POST",
      body: JSON.stringify({ version: 3 }),
    });
    assert.equal((await res.json()).data.live_version, 3);
    assert.equal(await page(node, "site"), "v3");
    res = await node.fetch("/api/apps/site/rollback", {
      method: "POST",
      body: JSON.stringify({ version: 1 }),
    });
    assert.equal(await page(node, "site"), "v1");
    await res.body?.cancel();
    // Nothing before v1.
    res = await node.fetch("/api/apps/site/rollback", { method: "POST" });
    assert.equal(res.status, 409);
    assert.equal((await res.json()).error.code, "NO_EARLIER_VERSION");
    for (
      const [body, status, code] of [
        [{ version: 99 }, 404, "VERSION_NOT_FOUND"],
        [{ version: "2" }, 400, "VALIDATION_FAILED"],
        [{ version: 0 }, 400, "VALIDATION_FAILED"],
        ["{not json", 400, "INVALID_JSON"],
        [[1], 400, "INVALID_JSON"],
      ] as const
    ) {
      res = await node.fetch("/api/apps/site/rollback", {
        method: "POST",
        body: typeof body === "string" ? body : JSON.stringify(body),
      });
      assert.equal(res.status, status, JSON.stringify(body));
      assert.equal((await res.json()).error.code, code);
    }
    assert.equal(await page(node, "site"), "v1", "refusals changed nothing");
    res = await node.fetch("/api/apps/ghost/rollback", { method: "POST" });
    assert.equal(res.status, 404);
    await res.body?.cancel();
  });
});

Deno.test("a new deploy after a rollback becomes the newest version and goes live", async () => {
  await withNode(async (node) => {
    for (const v of ["v1", "v2"]) await node.deploy("site", await makeZip({ "index.html": v }));
    await (await node.fetch("/api/apps/site/rollback", { method: "POST" })).body?.cancel();
    const { body } = await node.deploy("site", await makeZip({ "index.html": "v3" }));
    assert.equal(body.data.version, 3);
    assert.equal(await page(node, "site"), "v3");
  });
});

Deno.test("pruning keeps the newest versions and drops content nobody uses", async () => {
  await withNode(async (node) => {
    const shared = "shared asset ".repeat(50);
    for (let i = 1; i <= 6; i++) {
      await node.deploy("site", await makeZip({ "index.html": `v${i}`, "shared.txt": shared }));
    }
    const app = node.storage.apps.get("site")!;
    assert.deepEqual(node.storage.apps.versions(app.id).map((v) => v.number), [6, 5, 4]);
    // Three distinct index.html contents plus one shared file.
    assert.equal(node.count("contents"), 4);
    assert.equal(node.count("files"), 6);
    const res = await node.fetch("/api/apps/site/rollback", {
      method: "POST",
      body: JSON.stringify({ version: 1 }),
    });
    assert.equal(res.status, 404, "pruned versions are gone");
    await res.body?.cancel();
  }, { max_versions: 3 });
});

Deno.test("pruning never removes the live version, even after a rollback", async () => {
  await withNode(async (node) => {
    for (const v of ["v1", "v2"]) await node.deploy("site", await makeZip({ "index.html": v }));
    await (await node.fetch("/api/apps/site/rollback", { method: "POST" })).body?.cancel();
    await node.deploy("site", await makeZip({ "index.html": "v3" }), "&draft=1");
    await node.deploy("site", await makeZip({ "index.html": "v4" }), "&draft=1");
    assert.equal(await page(node, "site"), "v1", "a draft does not go live");
    const app = node.storage.apps.get("site")!;
    assert.deepEqual(node.storage.apps.versions(app.id).map((v) => v.number), [4, 3, 1]);
  }, { max_versions: 2 });
});

Deno.test("identical files across versions and apps are stored once", async () => {
  await withNode(async (node) => {
    const big = "same bytes ".repeat(1000);
    await node.deploy("one", await makeZip({ "index.html": "1", "lib.js": big }));
    await node.deploy("two", await makeZip({ "index.html": "2", "vendor/lib.js": big }));
    await node.deploy("one", await makeZip({ "index.html": "1b", "lib.js": big }));
    const rows = node.storage.db.all<{ n: number }>(
      "SELECT COUNT(*) AS n FROM contents WHERE size = ?",
      big.length,
    );
    assert.equal(rows[0].n, 1);
  });
});

Deno.test("DELETE /api/apps/{name} removes the app, its versions and orphaned content", async () => {
  await withNode(async (node) => {
    const shared = "kept because beta uses it";
    await node.deploy("alpha", await makeZip({ "index.html": "alpha only", "s.txt": shared }));
    await node.deploy("beta", await makeZip({ "index.html": "beta", "s.txt": shared }));
    const res = await node.fetch("/api/apps/alpha", { method: "DELETE" });
    assert.equal(res.status, 200);
    assert.deepEqual((await res.json()).data, { app: "alpha", deleted: true });
    const gone = await node.fetch("/", { host: "alpha.localhost", token: null });
    assert.equal(gone.status, 404);
    await gone.body?.cancel();
    assert.equal(node.count("apps"), 1);
    assert.equal(node.count("contents"), 2, "beta's files remain, alpha's own are gone");
    assert.equal(
      await (await node.fetch("/s.txt", { host: "beta.localhost", token: null })).text(),
      shared,
    );
    const again = await node.fetch("/api/apps/alpha", { method: "DELETE" });
    assert.equal(again.status, 404);
    await again.body?.cancel();
    // A new app of the same name starts clean.
    const { body } = await node.deploy("alpha", await makeZip({ "index.html": "reborn" }));
    assert.equal(body.data.version, 1);
    assert.equal(await page(node, "alpha"), "reborn");
  });
});

Deno.test("tokens API: create (shown once), list without secrets, revoke", async () => {
  await withNode(async (node) => {
    let res = await node.fetch("/api/tokens", {
      method: "POST",
      body: JSON.stringify({ name: "ci", scope: "read" }),
    });
    assert.equal(res.status, 201);
    const created = (await res.json()).data;
    assert.match(created.token, /^fazt_\d+_[A-Za-z0-9_-]{43}$/);
    res = await node.fetch("/api/tokens");
    const listed = await res.text();
    assert.ok(listed.includes('"ci"'));
    assert.ok(!listed.includes(created.token.split("_")[2]), "no secret in the list");
    assert.equal((await node.fetch("/api/apps", { token: created.token })).status, 200);
    res = await node.fetch(`/api/tokens/${created.id}`, { method: "DELETE" });
    assert.equal(res.status, 200);
    await res.body?.cancel();
    res = await node.fetch("/api/apps", { token: created.token });
    assert.equal(res.status, 401);
    assert.equal((await res.json()).error.code, "INVALID_TOKEN");
    for (
      const [body, field] of [
        [{ scope: "read" }, "name"],
        [{ name: "x", scope: "root" }, "scope"],
      ] as const
    ) {
      res = await node.fetch("/api/tokens", { method: "POST", body: JSON.stringify(body) });
      assert.equal(res.status, 400);
      assert.equal((await res.json()).error.details.field, field);
    }
    res = await node.fetch("/api/tokens/999", { method: "DELETE" });
    assert.equal(res.status, 404);
    await res.body?.cancel();
  });
});

Deno.test("GET /api/system and /health", async () => {
  await withNode(async (node) => {
    const health = await (await node.fetch("/health", { token: null })).json();
    assert.equal(health.status, "ok");
    assert.equal(typeof health.version, "string");
    assert.equal(typeof health.uptime_s, "number");
    const sys = (await (await node.fetch("/api/system", { token: node.tokens.read })).json()).data;
    assert.equal(sys.os, Deno.build.os);
    assert.ok(sys.memory.rss_bytes > 0);
    assert.ok(sys.database.size_bytes > 0);
    assert.equal(sys.apps, 0);
  });
});

Deno.test("unknown API routes and wrong methods answer with the envelope", async () => {
  await withNode(async (node) => {
    let res = await node.fetch("/api/nope");
    assert.equal(res.status, 404);
    assert.equal((await res.json()).error.code, "NOT_FOUND");
    res = await node.fetch("/api/apps", { method: "PUT" });
    assert.equal(res.status, 405);
    assert.equal(res.headers.get("allow"), "GET");
    assert.equal((await res.json()).error.code, "METHOD_NOT_ALLOWED");
    res = await node.fetch("/api/deploy", { method: "GET" });
    assert.equal(res.status, 405);
    await res.body?.cancel();
  });
});

Deno.test("the app's versions say what each is: live, previous (with its period) or draft", async () => {
  await withNode(async (node) => {
    await node.deploy("site", await makeZip({ "index.html": "v1" }));
    await node.deploy("site", await makeZip({ "index.html": "v2" }));
    await node.deploy("site", await makeZip({ "index.html": "v3" }), "&draft=1");
    const states = async () => {
      const res = await node.fetch("/api/apps/site");
      assert.equal(res.status, 200);
      return (await res.json()).data.versions as {
        number: number;
        state: string;
        live: boolean;
        live_from: number | null;
        live_until: number | null;
      }[];
    };
    const res = await node.fetch("/api/apps/site/rollback", { method: "POST" });
    await res.body?.cancel();
    const after = await states();
    assert.deepEqual(after.map((v) => [v.number, v.state, v.live]), [
      [3, "draft", false],
      [2, "previous", false],
      [1, "live", true],
    ]);
    const [v3, v2, v1] = after;
    assert.deepEqual([v3.live_from, v3.live_until], [null, null]);
    assert.ok(v2.live_from !== null && v2.live_until !== null && v2.live_from <= v2.live_until);
    assert.equal(v1.live_until, null);
    assert.ok(v1.live_from !== null && v1.live_from >= v2.live_until!);
  });
});

Deno.test("the app list counts each app's error lines of the last hour", async () => {
  await withNode(async (node) => {
    await node.deploy("site", await makeZip({ "index.html": "v1" }));
    await node.deploy("calm", await makeZip({ "index.html": "v1" }));
    const id = node.storage.apps.get("site")!.id;
    node.storage.logs.append(id, "error", "two hours ago", Date.now() - 2 * 3_600_000);
    node.storage.logs.append(id, "error", "just now");
    node.storage.logs.append(id, "error", "again");
    node.storage.logs.append(id, "info", "not an error");
    const res = await node.fetch("/api/apps", { token: node.tokens.read });
    const list = (await res.json()).data as { name: string; errors_last_hour: number }[];
    assert.deepEqual(list.map((a) => [a.name, a.errors_last_hour]), [["calm", 0], ["site", 2]]);
  });
});
