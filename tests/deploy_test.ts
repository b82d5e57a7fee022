import assert from "node:assert/strict";
import { buildZip } from "./zip_builder.ts";
import { makeZip, randomBytes, withTestNode } from "./helpers.ts";

const withNode = withTestNode;

const SITE = {
  "index.html": "<h1>home</h1>",
  "about.html": "<h1>about</h1>",
  "docs/index.html": "<h1>docs</h1>",
  "docs/deep/page.html": "<p>deep</p>",
  "404.html": "<h1>custom 404</h1>",
  "200.html": "<div id=app></div>",
  "café/ñandú.txt": "unicode ok",
  "日本語.html": "<p>こんにちは</p>",
};

Deno.test("deploy a raw ZIP, then serve it by Host header", async () => {
  await withNode(async (node) => {
    const { status, body } = await node.deploy("blog", await makeZip(SITE));
    assert.equal(status, 201);
    assert.equal(body.data.app, "blog");
    assert.equal(body.data.version, 1);
    assert.equal(body.data.files, Object.keys(SITE).length);
    assert.equal(body.data.url, `http://blog.localhost:${node.server.port}`);
    const res = await node.fetch("/", { host: "blog.localhost" });
    assert.equal(res.status, 200);
    assert.equal(await res.text(), SITE["index.html"]);
    assert.equal(res.headers.get("content-type"), "text/html; charset=utf-8");
    // The same app on the node's own domain form works too.
    const other = await node.fetch("/about", { host: `blog.localhost:${node.server.port}` });
    assert.equal(await other.text(), SITE["about.html"]);
  });
});

Deno.test("deploy as multipart with site_name and file, like the original", async () => {
  await withNode(async (node) => {
    const form = new FormData();
    form.set("site_name", "Shop.localhost");
    form.set("file", new File([await makeZip({ "index.html": "shop" })], "site.zip"));
    const res = await node.fetch("/api/deploy", { method: "POST", body: form });
    assert.equal(res.status, 201);
    const body = await res.json();
    assert.equal(body.data.app, "shop");
    assert.equal(await (await node.fetch("/", { host: "shop.localhost" })).text(), "shop");
  });
});

Deno.test("every file of a site round-trips exactly, names included", async () => {
  await withNode(async (node) => {
    const binary = randomBytes(70_000);
    await node.deploy("exact", await makeZip({ ...SITE, "img/noise.bin": binary }));
    for (const [path, content] of Object.entries(SITE)) {
      const res = await node.fetch("/" + path.split("/").map(encodeURIComponent).join("/"), {
        host: "exact.localhost",
      });
      assert.equal(res.status, 200, path);
      assert.equal(await res.text(), content, path);
    }
    const res = await node.fetch("/img/noise.bin", { host: "exact.localhost" });
    assert.deepEqual(new Uint8Array(await res.arrayBuffer()), binary);
    const app = node.storage.apps.get("exact")!;
    const paths = node.storage.apps.files(app.id, 1).map((f) => f.path).sort();
    assert.deepEqual(paths, [...Object.keys(SITE), "img/noise.bin"].sort());
  });
});

Deno.test("a single top folder is stripped; __MACOSX and .DS_Store are dropped", async () => {
  await withNode(async (node) => {
    const zip = await makeZip({
      "mysite/index.html": "top",
      "mysite/css/a.css": "body{}",
      "mysite/.DS_Store": "junk",
      "__MACOSX/mysite/._index.html": "junk",
    });
    const { status, body } = await node.deploy("strip", zip);
    assert.equal(status, 201);
    assert.equal(body.data.files, 2);
    const app = node.storage.apps.get("strip")!;
    assert.deepEqual(node.storage.apps.files(app.id, 1).map((f) => f.path), [
      "css/a.css",
      "index.html",
    ]);
  });
});

/** Every refusal: a 4xx envelope, the old version still served, no new rows. */
const REFUSALS: {
  name: string;
  zip: () => Uint8Array<ArrayBuffer> | Promise<Uint8Array<ArrayBuffer>>;
  status: number;
  constraint: string;
}[] = [
  {
    name: "dot-dot segment",
    zip: () => buildZip([{ name: "a/../../etc/x", data: "x" }]),
    status: 400,
    constraint: "safe_path",
  },
  {
    name: "absolute path",
    zip: () => buildZip([{ name: "/etc/passwd", data: "x" }]),
    status: 400,
    constraint: "safe_path",
  },
  {
    name: "drive letter",
    zip: () => buildZip([{ name: "C:/x.txt", data: "x" }]),
    status: 400,
    constraint: "safe_path",
  },
  {
    name: "backslash",
    zip: () => buildZip([{ name: "a\\b.txt", data: "x" }]),
    status: 400,
    constraint: "safe_path",
  },
  {
    name: "NUL byte",
    zip: () => buildZip([{ name: "a\0.html", data: "x" }]),
    status: 400,
    constraint: "safe_path",
  },
  {
    name: "symlink entry",
    zip: () =>
      buildZip([{ name: "index.html", data: "x" }, {
        name: "link",
        data: "/etc/passwd",
        unixMode: 0o120777,
      }]),
    status: 400,
    constraint: "no_symlinks",
  },
  {
    name: "duplicate paths",
    zip: () => buildZip([{ name: "index.html", data: "a" }, { name: "index.html", data: "b" }]),
    status: 400,
    constraint: "unique_paths",
  },
  {
    name: "duplicates after stripping the top folder",
    zip: () => buildZip([{ name: "s/a.html", data: "a" }, { name: "s/a.html", data: "b" }]),
    status: 400,
    constraint: "unique_paths",
  },
  {
    name: "encrypted entry",
    zip: () => buildZip([{ name: "index.html", data: "secret", encrypted: true }]),
    status: 400,
    constraint: "no_encryption",
  },
  {
    name: "too many files",
    zip: () =>
      makeZip(Object.fromEntries(Array.from({ length: 21 }, (_, i) => [`f${i}.txt`, "x"]))),
    status: 413,
    constraint: "max_files",
  },
  {
    name: "too many bytes unpacked",
    zip: () => makeZip({ "a.bin": randomBytes(40_000), "b.bin": randomBytes(40_000) }),
    status: 413,
    constraint: "max_unpacked_bytes",
  },
  {
    name: "zip bomb (ratio)",
    zip: () => makeZip({ "index.html": "ok", "bomb.txt": new Uint8Array(3 * 1024 * 1024) }, 9),
    status: 400,
    constraint: "zip_bomb",
  },
  {
    // Real bytes past the declared size are caught while streaming.
    name: "zip bomb whose headers claim a tiny size",
    zip: () =>
      buildZip([{
        name: "index.html",
        data: new Uint8Array(3 * 1024 * 1024),
        deflate: true,
        declaredSize: 10,
      }]),
    status: 400,
    constraint: "zip",
  },
  {
    name: "corrupt archive",
    zip: () => new TextEncoder().encode("PK\x03\x04 this is not a zip"),
    status: 400,
    constraint: "zip",
  },
  {
    name: "corrupt entry data (bad CRC)",
    zip: () => {
      const zip = buildZip([{ name: "index.html", data: "hello world" }]);
      zip[30 + "index.html".length] ^= 0xff;
      return zip;
    },
    status: 400,
    constraint: "zip",
  },
  { name: "empty archive", zip: () => buildZip([]), status: 400, constraint: "not_empty" },
];

for (const refusal of REFUSALS) {
  Deno.test(`refused archive: ${refusal.name}`, async () => {
    const limits = {
      max_files: 20,
      max_unpacked_bytes: refusal.constraint === "zip_bomb" ? 10_000_000 : 60_000,
    };
    await withNode(async (node) => {
      assert.equal((await node.deploy("site", await makeZip({ "index.html": "v1" }))).status, 201);
      const tables = ["apps", "versions", "files", "contents", "content_chunks", "builds"];
      const before = tables.map((t) => node.count(t));
      const { status, body } = await node.deploy("site", await refusal.zip());
      assert.equal(status, refusal.status, JSON.stringify(body));
      assert.equal(body.error.details.constraint, refusal.constraint);
      assert.equal(body.error.details.field, "file");
      assert.match(body.error.code, /^(VALIDATION_FAILED|PAYLOAD_TOO_LARGE)$/);
      assert.ok(!JSON.stringify(body).includes(node.dir), "no server paths leak");
      const after = tables.map((t) => node.count(t));
      assert.deepEqual(after, before, "nothing was written");
      const res = await node.fetch("/", { host: "site.localhost" });
      assert.equal(await res.text(), "v1", "the old version still serves");
    }, limits);
  });
}

Deno.test("a refused archive for a new app creates no app", async () => {
  await withNode(async (node) => {
    const { status } = await node.deploy("fresh", buildZip([{ name: "../x", data: "x" }]));
    assert.equal(status, 400);
    assert.equal(node.count("apps"), 0);
    assert.equal((await node.fetch("/", { host: "fresh.localhost" })).status, 404);
  });
});

Deno.test("a deploy that fails while writing leaves the live version and its list as they were", async () => {
  // Every refusal above happens before anything is written; this one fails
  // inside the write itself (after the version row and its files), as a full
  // disk would.
  await withNode(async (node) => {
    await node.deploy("site", await makeZip({ "index.html": "v1" }));
    const describe = async () => (await (await node.fetch("/api/apps/site")).json()).data;
    const before = await describe();
    const rows = () => ["versions", "files", "contents"].map((t) => node.count(t));
    const counts = rows();
    node.storage.db.exec(`CREATE TEMP TRIGGER injected_failure
      BEFORE UPDATE OF live_version ON apps BEGIN SELECT RAISE(ABORT, 'disk full'); END`);
    const failed = await node.deploy("site", await makeZip({ "index.html": "v2", "new.txt": "n" }));
    assert.equal(failed.status, 500);
    assert.equal(failed.body.error.code, "INTERNAL_ERROR");
    assert.ok(!JSON.stringify(failed.body).includes("disk full"), "no SQL error leaks");
    assert.deepEqual(await describe(), before, "live version and version list unchanged");
    assert.deepEqual(rows(), counts, "nothing half-written");
    assert.equal(await (await node.fetch("/", { host: "site.localhost" })).text(), "v1");
    assert.equal((await node.fetch("/new.txt", { host: "site.localhost" })).status, 404);
    node.storage.db.exec("DROP TRIGGER injected_failure");
    const ok = await node.deploy("site", await makeZip({ "index.html": "v2" }));
    assert.equal(ok.body.data.version, 2, "no version number was used up");
    assert.equal(await (await node.fetch("/", { host: "site.localhost" })).text(), "v2");
  });
});

Deno.test("bad deploy requests: name rules, media type, upload size", async () => {
  await withNode(async (node) => {
    const zip = await makeZip({ "index.html": "x" });
    for (
      const [name, constraint] of [
        ["", "required"],
        ["Bad_Name", "pattern"],
        ["admin", "reserved"],
        ["www", "reserved"],
        ["a--b", "no_double_hyphen"],
        ["-lead", "pattern"],
        ["x".repeat(64), "max_length"],
      ]
    ) {
      const { status, body } = await node.deploy(name, zip);
      assert.equal(status, 400, name);
      assert.equal(body.error.code, "VALIDATION_FAILED");
      assert.equal(body.error.details.field, "name");
      assert.equal(body.error.details.constraint, constraint, name);
    }
    const wrongType = await node.fetch("/api/deploy?name=ok", {
      method: "POST",
      body: "hi",
      headers: { "content-type": "text/plain" },
    });
    assert.equal(wrongType.status, 415);
    assert.equal((await wrongType.json()).error.code, "UNSUPPORTED_MEDIA_TYPE");
    const noFile = new FormData();
    noFile.set("site_name", "ok");
    const missing = await node.fetch("/api/deploy", { method: "POST", body: noFile });
    assert.equal(missing.status, 400);
    assert.equal((await missing.json()).error.details.field, "file");
    assert.equal(node.count("apps"), 0);
  });
  await withNode(async (node) => {
    const big = await makeZip({ "a.bin": randomBytes(5000) });
    const { status, body } = await node.deploy("big", big);
    assert.equal(status, 413);
    assert.equal(body.error.code, "PAYLOAD_TOO_LARGE");
    assert.equal(node.count("apps"), 0);
  }, { max_upload_bytes: 2048 });
});
