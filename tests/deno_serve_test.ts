/**
 * Deno Deploy-style app code on a real node: `Deno.serve` registers the
 * handler in each of its call forms, a second call is refused, and
 * `Deno.openKv()` is the app's own KV, apart from every other app's.
 */
import assert from "node:assert/strict";
import { waitFor } from "./deadline.ts";
import { deployFiles, type TestNode, withTestNode } from "./helpers.ts";

function call(node: TestNode, app: string, path: string, init: RequestInit = {}) {
  return node.fetch(path, { ...init, host: `${app}.localhost`, token: null });
}

async function text(node: TestNode, app: string, path: string, init: RequestInit = {}) {
  const res = await call(node, app, path, init);
  const body = await res.text();
  assert.equal(res.status, 200, `${app} ${path}: ${body}`);
  return body;
}

/** Every path goes to the handler: a manifest routing `/*` to the code. */
const ALL_ROUTES = JSON.stringify({ routes: ["/*"], static_first: false });

Deno.test("Deno.serve registers the handler in every call form, with onListen", async () => {
  await withTestNode(async (node) => {
    const forms: Record<string, string> = {
      plain: `Deno.serve((req) => new Response("plain " + new URL(req.url).pathname));`,
      options: `
        let heard = "";
        Deno.serve({ port: 3000, onListen: (a) => { heard = a.hostname + ":" + a.port + "/" + a.transport; } },
          (_req, info) => new Response("options " + heard + " " + typeof info.remoteAddr.hostname));`,
      object: `
        const server = Deno.serve({ handler: async (req) => new Response("object " + await req.text() + " " + shape) });
        const shape = [typeof server.finished.then, typeof server.shutdown, server.addr.port].join(",");`,
      onerror: `
        Deno.serve({ onError: (e) => new Response("handled " + e.message, { status: 500 }) },
          () => { throw new Error("boom"); });`,
    };
    for (const [name, code] of Object.entries(forms)) {
      await deployFiles(node, `serve-${name}`, {
        "api/main.ts": code,
        "manifest.json": ALL_ROUTES,
      });
    }
    assert.equal(await text(node, "serve-plain", "/any/path"), "plain /any/path");
    assert.equal(await text(node, "serve-options", "/"), "options 0.0.0.0:3000/tcp string");
    assert.equal(
      await text(node, "serve-object", "/", { method: "POST", body: "sent" }),
      "object sent function,function,8000",
    );
    const failed = await call(node, "serve-onerror", "/");
    assert.equal(failed.status, 500);
    assert.equal(await failed.text(), "handled boom");
  });
});

Deno.test("export default { fetch } still works beside Deno.serve apps", async () => {
  await withTestNode(async (node) => {
    await deployFiles(node, "classic", {
      "api/main.ts":
        `export default { fetch: (_req: Request, ctx: any) => new Response("classic " + ctx.app.name) };`,
    });
    assert.equal(await text(node, "classic", "/api/x"), "classic classic");
  });
});

Deno.test("a second Deno.serve is an error the app sees, with a clear message", async () => {
  await withTestNode(async (node) => {
    await deployFiles(node, "twice-report", {
      "api/main.ts": `
        let message = "";
        Deno.serve(() => new Response(message));
        try { Deno.serve(() => new Response("no")); } catch (e) { message = e.name + ": " + e.message; }`,
      "manifest.json": ALL_ROUTES,
    });
    // The first handler answers, and the second call threw in the app.
    const seen = await text(node, "twice-report", "/");
    assert.match(
      seen,
      /^Error: Deno\.serve was called a second time: an app on fazt has one handler/,
    );
    // Once the module has loaded the app is serving: a late call is refused too.
    await deployFiles(node, "late", {
      "api/main.ts": `export default () => {
        try { Deno.serve(() => new Response("late")); return new Response("registered"); }
        catch (e) { return new Response(e.name + ": " + e.message); }
      };`,
    });
    assert.match(
      await text(node, "late", "/api/x"),
      /^Error: Deno\.serve must be called while the app's module loads \(at its top level\)/,
    );
  });
});

Deno.test("code with neither Deno.serve nor a default export fails to start, saying both", async () => {
  await withTestNode(async (node) => {
    await deployFiles(node, "nothing", {
      "api/main.ts": `export const x = 1;`,
    });
    const res = await call(node, "nothing", "/api/x");
    const body = await res.text();
    assert.ok(res.status >= 500, body);
    const logs = await waitFor(async () => {
      const r = await node.fetch(`/api/apps/nothing/logs?limit=100`);
      const lines: { message: string }[] = (await r.json()).data;
      return lines.some((l) => /Deno\.serve/.test(l.message)) && lines;
    }, "the start failure in the log");
    assert.ok(logs.some((l) => /call Deno\.serve\(handler\) or export default/.test(l.message)));
  });
});

Deno.test("Deno.openKv in app code: the app's own KV, apart from other apps'", async () => {
  await withTestNode(async (node) => {
    const code = (name: string) => `
      const kv = await Deno.openKv(${name === "b" ? '"./local.sqlite3"' : ""});
      Deno.serve(async (req) => {
        const url = new URL(req.url);
        if (url.pathname === "/set") {
          const r = await kv.set(["who", 1n], { by: "${name}", at: new Date(0) });
          await kv.atomic().sum(["hits"], 1n).commit();
          return Response.json({ ok: r.ok, vs: r.versionstamp.length });
        }
        const e = await kv.get(["who", 1n]);
        const hits = await kv.get(["hits"]);
        const keys = [];
        const iter = kv.list({ prefix: [] });
        let cursor;
        try {
          cursor = iter.cursor;
        } catch (err) {
          cursor = err.message;
        }
        for await (const x of iter) keys.push(String(x.key[0]));
        return Response.json({
          classes: [
            kv instanceof Deno.Kv,
            kv.atomic() instanceof Deno.AtomicOperation,
            iter instanceof Deno.KvListIterator,
          ],
          cursor,
          by: e.value?.by ?? null,
          date: e.value?.at instanceof Date,
          hits: hits.value ? String(hits.value.value) : null,
          u64: hits.value instanceof Deno.KvU64,
          keys,
        });
      });`;
    await deployFiles(node, "kv-a", { "api/main.ts": code("a"), "manifest.json": ALL_ROUTES });
    await deployFiles(node, "kv-b", { "api/main.ts": code("b"), "manifest.json": ALL_ROUTES });
    assert.deepEqual(JSON.parse(await text(node, "kv-a", "/set")), { ok: true, vs: 20 });
    await text(node, "kv-a", "/set");
    const classes = [true, true, true];
    const cursor = "Cannot get cursor before first iteration";
    assert.deepEqual(JSON.parse(await text(node, "kv-a", "/")), {
      classes,
      cursor,
      by: "a",
      date: true,
      hits: "2",
      u64: true,
      keys: ["hits", "who"],
    });
    assert.deepEqual(JSON.parse(await text(node, "kv-b", "/")), {
      classes,
      cursor,
      by: null,
      date: false,
      hits: null,
      u64: false,
      keys: [],
    });
    // A path is ignored, and the log says so.
    await waitFor(async () => {
      const r = await node.fetch("/api/apps/kv-b/logs?limit=100");
      const lines: { level: string; message: string }[] = (await r.json()).data;
      return lines.some((l) =>
        l.level === "warn" &&
        l.message ===
          'Deno.openKv("./local.sqlite3"): the path is ignored; apps on fazt have one KV'
      );
    }, "the warning about the ignored path");
    // The owner sees the entries, as text, page by page.
    const first = await node.fetch("/api/apps/kv-a/denokv?limit=1");
    assert.equal(first.status, 200);
    const page = (await first.json()).data;
    assert.equal(page.items.length, 1);
    assert.equal(page.items[0].key, '["hits"]');
    assert.equal(page.items[0].value, "Deno.KvU64(2)");
    assert.match(page.items[0].versionstamp, /^[0-9a-f]{20}$/);
    const next = (await (await node.fetch(
      `/api/apps/kv-a/denokv?cursor=${page.cursor}`,
    )).json()).data;
    assert.deepEqual(next.items.map((i: { key: string }) => i.key), ['["who", 1n]']);
    assert.match(next.items[0].value, /by: "a"/);
    assert.equal(next.cursor, null);
    const bad = await node.fetch("/api/apps/kv-a/denokv?cursor=%21%21");
    assert.equal(bad.status, 400);
    assert.equal((await bad.json()).error.code, "VALIDATION_FAILED");
    const read = await node.fetch("/api/apps/kv-a/denokv", { token: node.tokens.read });
    assert.equal(read.status, 403);
    await read.body?.cancel();
  });
});

Deno.test("Deno.env reads the app's secrets by name, as under --allow-env=<their names>", async () => {
  await withTestNode(async (node) => {
    await deployFiles(node, "envy", {
      "api/main.ts": `
        Deno.serve(() => {
          const tries = {
            home: () => Deno.env.get("HOME"),
            hasHome: () => Deno.env.has("HOME"),
            all: () => Deno.env.toObject(),
            set: () => Deno.env.set("X", "1"),
            remove: () => Deno.env.delete("API_KEY"),
          };
          const refusals = {};
          for (const [name, attempt] of Object.entries(tries)) {
            try { refusals[name] = "allowed " + JSON.stringify(attempt()); }
            catch (e) { refusals[name] = e.name + ": " + e.message; }
          }
          return Response.json({ key: Deno.env.get("API_KEY"), has: Deno.env.has("API_KEY"), refusals });
        });`,
      "manifest.json": ALL_ROUTES,
    });
    const res = await node.fetch("/api/apps/envy/env", {
      method: "PUT",
      body: JSON.stringify({ API_KEY: "k-123" }),
    });
    assert.equal(res.status, 200);
    await res.body?.cancel();
    const seen = JSON.parse(await text(node, "envy", "/"));
    assert.equal(seen.key, "k-123");
    assert.equal(seen.has, true);
    const r = seen.refusals;
    // Deno's own refusal, as under --allow-env=API_KEY.
    assert.match(r.home, /^NotCapable: Requires env access to "HOME"/);
    assert.match(r.hasHome, /^NotCapable: Requires env access to "HOME"/);
    assert.match(r.all, /^NotCapable: Requires env access/);
    assert.match(
      r.set,
      /^NotCapable: Deno\.env\.set: apps on fazt cannot change their environment/,
    );
    assert.match(r.remove, /^NotCapable: Deno\.env\.delete: apps on fazt cannot change/);
  });
});
