import assert from "node:assert/strict";
import { gunzipSync } from "node:zlib";
import { brotliDecompressSync } from "node:zlib";
import { sha256Hex } from "../lib/secrets.ts";
import { makeZip, startTestNode, type TestNode } from "./helpers.ts";

const CSS = "body { color: #333; margin: 0 auto; }\n".repeat(200);
const SITE = {
  "index.html": "<!doctype html><h1>home</h1>" + "<p>filler text</p>".repeat(100),
  "about.html": "<h1>about</h1>",
  "docs/index.html": "<h1>docs</h1>",
  "style.css": CSS,
  "assets/app.3f9a1c2b.js": "console.log('fingerprinted');",
  "assets/hero-CLDdwZDr.png": new Uint8Array([0x89, 0x50, 0x4e, 0x47, 5, 6, 7, 8]),
  "jquery-3.7.1.min.js": "/* a version, not a hash */",
  "tiny.txt": "0123456789",
  "logo.png": new Uint8Array([0x89, 0x50, 0x4e, 0x47, 1, 2, 3, 4]),
};

async function withSite(
  files: Record<string, string | Uint8Array>,
  fn: (node: TestNode) => Promise<void>,
) {
  const node = await startTestNode();
  try {
    const { status } = await node.deploy("site", await makeZip(files));
    assert.equal(status, 201);
    await fn(node);
  } finally {
    await node.close();
  }
}

const get = (node: TestNode, path: string, headers: HeadersInit = {}, method = "GET") =>
  node.fetch(path, { host: "site.localhost", headers, method, token: null });

Deno.test("folders, clean URLs and content types", async () => {
  await withSite(SITE, async (node) => {
    assert.equal(await (await get(node, "/")).text(), SITE["index.html"]);
    assert.equal(await (await get(node, "/about")).text(), SITE["about.html"]);
    assert.equal(await (await get(node, "/about.html")).text(), SITE["about.html"]);
    assert.equal(await (await get(node, "/docs/")).text(), SITE["docs/index.html"]);
    assert.equal(await (await get(node, "/docs")).text(), SITE["docs/index.html"]);
    const css = await get(node, "/style.css");
    assert.equal(css.headers.get("content-type"), "text/css; charset=utf-8");
    await css.body?.cancel();
    const png = await get(node, "/logo.png");
    assert.equal(png.headers.get("content-type"), "image/png");
    assert.equal(png.headers.get("x-content-type-options"), "nosniff");
    assert.deepEqual(new Uint8Array(await png.arrayBuffer()), SITE["logo.png"]);
  });
});

Deno.test("ETag, If-None-Match and If-Modified-Since give 304", async () => {
  await withSite(SITE, async (node) => {
    const first = await get(node, "/tiny.txt");
    const etag = first.headers.get("etag")!;
    const lastModified = first.headers.get("last-modified")!;
    await first.body?.cancel();
    assert.match(etag, /^"[0-9a-f]{32}"$/);
    assert.ok(lastModified.endsWith("GMT"));
    const again = await get(node, "/tiny.txt", { "if-none-match": etag });
    assert.equal(again.status, 304);
    assert.equal(await again.text(), "");
    assert.equal(again.headers.get("etag"), etag);
    assert.equal(
      (await get(node, "/tiny.txt", { "if-none-match": `W/${etag}, "other"` })).status,
      304,
    );
    const changed = await get(node, "/tiny.txt", { "if-none-match": '"nope"' });
    assert.equal(changed.status, 200);
    await changed.body?.cancel();
    assert.equal((await get(node, "/tiny.txt", { "if-modified-since": lastModified })).status, 304);
    const old = await get(node, "/tiny.txt", {
      "if-modified-since": "Mon, 01 Jan 2001 00:00:00 GMT",
    });
    assert.equal(old.status, 200);
    await old.body?.cancel();
  });
});

Deno.test("Cache-Control: HTML revalidates, fingerprinted assets are immutable", async () => {
  await withSite(SITE, async (node) => {
    for (
      const [path, expected] of [
        ["/", "public, no-cache"],
        ["/style.css", "public, no-cache"],
        ["/assets/app.3f9a1c2b.js", "public, max-age=31536000, immutable"],
        ["/assets/hero-CLDdwZDr.png", "public, max-age=31536000, immutable"],
        ["/jquery-3.7.1.min.js", "public, no-cache"],
      ]
    ) {
      const res = await get(node, path);
      assert.equal(res.headers.get("cache-control"), expected, path);
      assert.ok(res.headers.get("etag"), path);
      await res.body?.cancel();
    }
  });
});

Deno.test("Range requests: 206, suffix and open ranges, 416, If-Range", async () => {
  await withSite(SITE, async (node) => {
    const part = await get(node, "/tiny.txt", { range: "bytes=2-5" });
    assert.equal(part.status, 206);
    assert.equal(part.headers.get("content-range"), "bytes 2-5/10");
    assert.equal(await part.text(), "2345");
    assert.equal(await (await get(node, "/tiny.txt", { range: "bytes=7-" })).text(), "789");
    assert.equal(await (await get(node, "/tiny.txt", { range: "bytes=-3" })).text(), "789");
    assert.equal(await (await get(node, "/tiny.txt", { range: "bytes=8-100" })).text(), "89");
    const bad = await get(node, "/tiny.txt", { range: "bytes=50-60" });
    assert.equal(bad.status, 416);
    assert.equal(bad.headers.get("content-range"), "bytes */10");
    await bad.body?.cancel();
    // Several ranges or nonsense: the whole file, as RFC 9110 allows.
    const multi = await get(node, "/tiny.txt", { range: "bytes=0-1,4-5" });
    assert.equal(multi.status, 200);
    assert.equal(await multi.text(), "0123456789");
    const stale = await get(node, "/tiny.txt", { range: "bytes=0-1", "if-range": '"stale"' });
    assert.equal(stale.status, 200);
    await stale.body?.cancel();
    const etag = (await get(node, "/tiny.txt", {}, "HEAD")).headers.get("etag")!;
    assert.equal(
      (await get(node, "/tiny.txt", { range: "bytes=0-1", "if-range": etag })).status,
      206,
    );
  });
});

Deno.test("big files (streamed from memory) arrive whole, again and again", async () => {
  const big = "0123456789abcdef".repeat(20_000);
  await withSite({ "big.txt": big, "index.html": "x" }, async (node) => {
    for (let i = 0; i < 3; i++) {
      const res = await get(node, "/big.txt");
      assert.equal(res.headers.get("content-length"), String(big.length));
      assert.equal(await res.text(), big, `round ${i}`);
      const gz = await get(node, "/big.txt", { "accept-encoding": "gzip" });
      assert.equal(
        new TextDecoder().decode(gunzipSync(new Uint8Array(await gz.arrayBuffer()))),
        big,
      );
    }
  });
});

Deno.test("HEAD answers the headers of GET with no body", async () => {
  await withSite(SITE, async (node) => {
    const head = await get(node, "/style.css", {}, "HEAD");
    assert.equal(head.status, 200);
    assert.equal(head.headers.get("content-length"), String(CSS.length));
    assert.equal(head.headers.get("content-type"), "text/css; charset=utf-8");
    assert.equal(await head.text(), "");
    const missing = await get(node, "/nope.css", {}, "HEAD");
    assert.equal(missing.status, 404);
  });
});

Deno.test("compression: br and gzip made at deploy time, chosen by Accept-Encoding", async () => {
  await withSite(SITE, async (node) => {
    const br = await get(node, "/style.css", { "accept-encoding": "gzip, deflate, br" });
    assert.equal(br.headers.get("content-encoding"), "br");
    assert.equal(br.headers.get("vary"), "Accept-Encoding");
    const brBytes = new Uint8Array(await br.arrayBuffer());
    assert.ok(brBytes.length < CSS.length / 5);
    assert.equal(new TextDecoder().decode(brotliDecompressSync(brBytes)), CSS);
    const gz = await get(node, "/style.css", { "accept-encoding": "gzip" });
    assert.equal(gz.headers.get("content-encoding"), "gzip");
    assert.equal(new TextDecoder().decode(gunzipSync(new Uint8Array(await gz.arrayBuffer()))), CSS);
    assert.notEqual(gz.headers.get("etag"), br.headers.get("etag"));
    const refused = await get(node, "/style.css", { "accept-encoding": "br;q=0, gzip;q=0" });
    assert.equal(refused.headers.get("content-encoding"), null);
    assert.equal(await refused.text(), CSS);
    const plain = await get(node, "/style.css");
    assert.equal(plain.headers.get("content-encoding"), null);
    assert.equal(plain.headers.get("vary"), "Accept-Encoding");
    await plain.body?.cancel();
    // Incompressible or tiny files have no variants and no Vary.
    const png = await get(node, "/logo.png", { "accept-encoding": "gzip, br" });
    assert.equal(png.headers.get("content-encoding"), null);
    assert.equal(png.headers.get("vary"), null);
    await png.body?.cancel();
    // A 304 for a compressed representation keeps its own validator.
    const etag = br.headers.get("etag")!;
    const revalidated = await get(node, "/style.css", {
      "accept-encoding": "br",
      "if-none-match": etag,
    });
    assert.equal(revalidated.status, 304);
    assert.equal(revalidated.headers.get("etag"), etag);
  });
});

Deno.test("custom 404.html is served with status 404", async () => {
  await withSite({ "index.html": "home", "404.html": "<h1>custom missing</h1>" }, async (node) => {
    const res = await get(node, "/no/such/page");
    assert.equal(res.status, 404);
    assert.equal(await res.text(), "<h1>custom missing</h1>");
    const head = await get(node, "/no/such/page", {}, "HEAD");
    assert.equal(head.status, 404);
    assert.equal(head.headers.get("content-length"), String("<h1>custom missing</h1>".length));
  });
});

Deno.test("SPA fallback to 200.html for routes, 404 for missing assets", async () => {
  await withSite(
    { "index.html": "home", "200.html": "<div id=app>", "404.html": "gone" },
    async (node) => {
      const route = await get(node, "/users/42/edit");
      assert.equal(route.status, 200);
      assert.equal(await route.text(), "<div id=app>");
      const asset = await get(node, "/missing.js");
      assert.equal(asset.status, 404);
      assert.equal(await asset.text(), "gone");
      // A missing page (.html) is a route too; HEAD of a missing asset keeps the 404.
      const page = await get(node, "/old/page.html");
      assert.equal(page.status, 200);
      assert.equal(await page.text(), "<div id=app>");
      const head = await get(node, "/missing.js", {}, "HEAD");
      assert.equal(head.status, 404);
      assert.equal(await head.text(), "");
    },
  );
});

Deno.test('manifest "spa": true answers routes with index.html; assets still 404', async () => {
  const files = {
    "index.html": "<div id=root></div>",
    "assets/index-BdX3k9_a.js": "app()",
    "404.html": "gone",
  };
  await withSite({ ...files, "manifest.json": '{"spa": true}' }, async (node) => {
    for (const path of ["/users/42/edit", "/settings", "/old/page.html"]) {
      const route = await get(node, path);
      assert.equal(route.status, 200, path);
      assert.equal(await route.text(), "<div id=root></div>");
    }
    const asset = await get(node, "/assets/missing-CLDdwZDr.js");
    assert.equal(asset.status, 404);
    assert.equal(await asset.text(), "gone");
    const real = await get(node, "/assets/index-BdX3k9_a.js");
    assert.equal(await real.text(), "app()");
    assert.equal(real.headers.get("cache-control"), "public, max-age=31536000, immutable");
  });
  // react-router's SPA build: its fallback page, not the prerendered index.html.
  await withSite(
    { ...files, "__spa-fallback.html": "<div id=fallback>", "manifest.json": '{"spa": true}' },
    async (node) => {
      assert.equal(await (await get(node, "/users/42")).text(), "<div id=fallback>");
      assert.equal(await (await get(node, "/")).text(), "<div id=root></div>");
    },
  );
  // Without the flag (and without 200.html) a route is the site's 404.
  await withSite(files, async (node) => {
    const route = await get(node, "/users/42/edit");
    assert.equal(route.status, 404);
    assert.equal(await route.text(), "gone");
  });
});

Deno.test("without 404.html, a missing file is fazt's HTML 404 page", async () => {
  await withSite({ "index.html": "home" }, async (node) => {
    const res = await get(node, "/nope");
    assert.equal(res.status, 404);
    assert.equal(res.headers.get("content-type"), "text/html; charset=utf-8");
    assert.match(await res.text(), /404/);
  });
});

Deno.test("unknown apps and hosts get an HTML 404, not a crash", async () => {
  await withSite({ "index.html": "home" }, async (node) => {
    for (
      const host of ["ghost.localhost", "evil.example.com", "a.b.localhost", "<script>.localhost"]
    ) {
      const res = await node.fetch("/", { host, token: null });
      assert.equal(res.status, 404, host);
      assert.equal(res.headers.get("content-type"), "text/html; charset=utf-8");
      assert.ok(!(await res.text()).includes("<script>"), "the host is escaped");
    }
  });
});

Deno.test("percent-encoded names reach their files", async () => {
  await withSite(
    { "index.html": "home", "café/ñandú.txt": "unicode", "a b.txt": "space", "100%.txt": "pct" },
    async (node) => {
      for (
        const [path, body] of [
          ["/caf%C3%A9/%C3%B1and%C3%BA.txt", "unicode"],
          ["/a%20b.txt", "space"],
          ["/100%25.txt", "pct"],
        ]
      ) {
        const res = await get(node, path);
        assert.equal(res.status, 200, path);
        assert.equal(await res.text(), body, path);
      }
    },
  );
});

Deno.test("path tricks never escape the app", async () => {
  await withSite({ "index.html": "home", "a/b.txt": "b" }, async (node) => {
    await node.deploy("other", await makeZip({ "secret.txt": "other app's secret" }));
    // Files the archive checks would refuse, planted straight into the store:
    // each is the name a request path decodes to, so only the request-side
    // checks stand between the trick and the file. (SQLite text ends at a
    // NUL, so a name with one cannot be planted; `/x%00.txt` is tried below.)
    const planted: Record<string, string> = {
      "a/../secret.txt": "traversal",
      "../other/secret.txt": "escape",
      "a\\b.txt": "backslash",
    };
    const site = node.storage.apps.get("site")!;
    const kept = node.storage.apps.files(site.id, site.live_version!);
    node.storage.apps.createVersion(
      "site",
      [
        ...kept.map((f) => ({
          path: f.path,
          hash: f.hash,
          data: node.storage.apps.content(f.hash)!,
        })),
        ...Object.entries(planted).map(([path, text]) => {
          const data = new TextEncoder().encode(text);
          return { path, hash: sha256Hex(data), data };
        }),
      ],
      { keep: 10 },
    );
    node.server.context.sites.refresh("site");
    const tricks = [
      "/a%2f..%2fsecret.txt",
      "/a%2F%2E%2E%2Fsecret.txt",
      "/%2e%2e%2fother%2fsecret.txt",
      "/..%2fother%2fsecret.txt",
      "/a%5cb.txt",
      "/a%5Cb.txt",
      "/x%00.txt",
      "/%2e%2e/%2e%2e/etc/passwd",
      "/a/%2e%2e/%2e%2e/x",
      "/%zz",
    ];
    for (const path of tricks) {
      const res = await get(node, path);
      const text = await res.text();
      assert.equal(res.status, 404, path);
      for (const secret of [...Object.values(planted), "other app's secret"]) {
        assert.ok(!text.includes(secret), `${path} served ${JSON.stringify(secret)}`);
      }
    }
    // The same site still serves its own files.
    assert.equal(await (await get(node, "/a/b.txt")).text(), "b");
    assert.equal(await (await get(node, "/a/../index.html")).text(), "home");
  });
});

Deno.test("only GET and HEAD reach static files", async () => {
  await withSite({ "index.html": "home" }, async (node) => {
    const res = await get(node, "/", {}, "DELETE");
    assert.equal(res.status, 405);
    assert.equal(res.headers.get("allow"), "GET, HEAD");
    await res.body?.cancel();
    for (const method of ["POST", "PUT", "PATCH", "OPTIONS"]) {
      for (const path of ["/", "/index.html", "/missing"]) {
        const other = await get(node, path, {}, method);
        assert.equal(other.status, 405, `${method} ${path}`);
        assert.equal(other.headers.get("allow"), "GET, HEAD");
        assert.ok(!(await other.text()).includes("home"), `${method} ${path} served the file`);
      }
    }
  });
});

Deno.test("the root app answers on root.<domain>", async () => {
  const node = await startTestNode();
  try {
    await node.deploy("root", await makeZip({ "index.html": "the root site" }));
    const res = await node.fetch("/", { host: "root.localhost", token: null });
    assert.equal(await res.text(), "the root site");
  } finally {
    await node.close();
  }
});

Deno.test("with a real domain: <domain>, root.<domain>, <app>.<domain>, admin.<domain>", async () => {
  const node = await startTestNode({ settings: { domain: "example.test" } });
  try {
    await node.deploy("root", await makeZip({ "index.html": "root" }));
    await node.deploy("blog", await makeZip({ "index.html": "blog" }));
    assert.equal(
      await (await node.fetch("/", { host: "example.test", token: null })).text(),
      "root",
    );
    assert.equal(
      await (await node.fetch("/", { host: "root.example.test", token: null })).text(),
      "root",
    );
    assert.equal(
      await (await node.fetch("/", { host: "blog.example.test:443", token: null })).text(),
      "blog",
    );
    assert.equal(
      await (await node.fetch("/", { host: "BLOG.Example.Test.", token: null })).text(),
      "blog",
    );
    const health = await node.fetch("/health", { host: "admin.example.test", token: null });
    assert.equal((await health.json()).status, "ok");
    const nested = await node.fetch("/", { host: "x.blog.example.test", token: null });
    assert.equal(nested.status, 404);
    await nested.body?.cancel();
  } finally {
    await node.close();
  }
});
