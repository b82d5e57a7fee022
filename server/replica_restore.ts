/**
 * A database brought back from a replica: `litestream restore` into a new
 * file, then the same checks a backup gets (SQLite's integrity check,
 * fazt's tables, a schema this program knows). Used by `fazt restore` and
 * by a warm standby's refreshes. Credentials reach Litestream the way they
 * do when it replicates: in a private configuration file, never argv.
 * @module
 */
import { litestreamConfig, type ReplicaCredentials } from "../lib/litestream_config.ts";
import { findLitestream, LitestreamNotFound } from "../lib/litestream_binary.ts";
import { parseLitestreamLine } from "../lib/replica_progress.ts";
import { parseReplicaUrl } from "../lib/replica_url.ts";
import { textLines } from "../lib/text_lines.ts";
import { checkDatabaseFile, type DatabaseFileInfo } from "../storage/mod.ts";

export type ReplicaRestoreCode = "LITESTREAM_NOT_FOUND" | "REPLICA_EMPTY" | "RESTORE_FAILED";

/** Why nothing could be restored; the message names no credential. */
export class ReplicaRestoreError extends Error {
  override readonly name = "ReplicaRestoreError";

  constructor(readonly code: ReplicaRestoreCode, message: string) {
    super(message);
  }
}

export interface ReplicaRestoreOptions {
  /** The replica's URL. */
  from: string;
  credentials: ReplicaCredentials;
  /** `litestream_path`: `auto` or the binary. */
  litestream: string;
  /** The file to write (it must not exist). */
  out: string;
  /** A moment to restore to (ISO 8601); the latest state when absent. */
  timestamp?: string;
  /** Stops the restore (the standby stopping). */
  signal?: AbortSignal;
}

/**
 * Restores the replica at `from` into `out` and checks it. On any failure
 * nothing is left at `out`. Throws `ReplicaRestoreError`, or a
 * `BackupError` when what came back is not a usable fazt database.
 */
export async function restoreFromReplica(opts: ReplicaRestoreOptions): Promise<DatabaseFileInfo> {
  const target = parseReplicaUrl(opts.from);
  try {
    await Deno.lstat(opts.out);
    throw new ReplicaRestoreError("RESTORE_FAILED", "the file to restore into already exists");
  } catch (err) {
    if (!(err instanceof Deno.errors.NotFound)) throw err;
  }
  let binary: string;
  try {
    binary = findLitestream(opts.litestream);
  } catch (err) {
    if (err instanceof LitestreamNotFound) {
      throw new ReplicaRestoreError("LITESTREAM_NOT_FOUND", err.message);
    }
    throw err;
  }
  const dir = await Deno.makeTempDir({ prefix: "fazt-litestream-restore-" });
  const redact = (text: string) => {
    let out = text;
    for (const s of [opts.credentials.secret, opts.credentials.accessKeyId]) {
      if (s) out = out.split(s).join("[redacted]");
    }
    return out;
  };
  try {
    if (Deno.build.os !== "windows") await Deno.chmod(dir, 0o700);
    const config = `${dir}/litestream.yml`;
    await Deno.writeTextFile(
      config,
      litestreamConfig(opts.out, target, opts.credentials, {
        syncInterval: "1s",
        retention: "24h",
      }),
      { createNew: true, mode: 0o600 },
    );
    const args = ["restore", "-config", config, "-no-expand-env", "-o", opts.out];
    if (opts.timestamp) args.push("-timestamp", opts.timestamp);
    args.push(opts.out);
    const child = new Deno.Command(binary, {
      args,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
      signal: opts.signal,
    }).spawn();
    const errors: string[] = [];
    const collect = async (stream: ReadableStream<Uint8Array>) => {
      for await (const raw of textLines(stream)) {
        const line = parseLitestreamLine(raw);
        if (line?.level === "ERROR") {
          errors.push(typeof line.fields.error === "string" ? line.fields.error : line.msg);
        } else if (!line && raw.trim()) errors.push(raw.trim());
      }
    };
    const [status] = await Promise.all([
      child.status,
      collect(child.stdout),
      collect(child.stderr),
    ]);
    opts.signal?.throwIfAborted();
    if (!status.success) {
      const why = redact(errors.at(-1) ?? `litestream exited with code ${status.code}`);
      if (/no matching backups found|no generations? found|no snapshots? available/i.test(why)) {
        throw new ReplicaRestoreError(
          "REPLICA_EMPTY",
          `the replica holds nothing to restore${opts.timestamp ? " at that time" : ""}`,
        );
      }
      throw new ReplicaRestoreError("RESTORE_FAILED", `the restore failed: ${why.slice(0, 500)}`);
    }
    if (Deno.build.os !== "windows") await Deno.chmod(opts.out, 0o600);
    return checkDatabaseFile(opts.out);
  } catch (err) {
    for (const side of ["", "-wal", "-shm", ".tmp"]) {
      await Deno.remove(opts.out + side).catch(() => {});
    }
    throw err;
  } finally {
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}
