/**
 * Conditional and range requests to static files (RFC 9110 §13, §14),
 * through the node's handler in-process: no socket needed to read headers.
 */
import assert from "node:assert/strict";
import { gzipSync } from "node:zlib";
import { type Harness, startHarness } from "./harness.ts";

const TEXT = "0123456789";
const CSS = "body { color: #333; margin: 0 auto; }\n".repeat(200);

async function withSite(fn: (h: Harness) => Promise<void>): Promise<void> {
  const h = startHarness();
  try {
    await h.deploy("site", { "index.html": "<h1>home</h1>", "tiny.txt": TEXT, "style.css": CSS });
    await fn(h);
  } finally {
    await h.close();
  }
}

const get = (h: Harness, path: string, headers: HeadersInit = {}, method = "GET") =>
  h.request(path, { host: "site.localhost", token: null, headers, method });

/** The validators of `path` as first served. */
async function validators(h: Harness, path: string) {
  const res = await get(h, path);
  await res.body?.cancel();
  return { etag: res.headers.get("etag")!, lastModified: res.headers.get("last-modified")! };
}

Deno.test("a non-matching If-None-Match wins over a matching If-Modified-Since", async () => {
  // After a rollback the files are older than the browser's copy: only the
  // ETag tells them apart, so If-Modified-Since must not be consulted.
  await withSite(async (h) => {
    const { lastModified } = await validators(h, "/tiny.txt");
    const future = new Date(Date.parse(lastModified) + 86_400_000).toUTCString();
    for (const since of [lastModified, future]) {
      const res = await get(h, "/tiny.txt", {
        "if-none-match": '"from-a-newer-version"',
        "if-modified-since": since,
      });
      assert.equal(res.status, 200, `If-Modified-Since: ${since}`);
      assert.equal(await res.text(), TEXT);
    }
    // If-Modified-Since alone still revalidates.
    const alone = await get(h, "/tiny.txt", { "if-modified-since": future });
    assert.equal(alone.status, 304);
  });
});

Deno.test("If-None-Match: *, weak and listed validators give 304; others 200", async () => {
  await withSite(async (h) => {
    const { etag } = await validators(h, "/tiny.txt");
    for (const inm of ["*", ` ${etag} `, `W/${etag}`, `"a", ${etag}`, `"a",W/${etag}`]) {
      const res = await get(h, "/tiny.txt", { "if-none-match": inm });
      assert.equal(res.status, 304, inm);
      assert.equal(res.headers.get("etag"), etag, inm);
      assert.equal(await res.text(), "");
    }
    for (const inm of ['"a"', etag.slice(0, -2) + '"', `"${etag}"`, ""]) {
      const res = await get(h, "/tiny.txt", { "if-none-match": inm });
      assert.equal(res.status, 200, inm);
      await res.body?.cancel();
    }
  });
});

Deno.test("If-Modified-Since: 304 at or after the version's time, 200 before or unparsable", async () => {
  await withSite(async (h) => {
    const { lastModified } = await validators(h, "/tiny.txt");
    const before = new Date(Date.parse(lastModified) - 1000).toUTCString();
    for (const [since, status] of [[lastModified, 304], [before, 200], ["yesterday", 200]]) {
      const res = await get(h, "/tiny.txt", { "if-modified-since": String(since) });
      assert.equal(res.status, status, String(since));
      await res.body?.cancel();
    }
  });
});

Deno.test("a validator of the page does not turn a 404 into a 304", async () => {
  await withSite(async (h) => {
    await h.deploy("other", { "index.html": "x", "404.html": "custom missing" });
    const { etag } = await validators(h, "/tiny.txt");
    for (const inm of ["*", etag]) {
      const res = await h.request("/nope", {
        host: "other.localhost",
        token: null,
        headers: { "if-none-match": inm },
      });
      assert.equal(res.status, 404, inm);
      assert.equal(await res.text(), "custom missing");
    }
  });
});

Deno.test("If-Range: a current ETag or date gives the range, anything else the whole file", async () => {
  await withSite(async (h) => {
    const { etag, lastModified } = await validators(h, "/tiny.txt");
    const earlier = new Date(Date.parse(lastModified) - 1000).toUTCString();
    const cases: [string, number, string][] = [
      [etag, 206, "23"],
      [lastModified, 206, "23"],
      ['"stale"', 200, TEXT],
      [earlier, 200, TEXT],
      [`W/${etag}`, 200, TEXT], // If-Range needs a strong validator
    ];
    for (const [ifRange, status, body] of cases) {
      const res = await get(h, "/tiny.txt", { range: "bytes=2-3", "if-range": ifRange });
      assert.equal(res.status, status, ifRange);
      assert.equal(await res.text(), body, ifRange);
    }
  });
});

Deno.test("ranges: exact bytes, one-byte ranges, 416 with the size; HEAD ignores Range", async () => {
  await withSite(async (h) => {
    const cases: [string, number, string, string | null][] = [
      ["bytes=0-0", 206, "0", "bytes 0-0/10"],
      ["bytes=5-5", 206, "5", "bytes 5-5/10"],
      ["bytes=9-", 206, "9", "bytes 9-9/10"],
      ["bytes=0-9", 206, TEXT, "bytes 0-9/10"],
      ["bytes=-10", 206, TEXT, "bytes 0-9/10"],
      ["bytes=10-12", 416, "", "bytes */10"],
      ["bytes=6-5", 200, TEXT, null],
    ];
    for (const [range, status, body, contentRange] of cases) {
      const res = await get(h, "/tiny.txt", { range });
      assert.equal(res.status, status, range);
      assert.equal(await res.text(), body, range);
      assert.equal(res.headers.get("content-range"), contentRange, range);
    }
    const head = await get(h, "/tiny.txt", { range: "bytes=0-1" }, "HEAD");
    assert.equal(head.status, 200);
    assert.equal(head.headers.get("content-length"), String(TEXT.length));
    // A range of a missing file is the missing file's answer.
    const missing = await get(h, "/nope.txt", { range: "bytes=0-1" });
    assert.equal(missing.status, 404);
    await missing.body?.cancel();
  });
});

Deno.test("HEAD reports the length of the representation GET would send", async () => {
  await withSite(async (h) => {
    for (const coding of ["gzip", "br", "identity"]) {
      const got = await get(h, "/style.css", { "accept-encoding": coding });
      const bytes = new Uint8Array(await got.arrayBuffer());
      const head = await get(h, "/style.css", { "accept-encoding": coding }, "HEAD");
      assert.equal(head.status, 200);
      assert.equal(
        head.headers.get("content-encoding"),
        coding === "identity" ? null : coding,
      );
      assert.equal(head.headers.get("content-length"), String(bytes.byteLength), coding);
      assert.equal(head.headers.get("etag"), got.headers.get("etag"), coding);
      assert.equal(await head.text(), "");
    }
  });
});

Deno.test("an encoding is chosen only when that variant was stored", async () => {
  const h = startHarness();
  try {
    // One file with a gzip variant only (as when brotli did not pay off),
    // one with none.
    const te = new TextEncoder();
    const data = te.encode(CSS);
    const gzip = new Uint8Array(gzipSync(data));
    h.storage.apps.createVersion("site", [
      { path: "gz.css", hash: "a".repeat(64), data, gzip },
      { path: "plain.css", hash: "b".repeat(64), data },
    ], { keep: 5 });
    h.ctx.sites.refresh("site");
    const gz = await get(h, "/gz.css", { "accept-encoding": "br, gzip" });
    assert.equal(gz.headers.get("content-encoding"), "gzip");
    assert.deepEqual(new Uint8Array(await gz.arrayBuffer()), gzip);
    const brOnly = await get(h, "/gz.css", { "accept-encoding": "br" });
    assert.equal(brOnly.headers.get("content-encoding"), null);
    assert.equal(await brOnly.text(), CSS);
    const plain = await get(h, "/plain.css", { "accept-encoding": "br, gzip" });
    assert.equal(plain.headers.get("content-encoding"), null);
    assert.equal(plain.headers.get("vary"), null);
    assert.equal(await plain.text(), CSS);
  } finally {
    await h.close();
  }
});
