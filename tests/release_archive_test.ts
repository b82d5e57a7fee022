/** What the release task packs (release/archive.ts), a node unpacks (server/release_candidate.ts), on every target. */
import assert from "node:assert/strict";
import type { ReleaseArtifact } from "../lib/release_feed.ts";
import { releaseTarget } from "../lib/release_target.ts";
import { buildArchive } from "../release/archive.ts";
import { HttpError } from "../server/http_error.ts";
import { programOf, type ReleaseCandidate } from "../server/release_candidate.ts";

const enc = new TextEncoder();

async function candidate(targetId: string, version = "1.2.3") {
  const target = releaseTarget(targetId)!;
  const bundle = enc.encode(`console.log("fazt ${version} on ${targetId}");\n`);
  const { bytes } = await buildArchive({
    version,
    target,
    bundle,
    runtime: enc.encode("stand-in"),
    mtime: 0,
  });
  const artifact = { target: targetId, kind: "archive" } as ReleaseArtifact;
  const c: ReleaseCandidate = {
    feedUrl: "https://example.com/release.json",
    feed: { format: 1, name: "fazt", version, date: "", targets: {}, binaries: {} },
    target,
    artifact,
    artifactUrl: "https://example.com/x",
  };
  return { c, bytes: bytes as Uint8Array<ArrayBuffer>, bundle };
}

Deno.test("programOf takes fazt.js out of a .tar.gz and out of a Windows .zip", async () => {
  for (const id of ["linux-arm64", "darwin-x64", "windows-x64"]) {
    const { c, bytes, bundle } = await candidate(id);
    assert.deepEqual(await programOf(c, bytes), bundle, id);
  }
});

Deno.test("programOf refuses an archive without the program where it should be", async () => {
  const refused = async (p: Promise<unknown>) => {
    const err = await p.then(() => undefined, (e) => e);
    assert.ok(err instanceof HttpError, String(err));
    assert.equal(err.code, "ARCHIVE_INVALID");
    assert.equal(err.status, 502);
  };
  const tar = await candidate("linux-x64");
  await refused(programOf(tar.c, tar.bytes.slice(0, 200)));
  await refused(programOf(tar.c, enc.encode("not gzip at all")));
  // Built as 1.2.4, listed as 1.2.3: its folder is not the one the version names.
  const other = await candidate("linux-x64", "1.2.4");
  await refused(programOf(tar.c, other.bytes));
  const zip = await candidate("windows-x64");
  await refused(programOf(zip.c, zip.bytes.slice(0, zip.bytes.byteLength - 30)));
});
