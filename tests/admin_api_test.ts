/** The dashboard's server side: the embedded SPA, its build, and the API it added. */
import assert from "node:assert/strict";
import { gzipSync } from "node:zlib";
import { ADMIN_ASSETS } from "../admin/dist/assets.ts";
import { adminBundleSize } from "../server/admin_ui.ts";
import { makeZip, startTestNode, type TestNode } from "./helpers.ts";
import { adminOrigin, login, setOwner } from "./admin_helpers.ts";
import { deadline } from "./deadline.ts";

const BUDGET = 150 * 1024;

Deno.test("the dashboard is served from memory on the admin host, with a strict CSP", async () => {
  const node = await startTestNode();
  try {
    const home = await node.fetch("/", { token: null, headers: { "accept-encoding": "br, gzip" } });
    assert.equal(home.status, 200);
    assert.equal(home.headers.get("content-encoding"), "br");
    assert.match(home.headers.get("content-type")!, /^text\/html/);
    const csp = home.headers.get("content-security-policy")!;
    assert.match(csp, /default-src 'none'/);
    assert.match(csp, /script-src 'self'(;|$)/);
    assert.match(csp, /frame-ancestors 'none'/);
    assert.equal(home.headers.get("x-frame-options"), "DENY");
    await home.body?.cancel();

    const html = await (await node.fetch("/", { token: null })).text();
    const js = /src="(\/assets\/[0-9a-f]{12}\/main\.js)"/.exec(html)![1];
    const css = /href="(\/assets\/[0-9a-f]{12}\/app\.css)"/.exec(html)![1];
    assert.ok(!/https?:\/\//.test(html), "nothing from another host");
    const script = await node.fetch(js, { token: null });
    assert.equal(script.status, 200);
    assert.match(script.headers.get("cache-control")!, /immutable/);
    assert.match(script.headers.get("content-type")!, /javascript/);
    assert.equal(await script.text(), ADMIN_ASSETS.js[ADMIN_ASSETS.entry]);
    // Every chunk is served beside the entry; the ones it imports at once are preloaded.
    const dir = js.slice(0, js.lastIndexOf("/") + 1);
    for (const [name, code] of Object.entries(ADMIN_ASSETS.js)) {
      const chunk = await node.fetch(dir + name, { token: null });
      assert.equal(chunk.status, 200, name);
      assert.equal(await chunk.text(), code);
    }
    const preloads = [...html.matchAll(/rel="modulepreload" href="([^"]+)"/g)].map((m) => m[1]);
    assert.ok(preloads.length > 0 && preloads.every((p) => p.startsWith(dir)), preloads.join());
    const style = await node.fetch(css, { token: null, headers: { "accept-encoding": "gzip" } });
    assert.equal(style.headers.get("content-encoding"), "gzip");
    await style.body?.cancel();
    const etag = script.headers.get("etag")!;
    const again = await node.fetch(js, { token: null, headers: { "if-none-match": etag } });
    assert.equal(again.status, 304);

    // Client-side routes reload to the same page; files that do not exist are 404s.
    const deep = await node.fetch("/apps/blog?tab=files", { token: null });
    assert.equal(deep.status, 200);
    assert.equal(await deep.text(), html);
    for (const missing of ["/nope.js", "/assets/000000000000/main.js", js + "x"]) {
      const res = await node.fetch(missing, { token: null });
      assert.equal(res.status, 404, missing);
      await res.body?.cancel();
    }
    const api = await node.fetch("/api/nope", { token: null });
    assert.equal(api.status, 404);
    assert.equal((await api.json()).error.code, "NOT_FOUND");
    // Apps' hosts do not serve the dashboard.
    await node.deploy("site", await makeZip({ "index.html": "site" }));
    const app = await node.fetch("/", { host: `site.localhost:${node.server.port}`, token: null });
    assert.equal(await app.text(), "site");
  } finally {
    await node.close();
  }
});

Deno.test("the dashboard's JS and CSS stay within 150 KB gzipped", async () => {
  const size = await adminBundleSize();
  const direct = Object.values(ADMIN_ASSETS.js).reduce(
    (n, code) => n + gzipSync(code, { level: 9 }).length,
    gzipSync(ADMIN_ASSETS.css, { level: 9 }).length,
  );
  assert.equal(size.gzip, direct);
  assert.ok(size.gzip <= BUDGET, `${size.gzip} bytes gzipped is over the ${BUDGET} budget`);
  assert.ok(size.raw > 20_000, "the bundle holds the app");
});

const BUILD_FLAGS = [
  "run",
  "--allow-read",
  "--allow-write",
  "--allow-run",
  "--allow-env",
  "--no-prompt",
];

Deno.test("the committed bundle matches admin/src (run `deno task build:admin`)", async () => {
  const out = await new Deno.Command(Deno.execPath(), {
    args: [...BUILD_FLAGS, "admin/build.ts", "--check"],
    cwd: new URL("..", import.meta.url).pathname,
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
});

Deno.test("the build step bundles admin/src with its own permissions", async () => {
  const dir = await Deno.makeTempDir({ prefix: "fazt-admin-build-" });
  try {
    const target = `${dir}/assets.ts`;
    const out = await new Deno.Command(Deno.execPath(), {
      args: [...BUILD_FLAGS, "admin/build.ts", "--out", target],
      cwd: new URL("..", import.meta.url).pathname,
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
    const built = (await import(`file://${target}`)).ADMIN_ASSETS as typeof ADMIN_ASSETS;
    assert.equal(built.hash, ADMIN_ASSETS.hash);
    const chunks = Object.values(built.js);
    assert.ok(built.js[built.entry] && chunks.length > 1, "an entry and its chunks");
    assert.ok(chunks.join("").length > 20_000 && built.css.length > 2_000);
    for (const code of chunks) {
      assert.ok(!/\bimport\s*\(?\s*["']https?:/.test(code), "no run-time imports from a CDN");
    }
    const gz = chunks.reduce((n, code) => n + gzipSync(code).length, gzipSync(built.css).length);
    assert.ok(gz <= BUDGET, `${gz} bytes gzipped`);
    // --if-changed does nothing when the sources did not change.
    const before = (await Deno.stat(target)).mtime!.getTime();
    const again = await new Deno.Command(Deno.execPath(), {
      args: [...BUILD_FLAGS, "admin/build.ts", "--if-changed", "--out", target],
      cwd: new URL("..", import.meta.url).pathname,
    }).output();
    assert.equal(again.code, 0);
    assert.equal((await Deno.stat(target)).mtime!.getTime(), before);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

/** `PUT path` with a JSON body (an admin token unless `token`); the status and parsed body. */
async function putJson(node: TestNode, path: string, body: string, token = node.tokens.admin) {
  const res = await node.fetch(path, {
    method: "PUT",
    body,
    token,
    headers: { "content-type": "application/json" },
  });
  return { status: res.status, body: await res.json() };
}

async function appWithData(node: TestNode): Promise<number> {
  await node.deploy("notes", await makeZip({ "index.html": "notes" }));
  const id = node.storage.apps.get("notes")!.id;
  const { kv, docs, blobs } = node.storage;
  kv.set(id, "user/1", { name: "Ada" });
  kv.set(id, "user/2", { name: "Grace" });
  kv.set(id, "count", 3);
  docs.insert(id, "posts", { id: "p1", title: "Hello", status: "open" });
  docs.insert(id, "posts", { id: "p2", title: "Bye", status: "closed" });
  docs.insert(id, "tags", { id: "t1" });
  blobs.put(id, "img/a.png", new Uint8Array([1, 2, 3]), { contentType: "image/png" });
  blobs.put(id, "b.txt", new TextEncoder().encode("<script>alert(1)</script>"), {
    contentType: "text/html",
  });
  return id;
}

Deno.test("an app's KV, documents and blobs can be browsed and deleted", async () => {
  const node = await startTestNode();
  try {
    const id = await appWithData(node);
    const get = async (path: string, token = node.tokens.admin) => {
      const res = await node.fetch(path, { token });
      return { status: res.status, body: await res.json() };
    };
    const kv = await get("/api/apps/notes/kv?prefix=user/");
    assert.deepEqual(kv.body.data.items.map((i: { key: string }) => i.key), ["user/1", "user/2"]);
    assert.deepEqual(kv.body.data.items[0].value, { name: "Ada" });
    const page = await get("/api/apps/notes/kv?limit=2");
    assert.equal(page.body.data.items.length, 2);
    const rest = await get(`/api/apps/notes/kv?limit=2&cursor=${page.body.data.cursor}`);
    assert.equal(rest.body.data.items.length, 1);
    assert.equal((await get("/api/apps/notes/kv?limit=0")).status, 400);
    assert.equal(
      (await get("/api/apps/notes/kv", node.tokens.deploy)).status,
      403,
      "data is admin",
    );

    const cols = await get("/api/apps/notes/docs");
    assert.deepEqual(cols.body.data, [{ collection: "posts", count: 2 }, {
      collection: "tags",
      count: 1,
    }]);
    const open = await get(
      `/api/apps/notes/docs/posts?filter=${encodeURIComponent('{"status":"open"}')}`,
    );
    assert.deepEqual(open.body.data.items.map((d: { id: string }) => d.id), ["p1"]);
    const bad = await get("/api/apps/notes/docs/posts?filter=nope");
    assert.equal(bad.status, 400);
    assert.equal(bad.body.error.details.field, "filter");
    const badOp = await get(
      `/api/apps/notes/docs/posts?filter=${encodeURIComponent('{"a":{"$x":1}}')}`,
    );
    assert.equal(badOp.status, 400);

    const blobs = await get("/api/apps/notes/blobs");
    assert.deepEqual(blobs.body.data.items.map((b: { key: string }) => b.key), [
      "b.txt",
      "img/a.png",
    ]);
    const raw = await node.fetch("/api/apps/notes/blobs/b.txt");
    assert.equal(raw.headers.get("content-type"), "application/octet-stream");
    assert.match(raw.headers.get("content-disposition")!, /^attachment/);
    assert.match(raw.headers.get("content-security-policy")!, /sandbox/);
    assert.equal(await raw.text(), "<script>alert(1)</script>");

    const del = (path: string) => node.fetch(path, { method: "DELETE" });
    assert.equal((await del("/api/apps/notes/kv/user%2F1")).status, 200);
    assert.equal(node.storage.kv.get(id, "user/1"), undefined);
    assert.equal((await del("/api/apps/notes/kv/user/2")).status, 200, "slashes in the path");
    assert.equal((await del("/api/apps/notes/kv/user/2")).status, 404);
    assert.equal((await del("/api/apps/notes/docs/posts/p1")).status, 200);
    assert.equal(node.storage.docs.count(id, "posts"), 1);
    assert.equal((await del("/api/apps/notes/docs/posts/p1")).status, 404);
    assert.equal((await del("/api/apps/notes/blobs/img/a.png")).status, 200);
    assert.equal(node.storage.blobs.head(id, "img/a.png"), undefined);
    assert.equal((await del("/api/apps/nope/blobs/x")).status, 404);
  } finally {
    await node.close();
  }
});

Deno.test("the owner replaces a document; bad JSON, a missing document and the quota are refused", async () => {
  const node = await startTestNode();
  try {
    const id = await appWithData(node);
    const put = (path: string, body: string, token?: string) => putJson(node, path, body, token);
    const ok = await put("/api/apps/notes/docs/posts/p1", '{"title":"Hi","tags":["a"]}');
    assert.equal(ok.status, 200, JSON.stringify(ok.body));
    assert.deepEqual(ok.body.data, {
      collection: "posts",
      id: "p1",
      doc: { id: "p1", title: "Hi", tags: ["a"] },
    });
    assert.deepEqual(node.storage.docs.get(id, "posts", "p1"), ok.body.data.doc);

    const stored = () => node.storage.docs.get(id, "posts", "p1");
    const before = stored();
    const refusals: [string, string, number, string][] = [
      ["/api/apps/notes/docs/posts/p1", "{not json", 400, "INVALID_JSON"],
      ["/api/apps/notes/docs/posts/p1", "[1, 2]", 400, "INVALID_JSON"],
      ["/api/apps/notes/docs/posts/p1", "", 400, "INVALID_JSON"],
      ["/api/apps/notes/docs/posts/p1", '{"id":"p2"}', 400, "VALIDATION_FAILED"],
      ["/api/apps/notes/docs/posts/nope", '{"a":1}', 404, "DOC_NOT_FOUND"],
      ["/api/apps/notes/docs/bad%20name/p1", '{"a":1}', 400, "VALIDATION_FAILED"],
      ["/api/apps/nope/docs/posts/p1", '{"a":1}', 404, "APP_NOT_FOUND"],
    ];
    for (const [path, body, status, code] of refusals) {
      const res = await put(path, body);
      assert.equal(res.status, status, `${path} ${body}: ${JSON.stringify(res.body)}`);
      assert.equal(res.body.error.code, code, body);
    }
    assert.equal(node.storage.docs.get(id, "posts", "nope"), undefined);
    const deployer = await put("/api/apps/notes/docs/posts/p1", "{}", node.tokens.deploy);
    assert.equal(deployer.status, 403);
    assert.deepEqual(stored(), before);

    // A quota just above what the app stores: a bigger document is refused whole.
    const used = node.storage.usage.stored(id);
    const limits = await node.fetch("/api/apps/notes/limits", {
      method: "PUT",
      body: JSON.stringify({ max_storage_bytes: used + 50 }),
      headers: { "content-type": "application/json" },
    });
    assert.equal(limits.status, 200, await limits.text());
    const big = await put("/api/apps/notes/docs/posts/p1", JSON.stringify({ t: "x".repeat(500) }));
    assert.equal(big.status, 507);
    assert.equal(big.body.error.code, "QUOTA_EXCEEDED");
    assert.deepEqual(stored(), before);
    assert.equal(node.storage.usage.stored(id), used);
    // Shrinking still goes through.
    const small = await put("/api/apps/notes/docs/posts/p1", '{"t":"x"}');
    assert.equal(small.status, 200);
    assert.deepEqual(stored(), { id: "p1", t: "x" });
  } finally {
    await node.close();
  }
});

Deno.test("the owner replaces a key's value; bad JSON, no value, a missing key and the quota are refused", async () => {
  const node = await startTestNode();
  try {
    const id = await appWithData(node);
    const put = (path: string, body: string, token?: string) => putJson(node, path, body, token);
    const ok = await put("/api/apps/notes/kv/user/1", '{"value":{"name":"Ada L."}}');
    assert.equal(ok.status, 200, JSON.stringify(ok.body));
    assert.deepEqual(ok.body.data, { key: "user/1", value: { name: "Ada L." } });
    assert.deepEqual(node.storage.kv.get(id, "user/1"), { name: "Ada L." });
    assert.equal((await put("/api/apps/notes/kv/count", '{"value":null}')).status, 200);
    assert.equal(node.storage.kv.get(id, "count"), null);

    const before = node.storage.kv.list(id).items;
    const refusals: [string, string, number, string][] = [
      ["/api/apps/notes/kv/user/1", "{oops", 400, "INVALID_JSON"],
      ["/api/apps/notes/kv/user/1", '"just a string"', 400, "INVALID_JSON"],
      ["/api/apps/notes/kv/user/1", '{"name":"no value field"}', 400, "VALIDATION_FAILED"],
      ["/api/apps/notes/kv/nope", '{"value":1}', 404, "KEY_NOT_FOUND"],
      ["/api/apps/nope/kv/user/1", '{"value":1}', 404, "APP_NOT_FOUND"],
    ];
    for (const [path, body, status, code] of refusals) {
      const res = await put(path, body);
      assert.equal(res.status, status, `${path} ${body}: ${JSON.stringify(res.body)}`);
      assert.equal(res.body.error.code, code, body);
    }
    assert.equal(
      (await put("/api/apps/notes/kv/user/1", '{"value":1}', node.tokens.deploy)).status,
      403,
    );
    assert.equal(node.storage.kv.get(id, "nope"), undefined, "an edit never adds a key");
    assert.deepEqual(node.storage.kv.list(id).items, before);

    const used = node.storage.usage.stored(id);
    const limits = await node.fetch("/api/apps/notes/limits", {
      method: "PUT",
      body: JSON.stringify({ max_storage_bytes: used + 20 }),
      headers: { "content-type": "application/json" },
    });
    assert.equal(limits.status, 200, await limits.text());
    const big = await put("/api/apps/notes/kv/user/1", JSON.stringify({ value: "x".repeat(200) }));
    assert.equal(big.status, 507);
    assert.equal(big.body.error.code, "QUOTA_EXCEEDED");
    assert.deepEqual(node.storage.kv.list(id).items, before);
  } finally {
    await node.close();
  }
});

Deno.test("apps report whether they run server code, and their manifest", async () => {
  const node = await startTestNode();
  try {
    await node.deploy("plain", await makeZip({ "index.html": "x" }));
    const list = await (await node.fetch("/api/apps")).json();
    assert.equal(list.data[0].server_code, false);
    const one = await (await node.fetch("/api/apps/plain")).json();
    assert.deepEqual(one.data.server, { code: false, manifest: null });

    const served = await node.deploy(
      "serverful",
      await makeZip({
        "index.html": "x",
        "api/main.ts": "export default () => new Response('from code');",
        "manifest.json": JSON.stringify({ routes: ["/feed.xml"], timeout_ms: 2000 }),
      }),
    );
    assert.equal(served.status, 201, JSON.stringify(served.body));
    // Code with no manifest, and a manifest with no code.
    await node.deploy(
      "bare",
      await makeZip({ "api/main.ts": "export default () => new Response('x');" }),
    );
    await node.deploy(
      "declared",
      await makeZip({ "index.html": "x", "manifest.json": '{"routes": ["/x"]}' }),
    );
    const apps = (await (await node.fetch("/api/apps")).json()).data as {
      name: string;
      server_code: boolean;
    }[];
    assert.deepEqual(
      Object.fromEntries(apps.map((a) => [a.name, a.server_code])),
      { bare: true, declared: false, plain: false, serverful: true },
    );
    const server = async (name: string) =>
      (await (await node.fetch(`/api/apps/${name}`)).json()).data.server;
    assert.deepEqual(await server("serverful"), {
      code: true,
      manifest: {
        net: [],
        routes: ["/feed.xml"],
        static_first: true,
        timeout_ms: 2000,
        memory_mb: null,
        indexes: {},
        spa: false,
      },
    });
    assert.deepEqual(await server("bare"), { code: true, manifest: null });
    assert.equal((await server("declared")).code, false);
    assert.deepEqual((await server("declared")).manifest.routes, ["/x"]);
    // The answer follows the live version: rolled back to a static version, no code.
    await node.deploy("plain", await makeZip({ "api/main.ts": "export default () => 1;" }));
    assert.equal((await server("plain")).code, true);
    const back = await node.fetch("/api/apps/plain/rollback", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ version: 1 }),
    });
    assert.equal(back.status, 200);
    await back.body?.cancel();
    assert.equal((await server("plain")).code, false);
  } finally {
    await node.close();
  }
});

Deno.test("settings can be read and changed (applied at the next start)", async () => {
  const node = await startTestNode();
  try {
    const list = (await (await node.fetch("/api/settings")).json()).data as {
      key: string;
      value: unknown;
      default: unknown;
    }[];
    const versions = list.find((s) => s.key === "max_versions")!;
    assert.deepEqual([versions.value, versions.default], [10, 10]);
    const put = (body: unknown, token = node.tokens.admin) =>
      node.fetch("/api/settings", {
        method: "PUT",
        token,
        headers: { "content-type": "application/json" },
        body: JSON.stringify(body),
      });
    const bad = await put({ max_versions: 0, cache_bytes: 1 });
    assert.equal(bad.status, 400);
    assert.equal((await bad.json()).error.details.field, "max_versions");
    assert.equal(node.storage.settings.load().cache_bytes, 64 * 1024 * 1024, "all or nothing");
    const unknown = await put({ nope: 1 });
    assert.equal(unknown.status, 400);
    await unknown.body?.cancel();
    const denied = await put({ max_versions: 5 }, node.tokens.deploy);
    assert.equal(denied.status, 403);
    await denied.body?.cancel();
    const ok = await put({ max_versions: 5 });
    assert.equal(ok.status, 200);
    assert.equal((await ok.json()).data.restart_required, true);
    assert.equal(node.storage.settings.load().max_versions, 5);
  } finally {
    await node.close();
  }
});

Deno.test("peers are listed without tokens, each checked live", async () => {
  const node = await startTestNode();
  try {
    node.storage.peers.upsert("self", node.base, "secret-token-1");
    const closed = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const deadPort = (closed.addr as Deno.NetAddr).port;
    closed.close();
    node.storage.peers.upsert("gone", `http://127.0.0.1:${deadPort}`, "secret-token-2");
    const list = await node.fetch("/api/peers");
    const text = await list.text();
    assert.ok(!text.includes("secret-token"), "tokens never leave the node");
    const status = (await (await node.fetch("/api/peers/status")).json()).data as {
      name: string;
      reachable: boolean;
      version: string | null;
      latency_ms: number | null;
      token?: string;
    }[];
    const self = status.find((p) => p.name === "self")!;
    assert.equal(self.reachable, true);
    assert.equal(typeof self.version, "string");
    assert.equal(typeof self.latency_ms, "number");
    assert.equal(self.token, undefined);
    const gone = status.find((p) => p.name === "gone")!;
    assert.equal(gone.reachable, false);
  } finally {
    await node.close();
  }
});

Deno.test("requests per minute are counted", async () => {
  const node = await startTestNode();
  try {
    await node.deploy("site", await makeZip({ "index.html": "x" }));
    // Every request counts, whichever host it is for and however it is answered.
    const sent = [
      node.fetch("/api/apps", { token: node.tokens.read }),
      node.fetch("/api/nope"),
      node.fetch("/", { host: "site.localhost", token: null }),
      node.fetch("/missing", { host: "site.localhost", token: null }),
      node.fetch("/", { host: "nobody.example", token: null }),
      node.fetch("/health", { token: null }),
    ];
    for (const res of await Promise.all(sent)) await res.body?.cancel();
    const res = await node.fetch("/api/system/requests", { token: node.tokens.read });
    const body = (await res.json()).data;
    assert.equal(body.per_minute.length, 60);
    assert.equal(typeof body.last_minute, "number");
    // The deploy, the six above and this one, split over at most two minutes.
    const counted = body.this_minute +
      body.per_minute.reduce((n: number, m: { n: number }) => n + m.n, 0);
    assert.equal(counted, 1 + sent.length + 1);
    assert.equal(body.last_minute, body.per_minute.at(-1).n);
    const times = body.per_minute.map((m: { t: number }) => m.t);
    assert.ok(times.every((t: number, i: number) => i === 0 || t - times[i - 1] === 60_000));
  } finally {
    await node.close();
  }
});

/** Reads server-sent events from a streaming response until `want` `log` events arrived. */
async function readEvents(res: Response, want: number): Promise<{ id: string; data: string }[]> {
  const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  const events: { id: string; data: string }[] = [];
  while (events.length < want) {
    const { value, done } = await reader.read();
    if (done) break;
    buffer += value;
    let end;
    while ((end = buffer.indexOf("\n\n")) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      const fields = Object.fromEntries(
        block.split("\n").filter((l) => !l.startsWith(":")).map((l) => {
          const i = l.indexOf(":");
          return [l.slice(0, i), l.slice(i + 1).trim()];
        }),
      );
      if (fields.event === "log") events.push({ id: fields.id, data: fields.data });
    }
  }
  await reader.cancel();
  return events;
}

Deno.test("an app's log is tailed live over Server-Sent Events, resuming by id", async () => {
  const node = await startTestNode();
  try {
    await setOwner(node);
    await node.deploy("site", await makeZip({ "index.html": "x" }));
    const id = node.storage.apps.get("site")!.id;
    node.storage.logs.append(id, "info", "first");
    const { cookie } = await login(node);
    // A browser's EventSource sends the cookie; web fetch to 127.0.0.1 with Host localhost works here.
    const res = await fetch(`${node.base}/api/apps/site/logs/stream`, {
      headers: { cookie: cookie!, authorization: "" },
    });
    assert.equal(res.status, 200);
    assert.match(res.headers.get("content-type")!, /^text\/event-stream/);
    const pending = deadline(readEvents(res, 2), "two log events");
    node.storage.logs.append(id, "error", "second");
    const events = await pending;
    assert.deepEqual(events.map((e) => JSON.parse(e.data).message), ["first", "second"]);
    assert.equal(JSON.parse(events[1].data).level, "error");
    // Reconnecting with Last-Event-ID gets only what came after.
    node.storage.logs.append(id, "info", "third");
    const resumed = await fetch(`${node.base}/api/apps/site/logs/stream`, {
      headers: { "last-event-id": events[1].id, authorization: `Bearer ${node.tokens.read}` },
    });
    const next = await deadline(readEvents(resumed, 1), "the event after Last-Event-ID");
    assert.deepEqual(next.map((e) => JSON.parse(e.data).message), ["third"]);
    // `?after=` does the same; what is not an entry id is refused, not ignored.
    const byQuery = await fetch(`${node.base}/api/apps/site/logs/stream?after=${events[1].id}`, {
      headers: { authorization: `Bearer ${node.tokens.read}` },
    });
    const fromQuery = await deadline(readEvents(byQuery, 1), "the event after ?after=");
    assert.deepEqual(fromQuery.map((e) => JSON.parse(e.data).message), ["third"]);
    for (const bad of ["x", "-1", "1.5", "12abc"]) {
      const refused = await node.fetch(`/api/apps/site/logs/stream?after=${bad}`);
      assert.equal(refused.status, 400, bad);
      const err = (await refused.json()).error;
      assert.equal(err.code, "VALIDATION_FAILED", bad);
      assert.equal(err.details.field, "after", bad);
    }
    const missing = await node.fetch("/api/apps/nope/logs/stream");
    assert.equal(missing.status, 404);
    await missing.body?.cancel();
  } finally {
    await node.close();
  }
});

Deno.test("shutting down ends open log streams", async () => {
  const node = await startTestNode();
  let reader: ReadableStreamDefaultReader<Uint8Array> | undefined;
  let closing: Promise<void> | undefined;
  try {
    await node.deploy("site", await makeZip({ "index.html": "x" }));
    const res = await fetch(`${node.base}/api/apps/site/logs/stream`, {
      headers: { authorization: `Bearer ${node.tokens.read}` },
    });
    assert.equal(res.status, 200);
    reader = res.body!.getReader();
    const first = await deadline(reader.read(), "the stream's first bytes");
    assert.equal(first.done, false, "the stream is open");
    // Shutdown waits for responses in flight: it returns only if the stream was ended.
    closing = node.close();
    await deadline(closing, "the node to shut down with a log stream open");
    const drain = async () => {
      while (!(await reader!.read()).done) { /* the rest of what was sent */ }
      return true;
    };
    assert.equal(await deadline(drain(), "the log stream to end"), true);
  } finally {
    // When the stream was not ended, cancelling it lets the node finish closing.
    await reader?.cancel().catch(() => {});
    await (closing ?? node.close()).catch(() => {});
  }
});

Deno.test("the login origin check accepts the admin host's own origin only", async () => {
  const node = await startTestNode();
  try {
    await setOwner(node);
    const own = adminOrigin(node);
    const port = node.server.port;
    // Look-alikes: another port that starts with this one, another scheme,
    // another host that starts with this one, no port, an app on this node.
    for (
      const origin of [
        `${own}0`,
        `${own}1`,
        `https://localhost:${port}`,
        `${own}.evil.example`,
        `http://localhost`,
        `http://localhost:${String(port).slice(0, -1)}`,
        `http://site.localhost:${port}`,
        `${own}/`,
        "null",
      ]
    ) {
      const refused = await login(node, { headers: { origin } });
      assert.equal(refused.res.status, 403, origin);
      assert.equal(refused.body.error.code, "FORBIDDEN_ORIGIN", origin);
      assert.equal(refused.setCookie, null, origin);
    }
    assert.equal(node.count("sessions"), 0, "no refused login started a session");
    const ok = await login(node, { headers: { origin: own } });
    assert.equal(ok.res.status, 200);
    // Scheme and host are case-insensitive (RFC 6454).
    const upper = await login(node, { headers: { origin: own.toUpperCase() } });
    assert.equal(upper.res.status, 200);
  } finally {
    await node.close();
  }
});
