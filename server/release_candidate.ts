/**
 * The release a node would upgrade to, from a release feed: read the feed,
 * pick this machine's artifact, check its signature before anything is
 * downloaded, then download it within its declared size and check its
 * SHA-256, and take the program out of it. Every refusal is an `HttpError`
 * whose message names the feed's problem, never this node's files.
 * @module
 */
import { verifySignature } from "../lib/ed25519.ts";
import { fetchLimited, FetchLimitError } from "../lib/fetch_limited.ts";
import type { ProgramForm } from "../lib/program.ts";
import {
  artifactStatement,
  feedUrlFor,
  MAX_FEED_BYTES,
  parseReleaseFeed,
  type ReleaseArtifact,
  type ReleaseFeed,
  ReleaseFeedError,
} from "../lib/release_feed.ts";
import { archiveName, type ReleaseTarget, releaseTargetOf } from "../lib/release_target.ts";
import { releaseUrlProblem } from "../lib/release_url.ts";
import { sha256Hex } from "../lib/secrets.ts";
import { findInTar } from "../lib/tar.ts";
import { loadZip } from "../lib/zip.ts";
import { HttpError } from "./http_error.ts";

/** A bundle is ~3 MB; the ceiling only stops a hostile archive. */
const MAX_BUNDLE_BYTES = 64 * 1024 * 1024;
const FEED_TIMEOUT_MS = 30_000;
const DOWNLOAD_TIMEOUT_MS = 15 * 60_000;

export interface ReleaseQuery {
  /** The feed URL (a `{version}` in it is filled in). */
  feed: string;
  /** The exact version wanted; default: whatever the feed offers. */
  version?: string;
  /** Hex Ed25519 key the artifact's signature must verify with. */
  publicKey: string;
  /** What this node runs: a `binary` takes the feed's single binary, anything else its archive. */
  form: ProgramForm | "embedded";
}

export interface ReleaseCandidate {
  /** The feed as read (after redirects). */
  feedUrl: string;
  feed: ReleaseFeed;
  target: ReleaseTarget;
  artifact: ReleaseArtifact;
  artifactUrl: string;
}

const feedError = (message: string) => new HttpError(502, "FEED_INVALID", message);

async function readFeed(url: string): Promise<{ feed: ReleaseFeed; url: string }> {
  let got;
  try {
    got = await fetchLimited(url, {
      maxBytes: MAX_FEED_BYTES,
      timeoutMs: FEED_TIMEOUT_MS,
      urlProblem: releaseUrlProblem,
    });
  } catch (err) {
    if (!(err instanceof FetchLimitError)) throw err;
    throw new HttpError(502, "FEED_UNAVAILABLE", `The release feed cannot be read: ${err.message}`);
  }
  let value: unknown;
  try {
    value = JSON.parse(new TextDecoder().decode(got.bytes));
  } catch {
    throw feedError(`The release feed at ${got.url} is not JSON`);
  }
  try {
    return { feed: parseReleaseFeed(value), url: got.url };
  } catch (err) {
    if (!(err instanceof ReleaseFeedError)) throw err;
    throw feedError(`The release feed at ${got.url} is not a fazt feed: ${err.message}`);
  }
}

/**
 * Reads the feed and picks this node's artifact, refusing one for another
 * target and one without a valid signature. Downloads nothing else.
 */
export async function findRelease(query: ReleaseQuery): Promise<ReleaseCandidate> {
  const target = releaseTargetOf();
  if (!target) {
    throw new HttpError(
      409,
      "TARGET_UNAVAILABLE",
      `fazt is not released for ${Deno.build.os}/${Deno.build.arch}`,
    );
  }
  const url = feedUrlFor(query.feed, query.version);
  const problem = releaseUrlProblem(url);
  if (problem) throw HttpError.validation("feed", "format", `The release feed URL: ${problem}`);
  const { feed, url: feedUrl } = await readFeed(url);
  if (query.version !== undefined && feed.version !== query.version) {
    throw new HttpError(
      404,
      "RELEASE_NOT_FOUND",
      `The release feed offers fazt ${feed.version}, not ${query.version}` +
        (query.feed.includes("{version}") ? "" : " (a feed URL with {version} can offer others)"),
    );
  }
  const binary = query.form === "binary";
  const artifact = (binary ? feed.binaries : feed.targets)[target.id];
  if (!artifact) {
    throw new HttpError(
      409,
      "TARGET_UNAVAILABLE",
      `fazt ${feed.version} has no ${binary ? "single binary" : "archive"} for ${target.id}`,
    );
  }
  if (artifact.target !== target.id) {
    throw new HttpError(
      422,
      "TARGET_MISMATCH",
      `The feed lists a ${artifact.target} build as the one for ${target.id}`,
    );
  }
  if (!artifact.signature) {
    throw new HttpError(
      422,
      "SIGNATURE_REQUIRED",
      `fazt ${feed.version} for ${target.id} is not signed: nodes take only signed releases`,
    );
  }
  let signature: Uint8Array;
  try {
    signature = Uint8Array.fromBase64(artifact.signature);
  } catch {
    signature = new Uint8Array();
  }
  if (
    !await verifySignature(query.publicKey, signature, artifactStatement(feed.version, artifact))
  ) {
    throw new HttpError(
      422,
      "SIGNATURE_INVALID",
      `The signature of fazt ${feed.version} for ${target.id} does not verify with the release key`,
    );
  }
  const artifactUrl = new URL(artifact.url, feedUrl).href;
  const urlProblem = releaseUrlProblem(artifactUrl);
  if (urlProblem) throw feedError(`The artifact URL ${artifactUrl}: ${urlProblem}`);
  return { feedUrl, feed, target, artifact, artifactUrl };
}

/** The artifact's bytes, exactly its signed size and SHA-256. */
export async function downloadRelease(c: ReleaseCandidate): Promise<Uint8Array<ArrayBuffer>> {
  const { artifact } = c;
  let bytes: Uint8Array<ArrayBuffer>;
  try {
    ({ bytes } = await fetchLimited(c.artifactUrl, {
      maxBytes: artifact.size,
      timeoutMs: DOWNLOAD_TIMEOUT_MS,
      urlProblem: releaseUrlProblem,
    }));
  } catch (err) {
    if (!(err instanceof FetchLimitError)) throw err;
    if (err.reason === "too_large") {
      throw new HttpError(
        502,
        "SIZE_MISMATCH",
        `${c.artifactUrl} is larger than the ${artifact.size} bytes signed`,
      );
    }
    throw new HttpError(502, "DOWNLOAD_FAILED", `The release cannot be downloaded: ${err.message}`);
  }
  if (bytes.byteLength !== artifact.size) {
    throw new HttpError(
      502,
      "SIZE_MISMATCH",
      `${c.artifactUrl} has ${bytes.byteLength} bytes, not the ${artifact.size} signed`,
    );
  }
  if (sha256Hex(bytes) !== artifact.sha256) {
    throw new HttpError(
      502,
      "CHECKSUM_MISMATCH",
      `${c.artifactUrl} does not match the SHA-256 signed for it: it was changed`,
    );
  }
  return bytes;
}

/** The program in a checked artifact: a binary as it is, an archive's `fazt.js`. */
export async function programOf(
  c: ReleaseCandidate,
  bytes: Uint8Array<ArrayBuffer>,
): Promise<Uint8Array<ArrayBuffer>> {
  if (c.artifact.kind === "binary") return bytes;
  const name = archiveName(c.feed.version, c.target);
  const path = `${name.replace(/\.(tar\.gz|zip)$/, "")}/fazt.js`;
  let program: Uint8Array<ArrayBuffer> | undefined;
  try {
    program = c.target.archive === "zip" ? await fromZip(bytes, path) : await findInTar(
      new Blob([bytes]).stream().pipeThrough(new DecompressionStream("gzip")),
      path,
      MAX_BUNDLE_BYTES,
    );
  } catch {
    // Damaged gzip, tar or zip: the archive matched its signed checksum, so it was built so.
    program = undefined;
  }
  if (!program) {
    throw new HttpError(502, "ARCHIVE_INVALID", `${name} does not hold fazt's program (${path})`);
  }
  return program;
}

async function fromZip(
  bytes: Uint8Array,
  path: string,
): Promise<Uint8Array<ArrayBuffer> | undefined> {
  const { ZipReader, Uint8ArrayReader, Uint8ArrayWriter } = await loadZip();
  const reader = new ZipReader(new Uint8ArrayReader(bytes));
  try {
    const entry = (await reader.getEntries()).find((e) => e.filename === path && !e.directory);
    if (!entry || entry.directory || entry.uncompressedSize > MAX_BUNDLE_BYTES) return undefined;
    return new Uint8Array(await entry.getData(new Uint8ArrayWriter()));
  } finally {
    await reader.close();
  }
}
