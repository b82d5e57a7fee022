/**
 * Where a node's database is replicated to, written as one URL an owner can
 * read and paste: `file:///path`, `sftp://user@host:port/path` or
 * `s3://bucket/path?endpoint=…&region=…`. Credentials never go in the URL
 * (it is shown in status answers and logs); they are settings of their own.
 * @module
 */

/** A replica as Litestream's configuration names its parts. */
export type ReplicaTarget =
  | { type: "file"; path: string }
  | { type: "sftp"; host: string; user: string; path: string }
  | {
    type: "s3";
    bucket: string;
    path: string;
    endpoint?: string;
    region?: string;
    forcePathStyle?: boolean;
    skipVerify?: boolean;
  };

/** Why a replica URL was refused; the message is safe to show. */
export class ReplicaUrlError extends Error {
  override readonly name = "ReplicaUrlError";
}

const S3_PARAMS = new Set(["endpoint", "region", "force-path-style", "skip-verify"]);

/** The parts of a replica URL; throws `ReplicaUrlError` saying what is wrong. */
export function parseReplicaUrl(text: string): ReplicaTarget {
  const raw = text.trim();
  if (/[\s\0]/.test(raw)) throw new ReplicaUrlError("the replica URL must not contain spaces");
  // (URL would quietly resolve them away.)
  if (raw.split(/[?#]/)[0].split("/").some((s) => s.replace(/%2e/gi, ".") === "..")) {
    throw new ReplicaUrlError("the replica URL's path must not contain '..'");
  }
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new ReplicaUrlError(
      "the replica URL must be file:///path, sftp://user@host:port/path or s3://bucket/path",
    );
  }
  if (url.hash) throw new ReplicaUrlError("the replica URL must not have a #fragment");
  if (url.password) {
    throw new ReplicaUrlError(
      "the replica URL must not carry a password: give it as a credential (--secret-stdin)",
    );
  }
  switch (url.protocol) {
    case "file:":
      return fileTarget(url);
    case "sftp:":
      return sftpTarget(url);
    case "s3:":
      return s3Target(url);
    default:
      throw new ReplicaUrlError(
        `replicas go to file://, sftp:// or s3:// URLs, not ${url.protocol.slice(0, 20)}`,
      );
  }
}

/** `undefined` when `text` is a replica URL fazt accepts, else why not (for settings). */
export function replicaUrlProblem(text: string): string | undefined {
  try {
    parseReplicaUrl(text);
    return undefined;
  } catch (err) {
    if (err instanceof ReplicaUrlError) return err.message;
    throw err;
  }
}

function fileTarget(url: URL): ReplicaTarget {
  if (url.host && url.host !== "localhost") {
    throw new ReplicaUrlError("a file:// replica is a folder on this machine: file:///path");
  }
  if (url.search || url.username) {
    throw new ReplicaUrlError("a file:// replica takes no user or ?parameters");
  }
  const path = decodeURIComponent(url.pathname).replace(/\/+$/, "");
  if (!path || !path.startsWith("/")) {
    throw new ReplicaUrlError("a file:// replica needs an absolute folder: file:///path");
  }
  return { type: "file", path };
}

function sftpTarget(url: URL): ReplicaTarget {
  if (!url.hostname) throw new ReplicaUrlError("an sftp:// replica needs a host");
  if (!url.username) {
    throw new ReplicaUrlError("an sftp:// replica needs a user: sftp://user@host:port/path");
  }
  if (url.search) throw new ReplicaUrlError("an sftp:// replica takes no ?parameters");
  const path = decodeURIComponent(url.pathname).replace(/\/+$/, "");
  if (!path) {
    throw new ReplicaUrlError("an sftp:// replica needs a folder: sftp://user@host:port/path");
  }
  return {
    type: "sftp",
    host: `${url.hostname}:${url.port || "22"}`,
    user: decodeURIComponent(url.username),
    path,
  };
}

function s3Target(url: URL): ReplicaTarget {
  const bucket = url.hostname;
  if (!bucket || url.port || url.username) {
    throw new ReplicaUrlError("an s3:// replica names its bucket as the host: s3://bucket/path");
  }
  const path = decodeURIComponent(url.pathname).replace(/^\/+|\/+$/g, "");
  const target: ReplicaTarget = { type: "s3", bucket, path };
  for (const [key, value] of url.searchParams) {
    if (!S3_PARAMS.has(key)) {
      throw new ReplicaUrlError(
        `an s3:// replica takes endpoint, region, force-path-style and skip-verify, not '${
          key.slice(0, 40)
        }'`,
      );
    }
    if (key === "endpoint") {
      if (!/^https?:\/\/[^\s/?#]+(\/[^\s?#]*)?$/.test(value)) {
        throw new ReplicaUrlError("endpoint must be an http:// or https:// URL");
      }
      target.endpoint = value;
    } else if (key === "region") {
      if (!/^[a-z0-9-]{1,64}$/.test(value)) {
        throw new ReplicaUrlError("region must be letters, digits and dashes (us-east-1)");
      }
      target.region = value;
    } else {
      if (value !== "true" && value !== "false") {
        throw new ReplicaUrlError(`${key} must be true or false`);
      }
      if (key === "force-path-style") target.forcePathStyle = value === "true";
      else target.skipVerify = value === "true";
    }
  }
  return target;
}
