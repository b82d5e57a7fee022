/**
 * Litestream's configuration for one database and one replica, generated
 * from fazt's settings. It is the only place credentials reach Litestream:
 * never its command line (which `ps` shows to every user). JSON is YAML, so
 * every string is written with `JSON.stringify` and nothing in a path or a
 * password can break out of its field.
 * @module
 */
import type { ReplicaTarget } from "./replica_url.ts";

/** What the replica needs to let Litestream in; empty strings are "not given". */
export interface ReplicaCredentials {
  /** S3's access key id. */
  accessKeyId?: string;
  /** The SFTP password or the S3 secret access key. */
  secret?: string;
  /** An SFTP private key file on this machine. */
  keyPath?: string;
}

export interface ReplicaTiming {
  /** How often new WAL frames are shipped (a Go duration: `1s`, `500ms`). */
  syncInterval: string;
  /** How long snapshots and WAL are kept for point-in-time restores (`24h`). */
  retention: string;
}

/** A Go duration as Litestream reads it, in the one form fazt writes: `500ms`, `1s`, `24h`. */
export const LITESTREAM_DURATION = /^(\d{1,6})(ms|s|m|h)$/;

const UNIT_MS = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 } as const;

/** Milliseconds of a Litestream duration, or `undefined` when it is not one. */
export function litestreamDurationMs(text: string): number | undefined {
  const m = LITESTREAM_DURATION.exec(text.trim());
  return m ? Number(m[1]) * UNIT_MS[m[2] as keyof typeof UNIT_MS] : undefined;
}

/**
 * The configuration file's text: JSON-lines logging on standard output at
 * debug level (the supervisor reads the positions from it), the database at
 * `dbPath` and its one replica.
 */
export function litestreamConfig(
  dbPath: string,
  target: ReplicaTarget,
  credentials: ReplicaCredentials,
  timing: ReplicaTiming,
): string {
  const replica: Record<string, unknown> = {
    type: target.type,
    "sync-interval": timing.syncInterval,
    retention: timing.retention,
  };
  switch (target.type) {
    case "file":
      replica.path = target.path;
      break;
    case "sftp":
      replica.host = target.host;
      replica.user = target.user;
      replica.path = target.path;
      if (credentials.secret) replica.password = credentials.secret;
      if (credentials.keyPath) replica["key-path"] = credentials.keyPath;
      break;
    case "s3":
      replica.bucket = target.bucket;
      replica.path = target.path;
      if (target.endpoint) replica.endpoint = target.endpoint;
      if (target.region) replica.region = target.region;
      if (target.forcePathStyle !== undefined) replica["force-path-style"] = target.forcePathStyle;
      if (target.skipVerify) replica["skip-verify"] = true;
      if (credentials.accessKeyId) replica["access-key-id"] = credentials.accessKeyId;
      if (credentials.secret) replica["secret-access-key"] = credentials.secret;
      break;
  }
  const config = {
    logging: { type: "json", level: "debug", stderr: false },
    dbs: [{ path: dbPath, replicas: [replica] }],
  };
  return JSON.stringify(config, null, 2) + "\n";
}
