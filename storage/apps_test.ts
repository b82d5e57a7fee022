import assert from "node:assert/strict";
import { sha256Hex } from "../lib/secrets.ts";
import { MissingContentError, type NewFile, Storage } from "./mod.ts";

const te = new TextEncoder();

function file(path: string, text: string): NewFile {
  const data = te.encode(text);
  return { path, data, hash: sha256Hex(data) };
}

/** Everything a reader of the app's versions could see. */
function snapshot(s: Storage, name: string) {
  const app = s.apps.get(name);
  const count = (table: string) => s.db.get<{ n: number }>(`SELECT COUNT(*) AS n FROM ${table}`)!.n;
  return {
    app: app && { live: app.live_version, updated: app.updated_at },
    versions: app ? s.apps.versions(app.id).map((v) => v.number) : [],
    files: app?.live_version ? s.apps.files(app.id, app.live_version) : [],
    rows: ["apps", "versions", "files", "contents", "builds"].map(count),
  };
}

/** Makes the next write of `what` fail inside SQLite, as a full disk or a bug would. */
function failOn(s: Storage, what: string): () => void {
  s.db.exec(`CREATE TEMP TRIGGER injected_failure ${what}
    BEGIN SELECT RAISE(ABORT, 'injected failure'); END`);
  return () => s.db.exec("DROP TRIGGER injected_failure");
}

const BUILD = { style: "module" as const, entry: "api/main.ts", code: "export default 1" };

Deno.test("a version that fails half-way leaves the live version and the version list as they were", () => {
  const s = Storage.open(":memory:");
  try {
    s.apps.createVersion("site", [file("index.html", "v1")], { keep: 10 });
    const before = snapshot(s, "site");
    assert.equal(before.app?.live, 1);
    const next = [file("index.html", "v2"), file("new.txt", "new content")];
    const failures: [string, () => void][] = [
      // Two files with one path: the files loop fails after the version row and a file.
      [
        "a duplicate path",
        () => s.apps.createVersion("site", [...next, file("index.html", "again")], { keep: 10 }),
      ],
      // After the version and every file, before the pointer moves.
      ["writing the build", () => {
        const undo = failOn(s, "BEFORE INSERT ON builds");
        try {
          s.apps.createVersion("site", next, { keep: 10, build: BUILD, manifest: "{}" });
        } finally {
          undo();
        }
      }],
      // The very last step: the live pointer.
      ["moving the live pointer", () => {
        const undo = failOn(s, "BEFORE UPDATE OF live_version ON apps");
        try {
          s.apps.createVersion("site", next, { keep: 10 });
        } finally {
          undo();
        }
      }],
      // Pruning, after the new version is live.
      ["pruning", () => {
        const undo = failOn(s, "BEFORE DELETE ON versions");
        try {
          s.apps.createVersion("site", next, { keep: 1 });
        } finally {
          undo();
        }
      }],
    ];
    for (const [what, fail] of failures) {
      assert.throws(fail, /injected failure|UNIQUE constraint failed: files/, what);
      assert.deepEqual(snapshot(s, "site"), before, `failing at ${what} changed something`);
    }
    // Nothing was burnt either: the next version is number 2.
    const { version } = s.apps.createVersion("site", next, { keep: 10 });
    assert.equal(version.number, 2);
    assert.equal(s.apps.get("site")!.live_version, 2);
  } finally {
    s.close();
  }
});

Deno.test("a first version that fails half-way leaves no app behind", () => {
  const s = Storage.open(":memory:");
  try {
    const undo = failOn(s, "BEFORE INSERT ON files");
    assert.throws(() => s.apps.createVersion("fresh", [file("a.txt", "a")], { keep: 10 }));
    undo();
    assert.equal(s.apps.get("fresh"), undefined);
    assert.deepEqual(snapshot(s, "fresh").rows, [0, 0, 0, 0, 0]);
  } finally {
    s.close();
  }
});

Deno.test("versions are numbered past every earlier one, pruned to keep, the live one always kept", () => {
  const s = Storage.open(":memory:");
  try {
    const id = () => s.apps.get("site")!.id;
    for (let i = 1; i <= 4; i++) {
      const { version } = s.apps.createVersion("site", [file("i", `v${i}`)], { keep: 2 });
      assert.equal(version.number, i);
      assert.equal(version.file_count, 1);
      assert.equal(version.bytes, 2);
    }
    assert.deepEqual(s.apps.versions(id()).map((v) => v.number), [4, 3]);
    // Numbers continue after pruning (never reused by a count of what is left).
    const five = s.apps.createVersion("site", [file("i", "v5"), file("j", "four")], { keep: 2 });
    assert.deepEqual([five.version.number, five.version.file_count, five.version.bytes], [5, 2, 6]);
    // Back to 4, then drafts: 4 stays as long as it is live, however old.
    s.apps.setLive(id(), 4);
    for (let i = 6; i <= 8; i++) {
      s.apps.createVersion("site", [file("i", `v${i}`)], { keep: 2, draft: true });
    }
    assert.equal(s.apps.get("site")!.live_version, 4, "drafts do not go live");
    assert.deepEqual(s.apps.versions(id()).map((v) => v.number), [8, 7, 4]);
    assert.deepEqual(
      s.apps.files(id(), 4).map((f) => s.apps.content(f.hash)),
      [te.encode("v4")],
    );
  } finally {
    s.close();
  }
});

Deno.test("content is stored once, kept while any version uses it, dropped after", () => {
  const s = Storage.open(":memory:");
  const contents = () => s.db.get<{ n: number }>("SELECT COUNT(*) AS n FROM contents")!.n;
  try {
    const shared = file("shared.txt", "the same bytes");
    s.apps.createVersion("a", [shared, file("one.txt", "1")], { keep: 1 });
    s.apps.createVersion("b", [{ ...shared, path: "copy.txt" }], { keep: 1 });
    assert.equal(contents(), 2, "one row per distinct content");
    assert.deepEqual(
      s.apps.storedHashes([shared.hash, sha256Hex(te.encode("x"))]),
      new Set([shared.hash]),
    );
    // `a` moves on (keep 1 prunes its first version): `one.txt` goes, `shared` stays for `b`.
    s.apps.createVersion("a", [file("two.txt", "2")], { keep: 1 });
    assert.equal(s.apps.content(file("one.txt", "1").hash), undefined);
    assert.deepEqual(s.apps.content(shared.hash), shared.data);
    assert.equal(contents(), 2);
    assert.ok(s.apps.delete("b"));
    assert.equal(s.apps.content(shared.hash), undefined, "nobody uses it any more");
    assert.ok(s.apps.delete("a"));
    assert.equal(contents(), 0);
    assert.equal(s.apps.delete("a"), false);
  } finally {
    s.close();
  }
});

Deno.test("versions list newest first; compressed variants are kept per encoding", () => {
  const s = Storage.open(":memory:");
  try {
    const f = file("style.css", "body{}");
    const gzip = new Uint8Array([1, 2]);
    const br = new Uint8Array([3]);
    s.apps.createVersion("site", [{ ...f, gzip, br }], { keep: 5, deployedBy: "ci" });
    s.apps.createVersion("site", [f], { keep: 5 });
    const id = s.apps.get("site")!.id;
    const versions = s.apps.versions(id);
    assert.deepEqual(versions.map((v) => [v.number, v.deployed_by]), [[2, null], [1, "ci"]]);
    assert.deepEqual(s.apps.content(f.hash, "gzip"), gzip);
    assert.deepEqual(s.apps.content(f.hash, "br"), br);
    assert.deepEqual({ ...s.apps.files(id, 2)[0] }, {
      path: "style.css",
      hash: f.hash,
      size: 6,
      gzip_size: 2,
      br_size: 1,
    });
  } finally {
    s.close();
  }
});

Deno.test("a version's manifest is kept with or without server code", () => {
  const s = Storage.open(":memory:");
  try {
    const { app } = s.apps.createVersion("site", [file("i", "1")], {
      keep: 5,
      manifest: '{"routes": ["/x"]}',
    });
    assert.deepEqual(s.apps.serverInfo(app.id, 1), {
      hasBuild: false,
      manifest: '{"routes": ["/x"]}',
    });
    assert.equal(s.apps.build(app.id, 1), undefined);
    s.apps.createVersion("site", [file("i", "2")], { keep: 5, build: BUILD });
    assert.deepEqual(s.apps.serverInfo(app.id, 2), { hasBuild: true, manifest: undefined });
    assert.deepEqual(s.apps.build(app.id, 2), BUILD);
    s.apps.createVersion("site", [file("i", "3")], { keep: 5 });
    assert.deepEqual(s.apps.serverInfo(app.id, 3), { hasBuild: false, manifest: undefined });
  } finally {
    s.close();
  }
});

Deno.test("contents written ahead of a version: chunked, sealed, and dropped unless used", () => {
  const s = Storage.open(":memory:");
  try {
    const h = (c: string) => c.repeat(64);
    // A chunked content is not stored until sealed.
    s.apps.putChunk(h("a"), 0, te.encode("hello "));
    s.apps.putChunk(h("a"), 1, te.encode("world"));
    assert.deepEqual([...s.apps.storedHashes([h("a")])], []);
    assert.throws(
      () => s.apps.createVersion("site", [{ path: "a.txt", hash: h("a") }], { keep: 5 }),
      (err) => err instanceof MissingContentError && err.hashes[0] === h("a"),
    );
    assert.equal(s.apps.get("site"), undefined, "a version with missing content writes nothing");
    s.apps.sealChunked(h("a"), 11, 2);
    s.apps.putContent(h("b"), te.encode("whole"));
    s.apps.putContent(h("c"), te.encode("never used"));
    const { version } = s.apps.createVersion("site", [
      { path: "a.txt", hash: h("a") },
      { path: "b.txt", hash: h("b") },
    ], { keep: 5 });
    assert.equal(version.bytes, 11 + 5);
    assert.deepEqual(s.apps.contentInfo(h("a")), { size: 11, chunks: 2 });
    assert.equal(new TextDecoder().decode(s.apps.content(h("a"))), "hello world");
    assert.equal(new TextDecoder().decode(s.apps.contentChunk(h("a"), 1)), "world");
    // Leftovers of a deploy that never wrote its version: a content and loose chunks.
    s.apps.putChunk(h("d"), 0, te.encode("loose"));
    s.apps.dropContents([h("b"), h("c")]);
    assert.deepEqual([...s.apps.storedHashes([h("b"), h("c")])], [h("b")], "b is used");
    s.apps.putContent(h("e"), te.encode("orphan"));
    assert.equal(s.apps.dropOrphans(), 1);
    assert.equal(s.apps.contentChunk(h("d"), 0), undefined);
    assert.equal(new TextDecoder().decode(s.apps.content(h("a"))), "hello world", "used: kept");
    // Chunks go with their content.
    s.apps.delete("site");
    assert.equal(s.apps.contentChunk(h("a"), 0), undefined);
  } finally {
    s.close();
  }
});

Deno.test("a build's source map is stored apart and never loaded with its code", () => {
  const s = Storage.open(":memory:");
  try {
    const map = '{"version":3,"sources":["api/main.ts"],"mappings":"AAAA"}';
    const { app } = s.apps.createVersion("site", [file("i", "1")], {
      keep: 5,
      build: { ...BUILD, sourceMap: map },
    });
    assert.deepEqual(s.apps.build(app.id, 1), BUILD);
    assert.equal(s.apps.sourceMap(app.id, 1), map);
    const raw = s.db.get<{ build: string }>("SELECT build FROM builds WHERE app_id = ?", app.id)!;
    assert.ok(!raw.build.includes("mappings"), "the map is not in the build's JSON");
    s.apps.createVersion("site", [file("i", "2")], { keep: 5, build: BUILD });
    assert.equal(s.apps.sourceMap(app.id, 2), undefined);
    assert.equal(s.apps.sourceMap(app.id, 9), undefined);
  } finally {
    s.close();
  }
});

Deno.test("each version records when it was last live: deploys, drafts and rollbacks", () => {
  const s = Storage.open(":memory:");
  try {
    const id = () => s.apps.get("site")!.id;
    const periods = () =>
      Object.fromEntries(
        s.apps.versions(id()).map((v) => [v.number, [v.live_from !== null, v.live_until !== null]]),
      );
    s.apps.createVersion("site", [file("i", "v1")], { keep: 10 });
    s.apps.createVersion("site", [file("i", "v2")], { keep: 10 });
    s.apps.createVersion("site", [file("i", "v3")], { keep: 10, draft: true });
    // v1 was live and stopped, v2 is live (no end), v3 a draft (never live).
    assert.deepEqual(periods(), { 1: [true, true], 2: [true, false], 3: [false, false] });
    const v2 = s.apps.version(id(), 2)!;
    assert.equal(s.apps.version(id(), 1)!.live_until, v2.live_from, "one ends as the next begins");

    s.apps.setLive(id(), 1);
    // After a rollback, v2 was live (not a draft), v1 is live again, v3 still a draft.
    assert.deepEqual(periods(), { 1: [true, false], 2: [true, true], 3: [false, false] });
    assert.ok(s.apps.version(id(), 1)!.live_from! >= v2.live_from!, "the new period is recorded");

    // Setting the live version again changes nothing.
    const before = s.apps.versions(id());
    s.apps.setLive(id(), 1);
    assert.deepEqual(s.apps.versions(id()), before);

    s.apps.setLive(id(), 3);
    assert.deepEqual(periods(), { 1: [true, true], 2: [true, true], 3: [true, false] });
  } finally {
    s.close();
  }
});
