/**
 * Upgrades from a release feed, checked in-process: a real node on loopback
 * (its `apply` recorded, not run) reads feeds from a local release server
 * that serves a real archive built by the release task, and refuses every
 * bad feed or artifact before anything is staged. The swap, restart and
 * roll-back with real processes are in release_test.ts.
 */
import assert from "node:assert/strict";
import type { ReleaseArtifact, ReleaseFeed } from "../lib/release_feed.ts";
import type { Upgrader } from "../server/mod.ts";
import { VERSION } from "../version.ts";
import {
  releases,
  ReleaseServer,
  signedFeed,
  smallArchive,
  TARGET,
  testKey,
} from "./release_helpers.ts";
import { startTestNode, type TestNode } from "./helpers.ts";

interface Applied {
  staged: string;
  version: string;
}

interface Ctx {
  work: string;
  node: TestNode;
  host: ReleaseServer;
  applied: Applied[];
}

async function withFeedNode(fn: (ctx: Ctx) => Promise<void>): Promise<void> {
  const rel = await releases();
  const work = await Deno.makeTempDir({ prefix: "fazt-feed-" });
  await Deno.mkdir(`${work}/bin`);
  await Deno.writeTextFile(`${work}/bin/fazt.js`, "// the running program\n");
  const applied: Applied[] = [];
  const upgrader: Upgrader = {
    program: { form: "bundle", path: `${work}/bin/fazt.js` },
    apply: (staged, version) => applied.push({ staged, version }),
  };
  const node = await startTestNode({
    upgrader,
    settings: { release_public_key: rel.key.publicKeyHex },
  });
  const host = new ReleaseServer();
  await host.serveDir("/r", rel.next.dir);
  try {
    await fn({ work, node, host, applied });
  } finally {
    await host.close();
    await node.close();
    await Deno.remove(work, { recursive: true });
  }
}

function fromFeed(node: TestNode, body: Record<string, unknown>, token?: string) {
  return node.fetch("/api/upgrade", {
    method: "POST",
    body: JSON.stringify({ from: "feed", ...body }),
    headers: { "content-type": "application/json" },
    token,
  });
}

async function refusal(res: Response, status: number, code: string): Promise<string> {
  const body = await res.json();
  assert.equal(res.status, status, JSON.stringify(body));
  assert.equal(body.error?.code, code, JSON.stringify(body));
  return body.error.message;
}

const binFiles = async (work: string) =>
  (await Array.fromAsync(Deno.readDir(`${work}/bin`))).map((e) => e.name).sort();

Deno.test("a node takes a signed release for its target from the feed", () =>
  withFeedNode(async ({ work, node, host, applied }) => {
    const rel = await releases();
    const feed = host.url("/r/release.json");

    const info = await node.fetch(`/api/upgrade/release?feed=${encodeURIComponent(feed)}`);
    assert.equal(info.status, 200);
    assert.deepEqual((await info.json()).data, {
      version: VERSION,
      form: "bundle",
      target: TARGET.id,
      feed,
      available: "0.1.1",
      date: "2026-01-02T03:04:05.000Z",
      size: rel.next.archive.size,
      runtime: Deno.version.deno,
      upgrade_available: true,
      can_upgrade: true,
    });
    assert.ok(
      !host.requests.includes(`/r/${rel.next.archive.url}`),
      "a check downloads nothing but the feed",
    );

    const res = await fromFeed(node, { feed });
    assert.equal(res.status, 202, await res.clone().text());
    assert.deepEqual((await res.json()).data, { action: "restarting", from: VERSION, to: "0.1.1" });
    assert.equal(applied.length, 1);
    assert.equal(applied[0].version, "0.1.1");
    assert.ok(applied[0].staged.startsWith(`${work}/bin/`), "staged beside the program");
    assert.deepEqual(
      await Deno.readFile(applied[0].staged),
      rel.next.bundle,
      "the archive's fazt.js",
    );
    await refusal(await fromFeed(node, { feed }), 409, "UPGRADE_IN_PROGRESS");
    assert.ok(node.logs.some((l) => l.includes("0.1.1 from the release feed")));
  }));

Deno.test("the release_feed setting, {version} in it, and an exact --version", () =>
  withFeedNode(async ({ node, host, applied }) => {
    const rel = await releases();
    await refusal(await fromFeed(node, {}), 409, "NO_RELEASE_FEED");
    await refusal(await node.fetch("/api/upgrade/release"), 409, "NO_RELEASE_FEED");

    await host.serveDir("/v/0.1.1", rel.next.dir);
    node.storage.settings.set("release_feed", host.url("/v/{version}/release.json"));
    // Without a version, {version} is "latest", which this host does not have.
    await refusal(await fromFeed(node, {}), 502, "FEED_UNAVAILABLE");
    const wrong = await refusal(
      await fromFeed(node, { version: "0.1.7" }),
      502,
      "FEED_UNAVAILABLE",
    );
    assert.match(wrong, /\/v\/0\.1\.7\/release\.json answered 404/);
    const res = await fromFeed(node, { version: "0.1.1" });
    assert.equal(res.status, 202, await res.clone().text());
    assert.equal(applied.length, 1);
  }));

Deno.test("a feed without {version} offers one version only", () =>
  withFeedNode(async ({ node, host, applied }) => {
    node.storage.settings.set("release_feed", host.url("/r/release.json"));
    const message = await refusal(
      await fromFeed(node, { version: "0.1.7" }),
      404,
      "RELEASE_NOT_FOUND",
    );
    assert.match(message, /offers fazt 0\.1\.1, not 0\.1\.7/);
    const info = await (await node.fetch("/api/upgrade/release?version=0.1.1")).json();
    assert.equal(info.data.available, "0.1.1");
    await refusal(await node.fetch("/api/upgrade/release?version=x"), 400, "VALIDATION_FAILED");
    assert.equal(applied.length, 0);
  }));

Deno.test("refused before any download: insecure URLs, bad feeds, another target, unsigned, bad signatures, downgrades", () =>
  withFeedNode(async ({ work, node, host, applied }) => {
    const rel = await releases();
    const other = await testKey();
    const a = rel.next.archive;
    const archiveUrl = host.url(`/r/${a.url}`);
    const serve = (name: string, feed: ReleaseFeed) => {
      host.json(`/f/${name}.json`, feed);
      return host.url(`/f/${name}.json`);
    };
    const cases: [string, string | Record<string, unknown>, number, string, RegExp?][] = [
      ["http://example.com/release.json", {}, 400, "VALIDATION_FAILED", /https/],
      ["https://user:pw@example.com/release.json", {}, 400, "VALIDATION_FAILED", /credentials/],
      [host.url("/missing.json"), {}, 502, "FEED_UNAVAILABLE", /answered 404/],
      [host.url("/f/not-json.json"), {}, 502, "FEED_INVALID", /not JSON/],
      [host.url("/f/huge.json"), {}, 502, "FEED_UNAVAILABLE", /larger than/],
      [host.url("/f/not-fazt.json"), {}, 502, "FEED_INVALID", /not a fazt feed/],
      [
        serve("no-target", await signedFeed("0.1.1", a, { key: rel.key, targetId: "plan9-x64" })),
        {},
        409,
        "TARGET_UNAVAILABLE",
        new RegExp(`no archive for ${TARGET.id}`),
      ],
      [
        // Signed, but for another target, and listed as this one's.
        serve(
          "other-target",
          await signedFeed("0.1.1", a, {
            key: rel.key,
            change: { target: "linux-arm64" === TARGET.id ? "linux-x64" : "linux-arm64" },
          }),
        ),
        {},
        422,
        "TARGET_MISMATCH",
      ],
      [serve("unsigned", await signedFeed("0.1.1", a)), {}, 422, "SIGNATURE_REQUIRED"],
      [
        serve("other-key", await signedFeed("0.1.1", a, { key: other })),
        {},
        422,
        "SIGNATURE_INVALID",
      ],
      [
        // Signed, then another checksum written over the signed one.
        serve("changed", {
          ...await signedFeed("0.1.1", a, { key: rel.key }),
          targets: {
            [TARGET.id]: {
              ...(await signedFeed("0.1.1", a, { key: rel.key })).targets[TARGET.id],
              sha256: "0".repeat(64),
            },
          },
        }),
        {},
        422,
        "SIGNATURE_INVALID",
      ],
      [
        serve("garbled-signature", await signedFeed("0.1.1", a, { change: { signature: "%%%" } })),
        {},
        422,
        "SIGNATURE_INVALID",
      ],
      [
        serve("older", await signedFeed("0.0.9", a, { key: rel.key, change: { url: archiveUrl } })),
        {},
        409,
        "DOWNGRADE",
        /older than/,
      ],
      [
        serve(
          "other-runtime",
          await signedFeed("0.1.1", a, {
            key: rel.key,
            change: { url: archiveUrl, runtime: "2.0.0" },
          }),
        ),
        {},
        409,
        "RUNTIME_MISMATCH",
        /Deno 2\.0\.0.*install\.sh/,
      ],
      [
        serve(
          "insecure-artifact",
          await signedFeed("0.1.1", a, {
            key: rel.key,
            change: { url: "http://example.com/fazt.tar.gz" },
          }),
        ),
        {},
        502,
        "FEED_INVALID",
        /https/,
      ],
    ];
    host.files.set("/f/not-json.json", "<html>");
    host.files.set("/f/huge.json", `{"pad":"${"x".repeat(1024 * 1024)}"}`);
    host.json("/f/not-fazt.json", { format: 1, name: "other", version: "1.0.0" });
    for (const [feed, extra, status, code, pattern] of cases) {
      const res = await fromFeed(node, { feed, ...extra as Record<string, unknown> });
      const message = await refusal(res, status, code);
      if (pattern) assert.match(message, pattern, `${code}: ${message}`);
      assert.ok(!message.includes(work), "no local path in the answer");
    }
    const check = await node.fetch(
      `/api/upgrade/release?feed=${encodeURIComponent(host.url("/f/other-key.json"))}`,
    );
    await refusal(check, 422, "SIGNATURE_INVALID");
    assert.ok(!host.requests.includes(`/r/${a.url}`), "no artifact was downloaded");
    assert.deepEqual(await binFiles(work), ["fazt.js"], "nothing staged");
    assert.equal(applied.length, 0);

    const same = serve(
      "same",
      await signedFeed(VERSION, a, { key: rel.key, change: { url: archiveUrl } }),
    );
    const current = await fromFeed(node, { feed: same });
    assert.equal(current.status, 200);
    assert.deepEqual((await current.json()).data, {
      action: "already_current",
      from: VERSION,
      to: VERSION,
    });
  }));

Deno.test("refused after the download: a changed archive, a wrong size, a program that is not the version signed", () =>
  withFeedNode(async ({ work, node, host, applied }) => {
    const rel = await releases();
    const { bytes, artifact } = await smallArchive("0.1.1", rel.next.bundle);
    const tampered = bytes.slice();
    tampered[tampered.length - 100] ^= 0xff;
    host.files.set(`/t/${artifact.url}`, bytes);
    host.files.set("/t/tampered.tar.gz", tampered);
    host.files.set("/t/longer.tar.gz", new Uint8Array([...bytes, 0]));
    host.files.set("/t/shorter.tar.gz", bytes.subarray(0, bytes.byteLength - 1));
    // Laid out as 0.1.5, but its program says 0.1.1.
    const relabelled = await smallArchive("0.1.5", rel.next.bundle);
    host.files.set(`/t/${relabelled.artifact.url}`, relabelled.bytes);
    const feed = async (name: string, version: string, a: ReleaseArtifact) => {
      host.json(`/t/${name}.json`, await signedFeed(version, a, { key: rel.key }));
      return host.url(`/t/${name}.json`);
    };
    const cases: [string, number, string, RegExp][] = [
      [
        await feed("tampered", "0.1.1", { ...artifact, url: "tampered.tar.gz" }),
        502,
        "CHECKSUM_MISMATCH",
        /was changed/,
      ],
      [
        await feed("longer", "0.1.1", { ...artifact, url: "longer.tar.gz" }),
        502,
        "SIZE_MISMATCH",
        /larger than/,
      ],
      [
        await feed("shorter", "0.1.1", { ...artifact, url: "shorter.tar.gz" }),
        502,
        "SIZE_MISMATCH",
        /not the \d+ signed/,
      ],
      [
        await feed("gone", "0.1.1", { ...artifact, url: "gone.tar.gz" }),
        502,
        "DOWNLOAD_FAILED",
        /404/,
      ],
      // An archive of another version, signed as this one: no program where it should be.
      [await feed("misnamed", "0.1.5", artifact), 502, "ARCHIVE_INVALID", /does not hold/],
      [
        await feed("relabelled", "0.1.5", relabelled.artifact),
        502,
        "VERSION_MISMATCH",
        /signed as fazt 0\.1\.5 reports 0\.1\.1/,
      ],
    ];
    for (const [url, status, code, pattern] of cases) {
      const message = await refusal(await fromFeed(node, { feed: url }), status, code);
      assert.match(message, pattern);
    }
    assert.deepEqual(await binFiles(work), ["fazt.js"], "nothing staged was left behind");
    assert.equal(applied.length, 0);
    assert.ok(
      node.logs.some((l) => /upgrade refused: CHECKSUM_MISMATCH/.test(l)),
      "refusals are logged",
    );

    const good = await fromFeed(node, { feed: await feed("good", "0.1.1", artifact) });
    assert.equal(good.status, 202, "the same archive, unchanged, is taken");
    assert.equal(applied.length, 1);
  }));

Deno.test("the feed request's body is checked; the release key is changed only on the node itself", () =>
  withFeedNode(async ({ node, host, applied }) => {
    const rel = await releases();
    const feed = host.url("/r/release.json");
    await refusal(await fromFeed(node, { feed }, node.tokens.deploy), 403, "FORBIDDEN");
    await refusal(
      await node.fetch(`/api/upgrade/release`, { token: node.tokens.read }),
      403,
      "FORBIDDEN",
    );
    await refusal(await fromFeed(node, { from: "github", feed }), 400, "VALIDATION_FAILED");
    await refusal(await fromFeed(node, { feed, force: true }), 400, "VALIDATION_FAILED");
    await refusal(await fromFeed(node, { feed: 7 }), 400, "VALIDATION_FAILED");
    await refusal(await fromFeed(node, { feed, version: "latest" }), 400, "VALIDATION_FAILED");

    const put = (body: Record<string, string>) =>
      node.fetch("/api/settings", {
        method: "PUT",
        body: JSON.stringify(body),
        headers: { "content-type": "application/json" },
      });
    await refusal(await put({ release_public_key: "builtin" }), 403, "LOCAL_ONLY");
    assert.equal(node.storage.settings.load().release_public_key, rel.key.publicKeyHex);
    await refusal(
      await put({ release_feed: "http://example.com/release.json" }),
      400,
      "VALIDATION_FAILED",
    );
    const ok = await put({ release_feed: `${feed}?Case=Kept` });
    assert.equal(ok.status, 200);
    assert.equal(
      node.storage.settings.load().release_feed,
      `${feed}?Case=Kept`,
      "URLs keep their case",
    );

    // With fazt's own key (the default), this release's test signature does not verify.
    node.storage.settings.set("release_public_key", "builtin");
    await refusal(await fromFeed(node, { feed }), 422, "SIGNATURE_INVALID");
    assert.equal(applied.length, 0);
  }));

Deno.test("nodes that cannot replace their program say so, from a feed too", async () => {
  const rel = await releases();
  const host = new ReleaseServer();
  await host.serveDir("/r", rel.next.dir);
  const embedded = await startTestNode({ settings: { release_public_key: rel.key.publicKeyHex } });
  try {
    const feed = host.url("/r/release.json");
    const message = await refusal(await fromFeed(embedded, { feed }), 409, "UPGRADE_UNAVAILABLE");
    assert.match(message, /embedded/);
    const info =
      await (await embedded.fetch(`/api/upgrade/release?feed=${encodeURIComponent(feed)}`))
        .json();
    assert.equal(info.data.can_upgrade, false);
    assert.equal(info.data.upgrade_available, false);
    assert.equal(info.data.available, "0.1.1");
  } finally {
    await embedded.close();
    await host.close();
  }
});
