/**
 * The release feed, `release.json`: one release, its date and, per target,
 * where its artifact is, its size, SHA-256, the Deno runtime it carries and
 * an Ed25519 signature. The signature covers a statement of all of these
 * (not the feed file), so a feed can be re-hosted or re-pointed but no
 * artifact can claim another version, target, size or checksum than the
 * release task signed.
 * @module
 */

export const RELEASE_FEED_FORMAT = 1;

/** The largest feed a node reads: a few kilobytes in practice. */
export const MAX_FEED_BYTES = 1024 * 1024;

/** A compiled fazt is ~100 MB, an archive ~45 MB: far below this. */
export const MAX_ARTIFACT_BYTES = 512 * 1024 * 1024;

export interface ReleaseArtifact {
  target: string;
  /** `archive`: runtime + bundle + launcher; `binary`: a `deno compile`d fazt. */
  kind: "archive" | "binary";
  /** Absolute, or relative to the feed's own URL. */
  url: string;
  size: number;
  sha256: string;
  /** The Deno version inside (of the runtime, or compiled in). */
  runtime: string;
  /** Base64 Ed25519 signature of `artifactStatement(version, this)`; absent when unsigned. */
  signature?: string;
}

export interface ReleaseFeed {
  format: typeof RELEASE_FEED_FORMAT;
  name: "fazt";
  version: string;
  /** ISO 8601. */
  date: string;
  /** Archives by target id. */
  targets: Record<string, ReleaseArtifact>;
  /** Single binaries by target id, when the release task could make them. */
  binaries: Record<string, ReleaseArtifact>;
}

export class ReleaseFeedError extends Error {}

const VERSION = /^\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?$/;

export function isReleaseVersion(v: unknown): v is string {
  return typeof v === "string" && VERSION.test(v);
}

function artifact(where: string, value: unknown, kind: ReleaseArtifact["kind"]): ReleaseArtifact {
  const a = value as Partial<ReleaseArtifact> | null;
  const bad = (what: string) => new ReleaseFeedError(`${where}: ${what}`);
  if (typeof a !== "object" || a === null) throw bad("not an object");
  if (typeof a.target !== "string" || !/^[a-z0-9-]{1,40}$/.test(a.target)) throw bad("bad target");
  if (a.kind !== kind) throw bad(`kind must be "${kind}"`);
  if (typeof a.url !== "string" || a.url.length === 0 || a.url.length > 2048) throw bad("bad url");
  if (!Number.isSafeInteger(a.size) || a.size! <= 0 || a.size! > MAX_ARTIFACT_BYTES) {
    throw bad(`size must be a whole number of bytes up to ${MAX_ARTIFACT_BYTES}`);
  }
  if (typeof a.sha256 !== "string" || !/^[0-9a-f]{64}$/.test(a.sha256)) throw bad("bad sha256");
  if (!isReleaseVersion(a.runtime)) throw bad("bad runtime version");
  if (a.signature !== undefined && (typeof a.signature !== "string" || a.signature.length > 200)) {
    throw bad("bad signature");
  }
  return {
    target: a.target,
    kind,
    url: a.url,
    size: a.size!,
    sha256: a.sha256,
    runtime: a.runtime,
    ...(a.signature ? { signature: a.signature } : {}),
  };
}

function artifacts(
  name: string,
  value: unknown,
  kind: ReleaseArtifact["kind"],
): Record<string, ReleaseArtifact> {
  if (value === undefined) return {};
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new ReleaseFeedError(`${name} must be an object`);
  }
  const out: Record<string, ReleaseArtifact> = {};
  for (const [id, a] of Object.entries(value)) out[id] = artifact(`${name}.${id}`, a, kind);
  return out;
}

/** Checks the shape of a parsed `release.json`; throws `ReleaseFeedError` saying what is wrong. */
export function parseReleaseFeed(value: unknown): ReleaseFeed {
  const f = value as Record<string, unknown> | null;
  if (typeof f !== "object" || f === null || Array.isArray(f)) {
    throw new ReleaseFeedError("the feed is not a JSON object");
  }
  if (f.format !== RELEASE_FEED_FORMAT) {
    throw new ReleaseFeedError(`unknown feed format ${JSON.stringify(f.format)}`);
  }
  if (f.name !== "fazt") throw new ReleaseFeedError("the feed is not fazt's");
  if (!isReleaseVersion(f.version)) throw new ReleaseFeedError("bad version");
  if (typeof f.date !== "string" || Number.isNaN(Date.parse(f.date))) {
    throw new ReleaseFeedError("bad date");
  }
  return {
    format: RELEASE_FEED_FORMAT,
    name: "fazt",
    version: f.version,
    date: f.date,
    targets: artifacts("targets", f.targets, "archive"),
    binaries: artifacts("binaries", f.binaries, "binary"),
  };
}

/** The bytes an artifact's signature covers. */
export function artifactStatement(version: string, a: ReleaseArtifact): Uint8Array<ArrayBuffer> {
  return new TextEncoder().encode(
    "fazt release artifact\n" +
      `version ${version}\n` +
      `target ${a.target}\n` +
      `kind ${a.kind}\n` +
      `runtime ${a.runtime}\n` +
      `size ${a.size}\n` +
      `sha256 ${a.sha256}\n`,
  );
}

/**
 * The feed URL for `version`: a `{version}` in the URL is replaced by it (or
 * by `latest` when no version is asked for).
 */
export function feedUrlFor(template: string, version?: string): string {
  return template.replaceAll("{version}", version ?? "latest");
}
