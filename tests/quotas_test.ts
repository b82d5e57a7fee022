/**
 * Per-app quotas (issue 14): stored bytes across KV, documents and blobs
 * (a refused write leaves the data as it was), requests a second (429 with
 * Retry-After), requests at once (429 with Retry-After); node-wide defaults
 * from settings, per-app overrides through the API at once.
 */
import assert from "node:assert/strict";
import { deadline, waitFor } from "./deadline.ts";
import { deployFiles, type TestNode, withTestNode } from "./helpers.ts";

const client = Deno.createHttpClient({ allowHost: true });

function appFetch(node: TestNode, app: string, path: string, init: RequestInit = {}) {
  const headers = new Headers(init.headers);
  headers.set("host", `${app}.localhost`);
  return fetch(`${node.base}${path}`, { ...init, headers, client });
}

/** Writes what it is asked to, and answers the storage's refusal as JSON. */
const WRITER = `export default async (req: Request, ctx: any) => {
  const url = new URL(req.url);
  const n = Number(url.searchParams.get("n") ?? "10");
  const key = url.searchParams.get("key") ?? "k";
  try {
    switch (url.pathname) {
      case "/api/kv": await ctx.kv.set(key, "x".repeat(n)); break;
      case "/api/doc": await ctx.docs.insert("c", { id: key, text: "x".repeat(n) }); break;
      case "/api/grow": await ctx.docs.update("c", {}, { $set: { text: "y".repeat(n) } }); break;
      case "/api/blob": await ctx.blobs.put(key, new Uint8Array(n)); break;
      case "/api/del": await ctx.kv.delete(key); break;
      case "/api/dump": return Response.json({
        kv: (await ctx.kv.list()).items,
        docs: (await ctx.docs.find("c", {})).items,
        blobs: (await ctx.blobs.list()).items.map((b: any) => [b.key, b.size]),
      });
    }
    return Response.json({ ok: true });
  } catch (err) {
    return Response.json({ code: (err as any).code, message: (err as Error).message }, { status: 507 });
  }
};`;

async function limits(node: TestNode, app: string, body?: Record<string, unknown>) {
  const res = await node.fetch(`/api/apps/${app}/limits`, {
    method: body ? "PUT" : "GET",
    body: body && JSON.stringify(body),
    headers: { "content-type": "application/json" },
  });
  return { status: res.status, body: await res.json() };
}

Deno.test("writes past the storage quota fail with QUOTA_EXCEEDED and leave the data as it was", async () => {
  await withTestNode(async (node) => {
    await deployFiles(node, "writer", { "api/main.ts": WRITER });
    const get = async (path: string) => {
      const res = await appFetch(node, "writer", path);
      return { status: res.status, body: await res.json() };
    };
    assert.deepEqual((await get("/api/kv?key=a&n=100")).body, { ok: true });
    assert.deepEqual((await get("/api/doc?key=d&n=100")).body, { ok: true });
    assert.deepEqual((await get("/api/blob?key=b&n=100")).body, { ok: true });
    const first = await limits(node, "writer");
    const used = first.body.data.usage.stored_bytes;
    assert.ok(used > 300, JSON.stringify(first.body));
    assert.equal(first.body.data.limits.max_storage_bytes.value, 1024 * 1024 * 1024);
    assert.equal(first.body.data.limits.max_storage_bytes.overridden, false);

    const set = await limits(node, "writer", { max_storage_bytes: used + 150 });
    assert.equal(set.status, 200);
    assert.deepEqual(set.body.data.limits.max_storage_bytes, {
      value: used + 150,
      default: 1024 * 1024 * 1024,
      overridden: true,
      min: 0,
      max: 1024 ** 4,
    });
    const before = (await get("/api/dump")).body;
    for (
      const path of [
        "/api/kv?key=e&n=200",
        "/api/doc?key=f&n=200",
        "/api/blob?key=g&n=200",
        "/api/grow?n=400",
      ]
    ) {
      const r = await get(path);
      assert.equal(r.status, 507, path);
      assert.equal(r.body.code, "QUOTA_EXCEEDED", path);
    }
    assert.deepEqual((await get("/api/dump")).body, before);
    assert.equal((await limits(node, "writer")).body.data.usage.stored_bytes, used);
    // Within the quota, writes go on; deletes always do.
    assert.deepEqual((await get("/api/kv?key=small&n=10")).body, { ok: true });
    assert.deepEqual((await limits(node, "writer", { max_storage_bytes: 10 })).status, 200);
    assert.equal((await get("/api/kv?key=more&n=1")).body.code, "QUOTA_EXCEEDED");
    assert.deepEqual((await get("/api/del?key=a")).body, { ok: true });
    // GET /api/apps/:name shows the usage and the limits.
    const app = await (await node.fetch("/api/apps/writer")).json();
    assert.equal(app.data.limits.max_storage_bytes, 10);
    assert.equal(
      app.data.usage.stored_bytes,
      app.data.usage.kv_bytes + app.data.usage.docs_bytes + app.data.usage.blobs_bytes,
    );
    // Back to the default.
    await limits(node, "writer", { max_storage_bytes: null });
    assert.deepEqual((await get("/api/kv?key=more&n=1")).body, { ok: true });
  });
});

Deno.test("limits are checked before anything is stored, and need an admin token", async () => {
  await withTestNode(async (node) => {
    await deployFiles(node, "app", { "index.html": "hi" });
    for (
      const [body, field] of [
        [{ max_rps: -1 }, "max_rps"],
        [{ max_rps: 5, max_concurrent: "many" }, "max_concurrent"],
        [{ nope: 1 }, "nope"],
        [{ max_storage_bytes: 2 ** 60 }, "max_storage_bytes"],
      ] as const
    ) {
      const r = await limits(node, "app", body);
      assert.equal(r.status, 400, JSON.stringify(body));
      assert.equal(r.body.error.code, "VALIDATION_FAILED");
      assert.equal(r.body.error.details.field, field);
    }
    assert.deepEqual(node.storage.limits.overrides(node.storage.apps.get("app")!.id), {});
    const bad = await node.fetch("/api/apps/app/limits", {
      method: "PUT",
      body: "[1]",
      headers: { "content-type": "application/json" },
    });
    assert.equal(bad.status, 400);
    await bad.body?.cancel();
    const deployer = await node.fetch("/api/apps/app/limits", {
      method: "PUT",
      token: node.tokens.deploy,
      body: JSON.stringify({ max_rps: 1000 }),
      headers: { "content-type": "application/json" },
    });
    assert.equal(deployer.status, 403);
    await deployer.body?.cancel();
    const reader = await node.fetch("/api/apps/app/limits", { token: node.tokens.read });
    assert.equal(reader.status, 200);
    await reader.body?.cancel();
    const missing = await limits(node, "ghost");
    assert.equal(missing.status, 404);
    assert.equal(missing.body.error.code, "APP_NOT_FOUND");
  });
});

Deno.test("requests past the app's rate get 429 with Retry-After; other apps go on", async () => {
  await withTestNode(async (node) => {
    const code = {
      "api/main.ts": `export default () => new Response("ok");`,
      "index.html": "static",
    };
    await deployFiles(node, "limited", code);
    await deployFiles(node, "free", code);
    await limits(node, "limited", { max_rps: 1, max_burst: 3 });
    const statuses = [];
    let refused: Response | undefined;
    for (let i = 0; i < 10; i++) {
      const res = await appFetch(node, "limited", "/api/x");
      statuses.push(res.status);
      if (res.status === 429) refused ??= res;
      else await res.body?.cancel();
    }
    // A token comes back every second: the first 3 (the burst) go, and
    // some of the next 7 are refused unless they took 7 seconds.
    assert.deepEqual(statuses.slice(0, 3), [200, 200, 200]);
    assert.ok(refused, `statuses ${statuses}`);
    assert.equal(refused.headers.get("retry-after"), "1");
    const body = await refused.json();
    assert.equal(body.error.code, "RATE_LIMITED");
    const other = await appFetch(node, "free", "/api/x");
    assert.equal(other.status, 200);
    await other.body?.cancel();
    // Static files are not app requests: never counted.
    const page = await appFetch(node, "limited", "/");
    assert.equal(page.status, 200);
    assert.equal(await page.text(), "static");
    // An override back to the default (no limit) applies at once.
    await limits(node, "limited", { max_rps: null, max_burst: null });
    for (let i = 0; i < 10; i++) {
      const res = await appFetch(node, "limited", "/api/x");
      assert.equal(res.status, 200);
      await res.body?.cancel();
    }
  });
});

Deno.test("requests past the app's concurrency get 429 with Retry-After until one ends", async () => {
  await withTestNode(async (node) => {
    await deployFiles(node, "slow", {
      "api/main.ts": `export default (req: Request) => {
        if (new URL(req.url).pathname === "/api/quick") return new Response("quick");
        // Open until the client leaves.
        const body = new ReadableStream({ start(c) { c.enqueue(new TextEncoder().encode("open")); } });
        return new Response(body);
      };`,
    });
    // The node-wide default (a setting) applies to every app.
    assert.equal((await limits(node, "slow")).body.data.limits.max_concurrent.value, 2);
    const held = [];
    for (let i = 0; i < 2; i++) {
      const res = await appFetch(node, "slow", "/api/hold");
      const reader = res.body!.getReader();
      await deadline(reader.read(), "the held stream's first chunk");
      held.push(reader);
    }
    const refused = await appFetch(node, "slow", "/api/quick");
    assert.equal(refused.status, 429);
    assert.equal(refused.headers.get("retry-after"), "1");
    assert.equal((await refused.json()).error.code, "CONCURRENCY_LIMITED");
    await held.pop()!.cancel();
    await waitFor(async () => {
      const res = await appFetch(node, "slow", "/api/quick");
      const ok = res.status === 200;
      await res.body?.cancel();
      return ok;
    }, "a request once a held one ended");
    await held.pop()!.cancel();
  }, { app_max_concurrent: 2 });
});
