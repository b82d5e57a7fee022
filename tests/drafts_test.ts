/**
 * Draft deploys, preview hosts, promote, and the app-file read API.
 */
import assert from "node:assert/strict";
import { makeZip, startTestNode } from "./helpers.ts";

Deno.test("draft → preview host serves it, live host does not → promote → live", async () => {
  const node = await startTestNode();
  try {
    const port = node.server.port;
    const text = async (host: string, path = "/") => {
      const res = await node.fetch(path, { host, token: null });
      return { status: res.status, body: await res.text() };
    };
    const promote = (name: string, body: unknown, token = node.tokens.deploy) =>
      node.fetch(`/api/apps/${name}/promote`, {
        method: "POST",
        body: JSON.stringify(body),
        headers: { "content-type": "application/json" },
        token,
      });

    // A brand-new app deployed as a draft: nothing is live yet.
    const d1 = await node.deploy("blog", await makeZip({ "index.html": "draft one" }), "&draft=1");
    assert.equal(d1.status, 201);
    assert.equal(d1.body.data.live, false);
    assert.equal(d1.body.data.version, 1);
    assert.equal(d1.body.data.preview_url, `http://blog--v1.localhost:${port}`);
    assert.equal((await text("blog.localhost")).status, 404);
    assert.equal((await text(`blog--v1.localhost:${port}`)).body, "draft one");

    const p1 = await promote("blog", { version: 1 });
    assert.equal(p1.status, 200);
    assert.deepEqual((await p1.json()).data, {
      app: "blog",
      live_version: 1,
      previous_version: null,
      url: `http://blog.localhost:${port}`,
    });
    assert.equal((await text("blog.localhost")).body, "draft one");

    // A second draft leaves v1 live until it is promoted.
    const d2 = await node.deploy("blog", await makeZip({ "index.html": "draft two" }), "&draft=1");
    assert.equal(d2.body.data.version, 2);
    assert.equal((await text("blog.localhost")).body, "draft one", "the live host keeps v1");
    assert.equal((await text("blog--v2.localhost")).body, "draft two", "the preview serves v2");
    assert.equal((await text("blog--v1.localhost")).body, "draft one");
    assert.equal((await text("blog--v9.localhost")).status, 404);
    const info = await (await node.fetch("/api/apps/blog")).json();
    assert.equal(info.data.live_version, 1);
    assert.deepEqual(info.data.versions.map((v: { live: boolean }) => v.live), [false, true]);

    // Refusals change nothing.
    const refusals: [Response, number, string][] = [
      [await promote("blog", {}), 400, "VALIDATION_FAILED"],
      [await promote("blog", { version: "2" }), 400, "VALIDATION_FAILED"],
      [await promote("blog", { version: 0 }), 400, "VALIDATION_FAILED"],
      [await promote("blog", { version: 99 }), 404, "VERSION_NOT_FOUND"],
      [await promote("ghost", { version: 1 }), 404, "APP_NOT_FOUND"],
      [await promote("blog", { version: 2 }, node.tokens.read), 403, "FORBIDDEN"],
    ];
    for (const [res, status, code] of refusals) {
      assert.equal(res.status, status);
      assert.equal((await res.json()).error.code, code);
    }
    assert.equal((await text("blog.localhost")).body, "draft one");

    const p2 = await promote("blog", { version: 2 });
    assert.equal((await p2.json()).data.previous_version, 1);
    assert.equal((await text("blog.localhost")).body, "draft two");
    // Promoting the live version again is harmless.
    const again = await promote("blog", { version: 2 });
    assert.equal(again.status, 200);
    assert.equal((await again.json()).data.previous_version, 2);
    // Drafts are kept like other versions: v1 can be promoted back.
    await (await promote("blog", { version: 1 })).body?.cancel();
    assert.equal((await text("blog.localhost")).body, "draft one");
  } finally {
    await node.close();
  }
});

Deno.test("app files API: list, text, base64, nested paths, ?version, refusals", async () => {
  const node = await startTestNode();
  try {
    const png = new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0, 1, 2, 255]);
    await node.deploy("site", await makeZip({ "index.html": "<p>v1</p>" }));
    await node.deploy(
      "site",
      await makeZip({ "index.html": "<p>v2</p>", "img/dot.png": png, "docs/a b/ñ.txt": "olé" }),
    );
    const get = async (path: string, token: string | null = node.tokens.read) => {
      const res = await node.fetch(path, { token });
      return { status: res.status, body: await res.json() };
    };

    const list = await get("/api/apps/site/files");
    assert.equal(list.status, 200);
    assert.equal(list.body.data.version, 2);
    assert.deepEqual(
      list.body.data.files.map((f: { path: string }) => f.path),
      ["docs/a b/ñ.txt", "img/dot.png", "index.html"],
    );
    assert.equal(list.body.data.files[1].size, png.length);
    const v1 = await get("/api/apps/site/files?version=1");
    assert.deepEqual(v1.body.data.files.map((f: { path: string }) => f.path), ["index.html"]);

    const html = await get("/api/apps/site/files/index.html");
    assert.equal(html.body.data.encoding, "utf-8");
    assert.equal(html.body.data.content, "<p>v2</p>");
    assert.match(html.body.data.content_type, /^text\/html/);
    const old = await get("/api/apps/site/files/index.html?version=1");
    assert.equal(old.body.data.content, "<p>v1</p>");

    const bin = await get("/api/apps/site/files/img/dot.png");
    assert.equal(bin.body.data.encoding, "base64");
    assert.deepEqual(Uint8Array.fromBase64(bin.body.data.content), png);
    const nested = await get(`/api/apps/site/files/${encodeURI("docs/a b/ñ.txt")}`);
    assert.equal(nested.body.data.content, "olé");
    assert.equal(nested.body.data.path, "docs/a b/ñ.txt");

    const refusals: [string, number, string][] = [
      ["/api/apps/site/files/missing.txt", 404, "FILE_NOT_FOUND"],
      ["/api/apps/site/files/img", 404, "FILE_NOT_FOUND"],
      ["/api/apps/ghost/files", 404, "APP_NOT_FOUND"],
      ["/api/apps/ghost/files/index.html", 404, "APP_NOT_FOUND"],
      ["/api/apps/site/files?version=7", 404, "VERSION_NOT_FOUND"],
      ["/api/apps/site/files/index.html?version=x", 400, "VALIDATION_FAILED"],
    ];
    for (const [path, status, code] of refusals) {
      const r = await get(path);
      assert.equal(r.status, status, path);
      assert.equal(r.body.error.code, code, path);
    }
    assert.equal((await get("/api/apps/site/files/index.html", null)).status, 401);
    // An empty segment is not a file path.
    assert.equal((await get("/api/apps/site/files/img//dot.png")).status, 404);
  } finally {
    await node.close();
  }
});
