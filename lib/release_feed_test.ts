import assert from "node:assert/strict";
import {
  artifactStatement,
  feedUrlFor,
  parseReleaseFeed,
  type ReleaseArtifact,
  ReleaseFeedError,
} from "./release_feed.ts";

const artifact: ReleaseArtifact = {
  target: "linux-x64",
  kind: "archive",
  url: "fazt-0.2.0-linux-x64.tar.gz",
  size: 123,
  sha256: "a".repeat(64),
  runtime: "2.9.6",
  signature: "c2ln",
};
const feed = {
  format: 1,
  name: "fazt",
  version: "0.2.0",
  date: "2026-01-02T03:04:05.000Z",
  targets: { "linux-x64": artifact },
};

Deno.test("parseReleaseFeed keeps a good feed and says what is wrong with a bad one", () => {
  assert.deepEqual(parseReleaseFeed(feed), { ...feed, binaries: {} });
  const bad: [unknown, RegExp][] = [
    [null, /not a JSON object/],
    [[], /not a JSON object/],
    [{ ...feed, format: 2 }, /unknown feed format 2/],
    [{ ...feed, name: "other" }, /not fazt's/],
    [{ ...feed, version: "v1" }, /bad version/],
    [{ ...feed, date: "someday" }, /bad date/],
    [{ ...feed, targets: [] }, /targets must be an object/],
    [
      { ...feed, targets: { x: { ...artifact, kind: "binary" } } },
      /targets\.x: kind must be "archive"/,
    ],
    [{ ...feed, targets: { x: { ...artifact, size: -1 } } }, /targets\.x: size/],
    [{ ...feed, targets: { x: { ...artifact, size: 2 ** 40 } } }, /targets\.x: size/],
    [{ ...feed, targets: { x: { ...artifact, sha256: "A".repeat(64) } } }, /bad sha256/],
    [{ ...feed, targets: { x: { ...artifact, target: "../x" } } }, /bad target/],
    [{ ...feed, targets: { x: { ...artifact, url: "" } } }, /bad url/],
    [{ ...feed, targets: { x: { ...artifact, runtime: "latest" } } }, /bad runtime/],
    [{ ...feed, targets: { x: { ...artifact, signature: 5 } } }, /bad signature/],
    [{ ...feed, binaries: { x: artifact } }, /binaries\.x: kind must be "binary"/],
  ];
  for (const [value, pattern] of bad) {
    assert.throws(
      () => parseReleaseFeed(value),
      (e) => e instanceof ReleaseFeedError && pattern.test(e.message),
    );
  }
});

Deno.test("the signed statement names every field a feed could lie about", () => {
  const text = new TextDecoder().decode(artifactStatement("0.2.0", artifact));
  assert.equal(
    text,
    "fazt release artifact\nversion 0.2.0\ntarget linux-x64\nkind archive\nruntime 2.9.6\n" +
      `size 123\nsha256 ${"a".repeat(64)}\n`,
  );
  const changes: Partial<ReleaseArtifact>[] = [
    { target: "linux-arm64" },
    { kind: "binary" },
    { runtime: "2.9.7" },
    { size: 124 },
    { sha256: "b".repeat(64) },
  ];
  for (const change of changes) {
    assert.notDeepEqual(
      artifactStatement("0.2.0", { ...artifact, ...change }),
      artifactStatement("0.2.0", artifact),
    );
  }
  assert.notDeepEqual(artifactStatement("0.2.1", artifact), artifactStatement("0.2.0", artifact));
  // Where it is hosted is not part of it: a mirror serves the same signed bytes.
  assert.deepEqual(
    artifactStatement("0.2.0", { ...artifact, url: "https://mirror/x" }),
    artifactStatement("0.2.0", artifact),
  );
});

Deno.test("feedUrlFor fills in {version}, latest when none is asked for", () => {
  assert.equal(
    feedUrlFor("https://h/r/{version}/release.json", "1.2.3"),
    "https://h/r/1.2.3/release.json",
  );
  assert.equal(feedUrlFor("https://h/r/{version}/release.json"), "https://h/r/latest/release.json");
  assert.equal(feedUrlFor("https://h/release.json", "1.2.3"), "https://h/release.json");
});
