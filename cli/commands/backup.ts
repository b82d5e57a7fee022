/**
 * `fazt backup create|list|restore`: consistent copies of a node's database,
 * made while it serves (locally, or through `GET /api/backup` of a node
 * elsewhere), and putting one back while it is stopped.
 * @module
 */
import type { Command } from "commander";
import {
  backupDirFor,
  BackupError,
  backupFileName,
  checkDatabaseFile,
  type DatabaseFileInfo,
  listBackups,
  readStoredSettings,
  restoreDatabase,
  snapshotDatabase,
  SnapshotFailed,
} from "../../storage/mod.ts";
import { CliError } from "../cli_error.ts";
import { connect } from "../connection.ts";
import { peerInUse } from "../peer_shorthand.ts";
import { formatBytes, formatTime, printJson, printTable } from "../output.ts";
import { fileExists, resolveDbPath } from "../paths.ts";

interface CreateFlags {
  out?: string;
  db?: string;
  url?: string;
  token?: string;
  json?: boolean;
}

/** A `BackupError` as the CLI reports it: its message and its code. */
function cliError(err: unknown, what: string): never {
  if (err instanceof BackupError) throw new CliError(`${what}: ${err.message}`, err.code);
  if (err instanceof Deno.errors.AlreadyExists) {
    throw new CliError(`${what}: the file already exists`, "FILE_EXISTS");
  }
  if (err instanceof Deno.errors.NotFound || err instanceof Deno.errors.NotADirectory) {
    throw new CliError(`${what}: no such file or folder`, "FILE_NOT_FOUND");
  }
  if (err instanceof Deno.errors.PermissionDenied) {
    throw new CliError(`${what}: permission denied`, "PERMISSION_DENIED");
  }
  throw err;
}

function localOnly(command: string, flags: { url?: string }): void {
  if (peerInUse() !== undefined || flags.url) {
    throw new CliError(
      `'backup ${command}' works on this machine's files: run it where the node runs`,
      "VALIDATION_FAILED",
    );
  }
}

function refuseExisting(path: string): void {
  if (fileExists(path)) throw new CliError(`${path} already exists`, "FILE_EXISTS");
}

/** Where `backup create` and `backup list` look: the database's `backup_dir` setting. */
function backupDirOf(dbPath: string): string {
  if (!fileExists(dbPath)) {
    throw new CliError(`there is no database at ${dbPath}`, "DATABASE_NOT_FOUND");
  }
  let setting: string;
  try {
    setting = readStoredSettings(dbPath).backup_dir;
  } catch (err) {
    cliError(err, `cannot read ${dbPath}`);
  }
  return backupDirFor(dbPath, setting);
}

function report(file: string, info: DatabaseFileInfo, json?: boolean): void {
  if (json) return printJson({ file, bytes: info.bytes, schema: info.schema, integrity: "ok" });
  console.log(`backup: ${file} (${formatBytes(info.bytes)}, schema ${info.schema}, integrity ok)`);
}

/** A snapshot of the database file on this machine (served by a node or not). */
async function createLocal(flags: CreateFlags): Promise<void> {
  const dbPath = resolveDbPath(flags.db);
  if (!fileExists(dbPath)) {
    throw new CliError(`there is no database at ${dbPath}`, "DATABASE_NOT_FOUND");
  }
  let out = flags.out;
  if (out === undefined) {
    const dir = backupDirOf(dbPath);
    Deno.mkdirSync(dir, { recursive: true, mode: 0o700 });
    out = `${dir}/${backupFileName(new Date())}`;
  }
  refuseExisting(out);
  const partial = `${out}.partial`;
  let info: DatabaseFileInfo;
  try {
    info = await snapshotDatabase(dbPath, partial);
    Deno.renameSync(partial, out);
  } catch (err) {
    if (err instanceof SnapshotFailed) {
      throw new CliError(`${err.message} (${err.detail})`, err.code);
    }
    cliError(err, `cannot back up ${dbPath}`);
  }
  report(out, info, flags.json);
}

/** A snapshot made by a node elsewhere (`GET /api/backup`), checked here before it counts. */
async function createRemote(flags: CreateFlags): Promise<void> {
  const client = connect({ url: flags.url, token: flags.token, db: flags.db });
  if (flags.out) refuseExisting(flags.out);
  const res = await client.download("/api/backup");
  const offered = /filename="([^"]+)"/.exec(res.headers.get("content-disposition") ?? "")?.[1];
  const name = offered && /^[A-Za-z0-9._-]+$/.test(offered) && !offered.startsWith(".")
    ? offered
    : backupFileName(new Date());
  const out = flags.out ?? name;
  refuseExisting(out);
  const partial = `${out}.partial`;
  let file: Deno.FsFile;
  try {
    file = await Deno.open(partial, { write: true, createNew: true, mode: 0o600 });
  } catch (err) {
    await res.body?.cancel();
    cliError(err, `cannot write ${partial}`);
  }
  let info: DatabaseFileInfo;
  try {
    let received = 0;
    try {
      for await (const chunk of res.body!) {
        await file.write(chunk);
        received += chunk.length;
      }
    } catch {
      throw new CliError(`${client.conn.url} stopped sending the backup mid-way`, "UNREACHABLE");
    } finally {
      file.close();
    }
    const expected = Number(res.headers.get("content-length") ?? received);
    if (received !== expected) {
      throw new CliError(
        `the backup arrived incomplete (${received} of ${expected} bytes)`,
        "UNREACHABLE",
      );
    }
    try {
      info = checkDatabaseFile(partial);
    } catch (err) {
      cliError(err, "the backup that arrived is not usable");
    }
    Deno.renameSync(partial, out);
  } catch (err) {
    await Deno.remove(partial).catch(() => {});
    throw err;
  }
  report(out, info, flags.json);
}

function list(flags: { db?: string; dir?: string; json?: boolean }): void {
  localOnly("list", {});
  const dir = flags.dir ?? backupDirOf(resolveDbPath(flags.db));
  const rows = listBackups(dir).map((b) => {
    let check: { ok: boolean; schema: number | null; problem: string | null; code: string | null };
    try {
      check = {
        ok: true,
        schema: checkDatabaseFile(b.path, { quick: true }).schema,
        problem: null,
        code: null,
      };
    } catch (err) {
      if (!(err instanceof BackupError)) throw err;
      check = { ok: false, schema: null, problem: err.message, code: err.code };
    }
    return { file: b.path, name: b.name, bytes: b.bytes, taken_at: b.taken_at, ...check };
  });
  if (flags.json) return printJson(rows);
  if (rows.length === 0) return console.log(`no backups in ${dir}`);
  console.log(`backups in ${dir}:`);
  printTable(
    ["NAME", "SIZE", "TAKEN (UTC)", "CHECK"],
    rows.map((r) => [r.name, formatBytes(r.bytes), formatTime(r.taken_at), r.ok ? "ok" : r.code]),
  );
}

function restore(file: string, flags: { db: string; json?: boolean }): void {
  localOnly("restore", {});
  if (!fileExists(file)) throw new CliError(`there is no file ${file}`, "FILE_NOT_FOUND");
  const target = resolveDbPath(flags.db);
  let result;
  try {
    result = restoreDatabase(file, target);
  } catch (err) {
    cliError(err, `refused to restore ${file}`);
  }
  if (flags.json) return printJson({ file, db: target, ...result });
  console.log(`restored ${file} into ${target} (schema ${result.schema}, integrity ok)`);
  if (result.replaced) console.log(`the database it replaced is kept as ${result.replaced}`);
  console.log(`start the node on it: fazt server start --db ${target}`);
}

export function backupCommand(program: Command): void {
  const backup = program.command("backup").description(
    "consistent copies of a node's database: create, list, restore",
  );
  backup.command("create")
    .description(
      "copy the database while the node serves (checked before it is reported done); " +
        "with --url or @NAME, download one from that node",
    )
    .option("--out <file>", "where to write it (default: the backup folder, or here when remote)")
    .option("--db <path>", "the database (default $FAZT_DB or ~/.fazt/data.db)")
    .option("--url <url>", "back up the node at this URL through its API (admin token)")
    .option("--token <token>", "API token for --url (default $FAZT_TOKEN)")
    .option("--json", "print JSON")
    .action((flags: CreateFlags) => {
      if (peerInUse() !== undefined || flags.url) return createRemote(flags);
      if (flags.token) {
        throw new CliError("--token goes with --url (a node to back up)", "VALIDATION_FAILED");
      }
      return createLocal(flags);
    });
  backup.command("list")
    .description("the backups in the backup folder, each quickly checked")
    .option("--db <path>", "the database whose backup_dir to list")
    .option("--dir <dir>", "list this folder instead")
    .option("--json", "print JSON")
    .action(list);
  backup.command("restore")
    .description(
      "replace a stopped node's database with a backup (the replaced file is kept beside it)",
    )
    .argument("<file>", "the backup")
    .requiredOption("--db <path>", "the database to replace")
    .option("--json", "print JSON")
    .action(restore);
}
