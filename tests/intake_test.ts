/**
 * Archive intake end to end: spooled uploads, large files stored and served
 * as chunks, ZIP64, and refusals that change nothing (the index cap is per
 * app). Memory under hostile archives is in intake_memory_test.ts.
 */
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { sha256Hex } from "../lib/secrets.ts";
import { writeZip } from "../lib/zip_writer.ts";
import { buildZip } from "./zip_builder.ts";
import { makeZip, randomBytes, type TestNode, withTestNode } from "./helpers.ts";

const MiB = 1024 * 1024;

/** Everything a deploy may write, counted: a refused one must leave all of it as it was. */
export function footprint(node: TestNode): Record<string, number> {
  const out: Record<string, number> = {};
  for (
    const t of ["apps", "versions", "files", "contents", "content_chunks", "builds", "doc_indexes"]
  ) {
    out[t] = node.count(t);
  }
  out.field_indexes = node.storage.db.get<{ n: number }>(
    "SELECT COUNT(*) AS n FROM sqlite_master WHERE type = 'index' AND name LIKE 'docs\\_f\\_%' ESCAPE '\\'",
  )!.n;
  return out;
}

/** The spool folder holds nothing once every request is answered. */
async function spoolFiles(node: TestNode): Promise<string[]> {
  const names: string[] = [];
  try {
    for await (const e of Deno.readDir(`${node.dir}/tmp`)) names.push(e.name);
  } catch (err) {
    if (!(err instanceof Deno.errors.NotFound)) throw err;
  }
  return names;
}

async function get(node: TestNode, app: string, path: string, headers: HeadersInit = {}) {
  const res = await node.fetch(path, { host: `${app}.localhost`, headers });
  return { res, body: new Uint8Array(await res.arrayBuffer()) };
}

Deno.test("a large file is stored as chunks and served whole, in ranges and streamed", async () => {
  const big = randomBytes(5 * MiB + 123);
  // Text that compresses (hex digits) but is no bomb.
  const text = new TextEncoder().encode(Buffer.from(randomBytes(1.5 * MiB)).toString("hex"));
  for (const cache_bytes of [0, 64 * MiB]) {
    await withTestNode(async (node) => {
      const zip = await writeZip([
        { path: "big.bin", data: big, compress: true },
        { path: "big.txt", data: text, compress: true },
        { path: "index.html", data: new TextEncoder().encode("hi"), compress: true },
      ]);
      const r = await node.deploy("site", zip);
      assert.equal(r.status, 201, JSON.stringify(r.body));
      assert.equal(r.body.data.bytes, big.length + text.length + 2);
      assert.equal(node.count("content_chunks"), 6 + 3, "5 MiB + 123 in 6 chunks, 3 MiB in 3");
      const whole = await get(node, "site", "/big.bin");
      assert.equal(whole.res.status, 200);
      assert.equal(whole.res.headers.get("content-length"), String(big.length));
      assert.equal(sha256Hex(whole.body), sha256Hex(big), `cache_bytes ${cache_bytes}`);
      // A range across a chunk boundary, and one at the very end.
      const span = await get(node, "site", "/big.bin", { range: `bytes=${MiB - 10}-${MiB + 9}` });
      assert.equal(span.res.status, 206);
      assert.deepEqual(span.body, big.subarray(MiB - 10, MiB + 10));
      const tail = await get(node, "site", "/big.bin", { range: "bytes=-5" });
      assert.deepEqual(tail.body, big.subarray(big.length - 5));
      const head = await node.fetch("/big.bin", { host: "site.localhost", method: "HEAD" });
      assert.equal(head.headers.get("content-length"), String(big.length));
      await head.body?.cancel();
      // Compressible and under compress_max_bytes: chunked, with whole variants.
      const gz = await get(node, "site", "/big.txt", { "accept-encoding": "gzip" });
      assert.equal(gz.res.headers.get("content-encoding"), "gzip");
      const plain = await get(node, "site", "/big.txt");
      assert.deepEqual(plain.body, text);
      const app = node.storage.apps.get("site")!;
      const meta = node.storage.apps.files(app.id, 1).find((f) => f.path === "big.bin")!;
      assert.equal(meta.size, big.length);
      assert.deepEqual(node.storage.apps.content(meta.hash), big, "joined again for API readers");
      assert.deepEqual(await spoolFiles(node), [], "the upload's spool file is gone");
    }, { cache_bytes });
  }
});

Deno.test("files over compress_max_bytes are stored without variants", async () => {
  await withTestNode(async (node) => {
    const css = new TextEncoder().encode("body{color:red}\n".repeat(200_000)); // 3.2 MB
    const r = await node.deploy(
      "site",
      await makeZip({ "a.css": css, "b.css": "b{}".repeat(200) }),
    );
    assert.equal(r.status, 201);
    const app = node.storage.apps.get("site")!;
    const metas = node.storage.apps.files(app.id, 1);
    assert.deepEqual(metas.map((f) => [f.path, f.gzip_size !== null, f.br_size !== null]), [
      ["a.css", false, false],
      ["b.css", true, true],
    ]);
    assert.deepEqual((await get(node, "site", "/a.css", { "accept-encoding": "br" })).body, css);
  }, { compress_max_bytes: MiB });
});

Deno.test("ZIP64 archives deploy", async () => {
  await withTestNode(async (node) => {
    const zip = buildZip([
      { name: "index.html", data: "<p>64</p>", zip64: true },
      { name: "app.js", data: "console.log(1);".repeat(100), deflate: true, zip64: true },
    ], { zip64: true });
    const r = await node.deploy("wide", zip);
    assert.equal(r.status, 201, JSON.stringify(r.body));
    assert.equal(new TextDecoder().decode((await get(node, "wide", "/")).body), "<p>64</p>");
  });
});

Deno.test("multipart deploys are spooled: the file part in any position, large or not", async () => {
  await withTestNode(async (node) => {
    const big = randomBytes(3 * MiB);
    const zip = await makeZip({ "index.html": "multi", "big.bin": big });
    const form = new FormData();
    form.set("file", new File([zip], "site.zip"));
    form.set("site_name", "late-name"); // after the file
    const res = await node.fetch("/api/deploy", { method: "POST", body: form });
    assert.equal(res.status, 201, await res.clone().text());
    assert.equal((await res.json()).data.app, "late-name");
    assert.equal(sha256Hex((await get(node, "late-name", "/big.bin")).body), sha256Hex(big));
    // A text field called `file` is not a file.
    const wrong = new FormData();
    wrong.set("site_name", "x");
    wrong.set("file", "not a file");
    const refused = await node.fetch("/api/deploy", { method: "POST", body: wrong });
    assert.equal(refused.status, 400);
    assert.equal((await refused.json()).error.details.field, "file");
    // A body cut before its closing boundary.
    const cut = await node.fetch("/api/deploy", {
      method: "POST",
      body: '--zz\r\ncontent-disposition: form-data; name="file"; filename="a.zip"\r\n\r\nPK',
      headers: { "content-type": "multipart/form-data; boundary=zz" },
    });
    assert.equal(cut.status, 400);
    assert.equal((await cut.json()).error.code, "BAD_REQUEST");
    assert.deepEqual(await spoolFiles(node), []);
  });
  // Past max_upload_bytes (+ the framing allowance): 413 while spooling, nothing left.
  await withTestNode(async (node) => {
    const form = new FormData();
    form.set("site_name", "big");
    form.set("file", new File([randomBytes(200_000)], "site.zip"));
    const res = await node.fetch("/api/deploy", { method: "POST", body: form });
    assert.equal(res.status, 413);
    assert.equal((await res.json()).error.code, "PAYLOAD_TOO_LARGE");
    assert.deepEqual(await spoolFiles(node), []);
    assert.equal(node.count("apps"), 0);
  }, { max_upload_bytes: 100_000 });
});

Deno.test("deploys sent at once are stored one after the other, sharing content", async () => {
  await withTestNode(async (node) => {
    const shared = randomBytes(2 * MiB);
    const results = await Promise.all(
      ["a", "b", "c", "a"].map(async (name, i) =>
        node.deploy(name, await makeZip({ "shared.bin": shared, "own.txt": `${name}${i}` }))
      ),
    );
    assert.deepEqual(results.map((r) => r.status), [201, 201, 201, 201]);
    assert.equal(node.count("contents"), 1 + 4, "the shared file is stored once");
    assert.equal(node.count("content_chunks"), 2);
    for (const name of ["a", "b", "c"]) {
      assert.equal(sha256Hex((await get(node, name, "/shared.bin")).body), sha256Hex(shared));
    }
  });
});

Deno.test("contents a crashed deploy left are removed by the next one", async () => {
  await withTestNode(async (node) => {
    // What a deploy cut short leaves: chunks without a content row, and a
    // content row no version uses.
    node.storage.apps.putChunk("f".repeat(64), 0, new Uint8Array(10));
    node.storage.apps.putContent("e".repeat(64), new Uint8Array(10));
    assert.equal(node.count("contents"), 1);
    assert.equal((await node.deploy("site", await makeZip({ "index.html": "x" }))).status, 201);
    assert.equal(node.count("contents"), 1, "only the new file's");
    assert.equal(node.count("content_chunks"), 0);
  });
});

const manifest = (indexes: Record<string, string[]>) => JSON.stringify({ indexes }) as string;

Deno.test("the index cap is per app: one app's indexes never refuse another's deploy", async () => {
  await withTestNode(async (node) => {
    const deploy = async (name: string, fields: string[], extra: Record<string, string> = {}) =>
      node.deploy(
        name,
        await makeZip({
          "manifest.json": manifest({ items: fields }),
          "index.html": `${name} ${fields.join(",")}`,
          ...extra,
        }),
      );
    // The first app takes its whole cap.
    assert.equal((await deploy("first", ["a", "b", "c"])).status, 201);
    // Before, one node-wide cap: this deploy failed with 500 after going live.
    const second = await deploy("second", ["x", "y"]);
    assert.equal(second.status, 201, JSON.stringify(second.body));
    assert.equal(footprint(node).field_indexes, 5);
    // An app may change its fields (what its older versions declared is forgotten)…
    assert.equal((await deploy("first", ["d", "e", "f"])).status, 201);
    assert.equal(footprint(node).field_indexes, 5, "indexes nobody declares are dropped");
    // …but not declare more than its cap: refused, with nothing written.
    const before = footprint(node);
    const over = await deploy("second", ["x", "y", "z", "w"]);
    assert.equal(over.status, 400);
    assert.equal(over.body.error.code, "VALIDATION_FAILED");
    assert.deepEqual(over.body.error.details, { field: "manifest", constraint: "max_indexes" });
    assert.deepEqual(footprint(node), before, "nothing written");
    const live = await get(node, "second", "/");
    assert.equal(new TextDecoder().decode(live.body), "second x,y", "the live version stays");
    assert.equal(node.storage.apps.get("second")!.live_version, 1);
  }, { app_max_indexes: 3 });
});

Deno.test("every refused deploy leaves the live version live and writes nothing", async () => {
  const refusals: [string, () => Promise<Uint8Array<ArrayBuffer>>, string][] = [
    ["bad manifest", () => makeZip({ "manifest.json": "{nope", "index.html": "x" }), "manifest"],
    [
      "index field",
      () => makeZip({ "manifest.json": manifest({ c: ["bad field!"] }), "index.html": "x" }),
      "manifest",
    ],
    [
      "over the index cap",
      () => makeZip({ "manifest.json": manifest({ c: ["a", "b", "c"] }), "index.html": "x" }),
      "manifest",
    ],
    [
      "server code that does not compile",
      () => makeZip({ "api/main.ts": "export default (", "index.html": "x" }),
      "file",
    ],
    ["a corrupt large file", async () => {
      const zip = await writeZip([{
        path: "big.bin",
        data: randomBytes(3 * MiB),
        compress: false,
      }]);
      zip[100_000] ^= 1; // in the data: the checksum fails
      return zip;
    }, "file"],
    [
      "a lying size",
      () =>
        Promise.resolve(buildZip([{
          name: "a.bin",
          data: new Uint8Array(2 * MiB),
          deflate: true,
          declaredSize: MiB,
        }])),
      "file",
    ],
  ];
  await withTestNode(async (node) => {
    const v1 = await makeZip({
      "index.html": "v1",
      "big.bin": randomBytes(2 * MiB),
      "manifest.json": manifest({ c: ["a"] }),
    });
    assert.equal((await node.deploy("site", v1)).status, 201);
    for (const [label, zip, field] of refusals) {
      const before = footprint(node);
      const r = await node.deploy("site", await zip());
      assert.equal(r.status, 400, `${label}: ${JSON.stringify(r.body)}`);
      assert.equal(r.body.error.details.field, field, label);
      assert.deepEqual(footprint(node), before, `${label}: nothing written`);
      assert.equal(new TextDecoder().decode((await get(node, "site", "/")).body), "v1", label);
      assert.equal(node.storage.apps.get("site")!.live_version, 1, label);
      assert.deepEqual(await spoolFiles(node), [], label);
    }
  }, { app_max_indexes: 2 });
});
