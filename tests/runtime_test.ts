import assert from "node:assert/strict";
import { waitFor } from "./deadline.ts";
import { deployFiles, makeZip, type TestNode, withTestNode } from "./helpers.ts";

const withNode = withTestNode;

const deployOk = deployFiles;

function call(node: TestNode, app: string, path: string, init: RequestInit = {}) {
  return node.fetch(path, { ...init, host: `${app}.localhost`, token: null });
}

async function callJson(node: TestNode, app: string, path: string, init: RequestInit = {}) {
  const res = await call(node, app, path, init);
  const text = await res.text();
  assert.equal(res.status, 200, `${path}: ${text}`);
  return JSON.parse(text);
}

type LogLine = { level: string; message: string };

/**
 * The app's log over the API, once `ready` holds for it: log lines are
 * written behind the response, and nothing announces them.
 */
function logsOf(
  node: TestNode,
  app: string,
  ready: (logs: LogLine[]) => boolean,
): Promise<LogLine[]> {
  return waitFor(async () => {
    const res = await node.fetch(`/api/apps/${app}/logs?limit=1000`);
    const logs: LogLine[] = (await res.json()).data;
    return ready(logs) && logs;
  }, `the log lines of ${app}`);
}

Deno.test("a multi-file TypeScript app answers /api/* with kv, docs and blobs", async () => {
  await withNode(async (node) => {
    await deployOk(node, "notes", {
      "index.html": "<h1>notes</h1>",
      "api/main.ts": `
        import { route } from "./router.ts";
        export default { fetch: (req: Request, ctx: unknown) => route(req, ctx) };`,
      "api/router.ts": `
        import type { Ctx } from "./types.ts";
        export async function route(req: Request, ctx: any): Promise<Response> {
          const url = new URL(req.url);
          const c = ctx as Ctx;
          if (url.pathname === "/api/kv") {
            await c.kv.set("a", { n: 1 });
            await c.kv.set("b", [1, 2]);
            await c.kv.set("gone", 1, { ttl: 1 });
            await new Promise((r) => setTimeout(r, 5));
            const n1 = await c.kv.increment("counter");
            const n2 = await c.kv.increment("counter", 5);
            const list = await c.kv.list({ prefix: "" });
            const missing = await c.kv.get("gone");
            const deleted = await c.kv.delete("b");
            return Response.json({ a: await c.kv.get("a"), n1, n2, keys: list.items.map((i: any) => i.key), missing: missing ?? "expired", deleted });
          }
          if (url.pathname === "/api/docs") {
            await c.docs.insert("users", { id: "u1", name: "Ann", age: 31, tags: ["a", "b"] });
            await c.docs.insert("users", { id: "u2", name: "Bob", age: 25, tags: ["b"] });
            await c.docs.insert("users", { name: "Cy", age: 40, tags: [] });
            const older = await c.docs.find("users", { age: { $gte: 30 } }, { sort: { age: -1 } });
            const tagged = await c.docs.count("users", { tags: { $contains: "b" } });
            const updated = await c.docs.update("users", { id: "u2" }, { $set: { age: 26 }, $inc: { visits: 1 } });
            const bob = await c.docs.get("users", "u2");
            const removed = await c.docs.delete("users", { name: { $in: ["Cy"] } });
            return Response.json({ older: older.items.map((d: any) => d.name), tagged, updated, bob, removed, left: await c.docs.count("users") });
          }
          if (url.pathname === "/api/blobs") {
            await c.blobs.put("img/a.bin", new Uint8Array([1, 2, 3]), { contentType: "application/x-test" });
            await c.blobs.put("img/b.txt", new Blob(["streamed text"]).stream(), { contentType: "text/plain" });
            const a = await c.blobs.get("img/a.bin");
            const b = await c.blobs.get("img/b.txt");
            const streamed = await new Response(b.stream()).text();
            const list = await c.blobs.list({ prefix: "img/" });
            await c.blobs.delete("img/a.bin");
            return Response.json({ a: [...a.data], type: a.contentType, b: b.text(), streamed, keys: list.items.map((i: any) => i.key), after: await c.blobs.get("img/a.bin") ?? null });
          }
          return new Response("not found", { status: 404 });
        }`,
      "api/types.ts": `export interface Ctx { kv: any; docs: any; blobs: any }`,
    });
    const kv = await callJson(node, "notes", "/api/kv");
    assert.deepEqual(kv, {
      a: { n: 1 },
      n1: 1,
      n2: 6,
      keys: ["a", "b", "counter"],
      missing: "expired",
      deleted: true,
    });
    const docs = await callJson(node, "notes", "/api/docs");
    assert.deepEqual(docs.older, ["Cy", "Ann"]);
    assert.equal(docs.tagged, 2);
    assert.equal(docs.updated, 1);
    assert.equal(docs.bob.age, 26);
    assert.equal(docs.bob.visits, 1);
    assert.equal(docs.removed, 1);
    assert.equal(docs.left, 2);
    const blobs = await callJson(node, "notes", "/api/blobs");
    assert.deepEqual(blobs, {
      a: [1, 2, 3],
      type: "application/x-test",
      b: "streamed text",
      streamed: "streamed text",
      keys: ["img/a.bin", "img/b.txt"],
      after: null,
    });
    // Static files still serve, and server source is not served as a file.
    assert.equal(await (await call(node, "notes", "/")).text(), "<h1>notes</h1>");
    const src = await call(node, "notes", "/api/main.ts");
    assert.equal(src.status, 404);
    await src.body?.cancel();
  });
});

Deno.test("the handler gets the request as sent: method, headers, query, body", async () => {
  await withNode(async (node) => {
    await deployOk(node, "echo", {
      "api/main.js": `export default async function (req) {
        const url = new URL(req.url);
        return new Response(JSON.stringify({ method: req.method, q: url.searchParams.get("q"),
          h: req.headers.get("x-test"), body: await req.text() }), {
          status: 201, headers: { "content-type": "application/json", "x-app": "yes" } });
      }`,
    });
    const res = await call(node, "echo", "/api/things?q=1", {
      method: "POST",
      body: "payload",
      headers: { "x-test": "hdr" },
    });
    assert.equal(res.status, 201);
    assert.equal(res.headers.get("x-app"), "yes");
    assert.deepEqual(await res.json(), { method: "POST", q: "1", h: "hdr", body: "payload" });
  });
});

Deno.test("an original fazt app (api/main.js with request/respond and fazt.storage) runs unchanged", async () => {
  await withNode(async (node) => {
    await deployOk(node, "legacy", {
      "index.html": "legacy",
      "api/main.js": `
        var util = require('./util');
        var count = (fazt.storage.kv.get('count') || 0) + 1;
        fazt.storage.kv.set('count', count);
        var id = fazt.storage.ds.insert('visits', { n: count, path: request.path });
        fazt.storage.s3.put('last.txt', 'visit ' + count, 'text/plain');
        console.log('visit', count);
        if (request.method === 'POST') {
          respond(201, { got: request.body, q: request.query.x });
        } else {
          respond({ count: count, visits: fazt.storage.ds.find('visits', {}).length,
            last: atob(fazt.storage.s3.get('last.txt').data), shout: util.shout(request.path),
            app: fazt.app.name, ua: request.headers['User-Agent'] || null });
        }`,
      "api/util.js": `module.exports = { shout: function (s) { return s.toUpperCase(); } };`,
    });
    const first = await callJson(node, "legacy", "/api/hello");
    assert.deepEqual(first, {
      count: 1,
      visits: 1,
      last: "visit 1",
      shout: "/API/HELLO",
      app: "legacy",
      ua: null,
    });
    const second = await callJson(node, "legacy", "/api/hello", {
      headers: { "user-agent": "t/1" },
    });
    assert.equal(second.count, 2);
    assert.equal(second.ua, "t/1");
    const post = await call(node, "legacy", "/api/x?x=7", {
      method: "POST",
      body: JSON.stringify({ a: 1 }),
      headers: { "content-type": "application/json" },
    });
    assert.equal(post.status, 201);
    assert.deepEqual(await post.json(), { got: { a: 1 }, q: "7" });
    const visit2 = (l: LogLine) => l.message === "visit 2";
    assert.ok((await logsOf(node, "legacy", (logs) => logs.some(visit2))).some(visit2));
  });
});

Deno.test("deploys with code that does not compile are refused and change nothing", async () => {
  await withNode(async (node) => {
    await deployOk(node, "app", { "api/main.ts": "export default () => new Response('v1');" });
    const cases: [Record<string, string>, RegExp][] = [
      [{ "api/main.ts": "export default () => new Response('v2'" }, /api\/main\.ts:1:\d+/],
      [{ "api/main.ts": "import x from './missing.ts'; export default x;" }, /cannot find/],
      [{ "api/main.js": "var x = ;" }, /api\/main\.js/],
    ];
    for (const [files, pattern] of cases) {
      const before = node.count("versions");
      const r = await node.deploy("app", await makeZip(files));
      assert.equal(r.status, 400, JSON.stringify(r.body));
      assert.equal(r.body.error.details.constraint, "compile");
      assert.match(r.body.error.message, pattern);
      assert.equal(node.count("versions"), before, "nothing written");
    }
    assert.equal(
      await (await call(node, "app", "/api/")).text(),
      "v1",
      "the live version stays live",
    );
  });
});

Deno.test("a ZIP with imports the node cannot resolve is refused, naming them; the live version stays", async () => {
  await withNode(async (node) => {
    await deployOk(node, "app", { "api/main.ts": "export default () => new Response('v1');" });
    const cases: [Record<string, string>, string[]][] = [
      [{ "api/main.ts": "import _ from 'npm:lodash'; export default _;" }, ["npm:lodash"]],
      [
        { "api/main.ts": "import m from 'https://example.com/m.js'; export default m;" },
        ["https://example.com/m.js"],
      ],
      [
        {
          "api/main.ts": "import { Hono } from 'hono';\nimport { z } from 'jsr:@zod/zod';\n" +
            "import { x } from './lib.ts';\nexport default new Hono().get('/', (c) => c.json(z.parse(x)));",
          "api/lib.ts": "export const x = 1;",
        },
        ["hono", "jsr:@zod/zod"],
      ],
      [{ "api/main.ts": "import '\x1b[31mred';\nexport default 1;" }, ["\x1b[31mred"]],
    ];
    for (const [files, imports] of cases) {
      const before = node.count("versions");
      const r = await node.deploy("app", await makeZip(files));
      assert.equal(r.status, 400, JSON.stringify(r.body));
      assert.equal(r.body.error.code, "UNRESOLVED_IMPORT");
      assert.deepEqual([...r.body.error.details.imports].sort(), [...imports].sort());
      for (const name of imports) {
        assert.ok(r.body.error.message.includes(JSON.stringify(name)), r.body.error.message);
      }
      assert.match(r.body.error.message, /`fazt deploy`, which bundles dependencies/);
      assert.ok(!r.body.error.message.includes("\x1b"), "control characters are escaped");
      assert.equal(node.count("versions"), before, "nothing written");
    }
    // node: built-ins are not packages: the Worker has them.
    await deployOk(node, "builtin", {
      "api/main.ts": "import { Buffer } from 'node:buffer';\n" +
        "export default () => new Response(Buffer.from('aGk=', 'base64').toString());",
    });
    assert.equal(await (await call(node, "builtin", "/api/")).text(), "hi");
    assert.equal(
      await (await call(node, "app", "/api/")).text(),
      "v1",
      "the live version stays live",
    );
  });
});

Deno.test("a bad manifest refuses the deploy", async () => {
  await withNode(async (node) => {
    for (
      const manifest of [
        "{not json",
        JSON.stringify({ permissions: { read: ["/etc"] } }),
        JSON.stringify({ permissions: { net: ["http://x.com/path"] } }),
        JSON.stringify({ timeout_ms: -1 }),
        JSON.stringify({ indexes: { users: ["bad field!"] } }),
      ]
    ) {
      const r = await node.deploy(
        "m",
        await makeZip({ "manifest.json": manifest, "index.html": "x" }),
      );
      assert.equal(r.status, 400, manifest);
      assert.equal(r.body.error.details.field, "manifest");
    }
    assert.equal(node.count("apps"), 0);
  });
});

Deno.test("manifest routes, static files first, and real indexes", async () => {
  await withNode(async (node) => {
    await deployOk(node, "r", {
      "manifest.json": JSON.stringify({
        routes: ["/feed.xml", "/hooks/*"],
        indexes: { users: ["email"] },
      }),
      "feed.xml": "<static/>",
      "api/main.ts":
        "export default (req: Request) => new Response('code ' + new URL(req.url).pathname);",
    });
    assert.equal(await (await call(node, "r", "/feed.xml")).text(), "<static/>");
    assert.equal(await (await call(node, "r", "/hooks/github")).text(), "code /hooks/github");
    const other = await call(node, "r", "/other");
    assert.equal(other.status, 404);
    await other.body?.cancel();
    const indexes = node.storage.db.all<{ sql: string }>(
      "SELECT sql FROM sqlite_master WHERE type = 'index' AND sql LIKE '%email%'",
    );
    assert.equal(indexes.length, 1);
  });
});

Deno.test("env: set by the owner, read by the app, never listed or logged", async () => {
  await withNode(async (node) => {
    await deployOk(node, "sec", {
      "api/main.ts": `export default (req: Request, ctx: any) => {
        console.log("handling", new URL(req.url).pathname);
        return Response.json({ key: ctx.env.API_KEY ?? null, viaGet: ctx.env.get("API_KEY"), has: ctx.env.has("NOPE") });
      };`,
    });
    assert.deepEqual(await callJson(node, "sec", "/api/"), { key: null, has: false });
    let res = await node.fetch("/api/apps/sec/env", {
      method: "PUT",
      body: JSON.stringify({ API_KEY: "s3cr3t-value" }),
    });
    assert.equal(res.status, 200);
    const listed = await res.text();
    assert.ok(!listed.includes("s3cr3t-value"));
    assert.deepEqual(await callJson(node, "sec", "/api/"), {
      key: "s3cr3t-value",
      viaGet: "s3cr3t-value",
      has: false,
    });
    res = await node.fetch("/api/apps/sec/env", { token: node.tokens.read });
    const names = await res.text();
    assert.ok(names.includes("API_KEY") && !names.includes("s3cr3t"));
    for (const bad of [{ lower: "x" }, { PATH: 1 }, { "A-B": "x" }]) {
      res = await node.fetch("/api/apps/sec/env", { method: "PUT", body: JSON.stringify(bad) });
      assert.equal(res.status, 400, JSON.stringify(bad));
      await res.body?.cancel();
    }
    res = await node.fetch("/api/apps/sec/env", {
      method: "PUT",
      body: JSON.stringify({ API_KEY: null }),
    });
    await res.body?.cancel();
    assert.deepEqual(await callJson(node, "sec", "/api/last"), { key: null, has: false });
    // The last request's line is stored after every earlier one: the hosts
    // before it were stopped before it started.
    const last = (logs: LogLine[]) => logs.some((l) => l.message === "handling /api/last");
    const logs = JSON.stringify(await logsOf(node, "sec", last));
    assert.ok(logs.includes("handling") && !logs.includes("s3cr3t"));
  });
});

Deno.test("exceptions: 500 with a generic body, the stack in the app's log", async () => {
  await withNode(async (node) => {
    await deployOk(node, "boom", {
      "api/main.ts": "export default () => { throw new Error('secret detail 42'); };",
    });
    const res = await call(node, "boom", "/api/");
    assert.equal(res.status, 500);
    // Written by the one error writer, as every error answer is: never cached.
    assert.equal(res.headers.get("cache-control"), "no-store");
    assert.equal(res.headers.get("content-type"), "application/json; charset=utf-8");
    const body = await res.text();
    assert.ok(!body.includes("secret detail"));
    assert.equal(JSON.parse(body).error.code, "APP_ERROR");
    const stack = (l: LogLine) => l.level === "error" && l.message.includes("secret detail 42");
    const logs = await logsOf(node, "boom", (logs) => logs.some(stack));
    assert.ok(logs.some(stack));
  });
});

Deno.test("a node refusal the app lets through keeps its meaning: 507 STORAGE_FULL, 503 DATABASE_BUSY", async () => {
  await withNode(async (node) => {
    await deployOk(node, "refused", {
      "api/main.ts": `export default (req: Request) => {
        const code = new URL(req.url).searchParams.get("code");
        throw Object.assign(new Error("refused"), { code });
      };`,
    });
    const cases = [
      { code: "FULL", status: 507, want: "STORAGE_FULL", retry: null },
      { code: "BUSY", status: 503, want: "DATABASE_BUSY", retry: "5" },
      { code: "OTHER", status: 500, want: "APP_ERROR", retry: null },
    ];
    for (const c of cases) {
      const res = await call(node, "refused", `/api/?code=${c.code}`);
      assert.equal(res.status, c.status, c.code);
      assert.equal(res.headers.get("cache-control"), "no-store", c.code);
      assert.equal(res.headers.get("retry-after"), c.retry, c.code);
      assert.equal((await res.json()).error.code, c.want, c.code);
    }
  });
});

Deno.test("an app with jobs and no request handler answers 404 NOT_FOUND in the envelope", async () => {
  await withNode(async (node) => {
    await deployOk(node, "jobsonly", {
      "manifest.json": JSON.stringify({ crons: [{ name: "sweep", schedule: "0 0 1 1 *" }] }),
      "api/main.ts": "export default { scheduled() {} };",
    });
    const res = await call(node, "jobsonly", "/api/anything");
    assert.equal(res.status, 404);
    assert.equal(res.headers.get("cache-control"), "no-store");
    assert.equal(res.headers.get("content-type"), "application/json; charset=utf-8");
    assert.deepEqual(await res.json(), {
      error: { code: "NOT_FOUND", message: "This app has no request handler" },
    });
  });
});

Deno.test("stack traces in the app's log name its own files and lines, not the bundle", async () => {
  await withNode(async (node) => {
    await deployOk(node, "traced", {
      "api/main.ts": [
        'import { check } from "./lib/check.ts";',
        "",
        "type Req = Request;",
        "export default (req: Req) => {",
        "  const n = Number(new URL(req.url).searchParams.get('n'));",
        "  return new Response(String(check(n)));",
        "};",
      ].join("\n"),
      "api/lib/check.ts": [
        "// A comment, so lines differ from the bundle's.",
        "export function check(n: number): number {",
        "  if (n > 1) {",
        "    throw new RangeError(`too big: ${n}`);",
        "  }",
        "  return n;",
        "}",
      ].join("\n"),
    });
    assert.equal((await call(node, "traced", "/api/?n=5")).status, 500);
    const thrown = (l: LogLine) => l.message.includes("too big: 5");
    const line = (await logsOf(node, "traced", (logs) => logs.some(thrown))).find(thrown)!;
    assert.match(line.message, /at check \(api\/lib\/check\.ts:4:11\)/, line.message);
    assert.match(line.message, /\(api\/main\.ts:6:30\)/, line.message);
    assert.doesNotMatch(line.message, /fazt-app/, "no app frame is left unmapped");
  });
});

Deno.test("fetch reaches only hosts the manifest lists", async () => {
  const target = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen() {} },
    () => new Response("outside"),
  );
  try {
    await withNode(async (node) => {
      const port = target.addr.port;
      const code = `export default async (req: Request) => {
        const to = new URL(req.url).searchParams.get("to")!;
        try { const r = await fetch(to); return new Response("ok " + await r.text()); }
        catch (e) { return new Response("refused " + (e as Error).name); }
      };`;
      await deployOk(node, "net", {
        "manifest.json": JSON.stringify({ permissions: { net: [`127.0.0.1:${port}`] } }),
        "api/main.ts": code,
      });
      await deployOk(node, "nonet", { "api/main.ts": code });
      const get = (app: string, to: string) =>
        call(node, app, `/api/?to=${encodeURIComponent(to)}`).then((r) => r.text());
      assert.equal(await get("net", `http://127.0.0.1:${port}/`), "ok outside");
      assert.match(await get("net", `http://localhost:${port}/`), /^refused/);
      assert.match(await get("net", `http://127.0.0.1:${node.server.port}/health`), /^refused/);
      assert.match(await get("nonet", `http://127.0.0.1:${port}/`), /^refused/);
    });
  } finally {
    await target.shutdown();
  }
});
