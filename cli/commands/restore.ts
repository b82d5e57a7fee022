/**
 * `fazt restore --from URL [--timestamp T] --db PATH`: a node's database
 * brought back from its replica, on this machine or any other. The restored
 * file is checked like a backup (integrity, fazt's schema), replication is
 * turned off in it (it must not write to the replica its original may still
 * write to), and it is put in place only when no node has the target open;
 * a database it replaces is kept beside it.
 * @module
 */
import type { Command } from "commander";
import { parseReplicaUrl, ReplicaUrlError } from "../../lib/replica_url.ts";
import { ReplicaRestoreError, restoreFromReplica } from "../../server/mod.ts";
import {
  assertNotInUse,
  BackupError,
  compactTime,
  detachReplica,
  restoreDatabase,
} from "../../storage/mod.ts";
import { CliError } from "../cli_error.ts";
import { printJson } from "../output.ts";
import { resolveDbPath } from "../paths.ts";
import { type CredentialFlags, credentialOptions, readCredentials } from "../replica_flags.ts";

interface RestoreFlags extends CredentialFlags {
  from: string;
  db: string;
  timestamp?: string;
  litestream?: string;
  json?: boolean;
}

/** `--timestamp` as Litestream reads it (RFC 3339, UTC). */
function timestampOf(text: string | undefined): string | undefined {
  if (text === undefined) return undefined;
  const ms = /^\d{4}-\d{2}-\d{2}T/.test(text) ? Date.parse(text) : NaN;
  if (!Number.isFinite(ms)) {
    throw new CliError(
      "--timestamp must be a date and time such as 2026-11-29T12:00:00Z",
      "VALIDATION_FAILED",
    );
  }
  return new Date(ms).toISOString();
}

async function restore(flags: RestoreFlags): Promise<void> {
  try {
    parseReplicaUrl(flags.from);
  } catch (err) {
    if (err instanceof ReplicaUrlError) throw new CliError(err.message, "VALIDATION_FAILED");
    throw err;
  }
  const timestamp = timestampOf(flags.timestamp);
  if (flags.litestream !== undefined && !flags.litestream.startsWith("/")) {
    throw new CliError("--litestream must be an absolute path", "VALIDATION_FAILED");
  }
  const target = resolveDbPath(flags.db);
  const credentials = await readCredentials(flags);
  try {
    // Before downloading anything: a running node's database is never replaced.
    assertNotInUse(target);
  } catch (err) {
    if (err instanceof BackupError) throw new CliError(err.message, err.code);
    throw err;
  }
  const dir = target.replace(/[\\/][^\\/]*$/, "") || ".";
  await Deno.mkdir(dir, { recursive: true, mode: 0o700 });
  const incoming = `${dir}/.fazt-replica-${compactTime(new Date())}.db`;
  let result;
  try {
    await restoreFromReplica({
      from: flags.from,
      credentials,
      litestream: flags.litestream ?? "auto",
      out: incoming,
      timestamp,
    });
    detachReplica(incoming);
    result = restoreDatabase(incoming, target);
  } catch (err) {
    if (err instanceof ReplicaRestoreError || err instanceof BackupError) {
      throw new CliError(`nothing restored: ${err.message}`, err.code);
    }
    throw err;
  } finally {
    for (const side of ["", "-wal", "-shm"]) await Deno.remove(incoming + side).catch(() => {});
  }
  if (flags.json) {
    return printJson({ from: flags.from, db: target, timestamp: timestamp ?? null, ...result });
  }
  console.log(
    `restored ${flags.from}${
      timestamp ? ` as of ${timestamp}` : ""
    } into ${target} (schema ${result.schema}, integrity ok)`,
  );
  if (result.replaced) console.log(`the database it replaced is kept as ${result.replaced}`);
  console.log("replication is off in it; once the old node is gone, turn it on again with");
  console.log(`  fazt replicate enable --db ${target} --to URL`);
  console.log(`start the node on it: fazt server start --db ${target}`);
}

export function restoreCommand(program: Command): void {
  credentialOptions(
    program.command("restore")
      .description(
        "bring a node's database back from its replica (Litestream), checked, into --db",
      )
      .requiredOption("--from <url>", "the replica (as given to 'fazt replicate enable --to')")
      .requiredOption("--db <path>", "where to put the database (not a running node's)")
      .option("--timestamp <time>", "restore the state at this time (ISO 8601), not the latest"),
  )
    .option("--litestream <path>", "the litestream binary (default: PATH, npm's global folders)")
    .option("--json", "print JSON")
    .action(restore);
}
