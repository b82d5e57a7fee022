/**
 * `fazt standby --from URL --db PATH`: a warm standby. It restores the
 * replica into PATH, serves the copy read-only (writes get 503 `STANDBY`),
 * restores again every `standby_interval`, and on `fazt standby promote`
 * catches up once more and becomes a primary that replicates to its own
 * target, on the same port.
 * @module
 */
import type { Command } from "commander";
import { parseDuration } from "../../lib/duration.ts";
import type { ReplicaCredentials } from "../../lib/litestream_config.ts";
import { parseReplicaUrl, ReplicaUrlError } from "../../lib/replica_url.ts";
import {
  type Api,
  enableChanges,
  ensureLocalPeer,
  ReplicaRestoreError,
  restoreFromReplica,
  type RunningServer,
  Standby,
  startServer,
} from "../../server/mod.ts";
import {
  assertNotInUse,
  BackupError,
  compactTime,
  detachReplica,
  restoreDatabase,
  SettingError,
  Storage,
} from "../../storage/mod.ts";
import { VERSION } from "../../version.ts";
import { CliError } from "../cli_error.ts";
import { connect, type ConnectionFlags } from "../connection.ts";
import { printJson } from "../output.ts";
import { resolveDbPath } from "../paths.ts";
import { type CredentialFlags, credentialOptions, readCredentials } from "../replica_flags.ts";

interface FollowFlags extends CredentialFlags {
  from: string;
  db?: string;
  to?: string;
  interval?: string;
  port?: string;
  host?: string;
  domain?: string;
  litestream?: string;
}

function checkUrl(flag: string, url: string | undefined): void {
  if (url === undefined) return;
  try {
    parseReplicaUrl(url);
  } catch (err) {
    if (err instanceof ReplicaUrlError) {
      throw new CliError(`${flag}: ${err.message}`, "VALIDATION_FAILED");
    }
    throw err;
  }
}

function refusal(err: unknown): never {
  if (err instanceof ReplicaRestoreError || err instanceof BackupError) {
    throw new CliError(err.message, err.code);
  }
  if (err instanceof SettingError) throw new CliError(err.message, "VALIDATION_FAILED");
  throw err;
}

function log(message: string): void {
  console.error(`${new Date().toISOString()} ${message}`);
}

/** The first copy: restored, checked, detached from the replica, put at `dbPath`. */
async function firstCopy(flags: FollowFlags, dbPath: string, credentials: ReplicaCredentials) {
  const dir = dbPath.replace(/[\\/][^\\/]*$/, "") || ".";
  await Deno.mkdir(dir, { recursive: true, mode: 0o700 });
  const incoming = `${dir}/.fazt-standby-${compactTime(new Date())}.db`;
  try {
    await restoreFromReplica({
      from: flags.from,
      credentials,
      litestream: flags.litestream ?? "auto",
      out: incoming,
    });
    detachReplica(incoming);
    return restoreDatabase(incoming, dbPath);
  } finally {
    for (const side of ["", "-wal", "-shm"]) await Deno.remove(incoming + side).catch(() => {});
  }
}

function banner(server: RunningServer, what: string): void {
  const { settings } = server.context;
  console.log(`fazt ${VERSION} ${what} listening on ${server.url} (domain ${settings.domain})`);
  console.log(`apps:     http://<app>.${settings.domain}:${server.port}`);
}

async function follow(flags: FollowFlags): Promise<void> {
  checkUrl("--from", flags.from);
  checkUrl("--to", flags.to);
  let intervalMs: number | undefined;
  if (flags.interval !== undefined) {
    intervalMs = parseDuration(flags.interval);
    if (intervalMs === undefined || intervalMs < 1000) {
      throw new CliError(
        "--interval must be a duration of 1s or more (30s, 1m)",
        "VALIDATION_FAILED",
      );
    }
  }
  if (flags.litestream !== undefined && !flags.litestream.startsWith("/")) {
    throw new CliError("--litestream must be an absolute path", "VALIDATION_FAILED");
  }
  const credentials = await readCredentials(flags);
  const dbPath = resolveDbPath(flags.db);
  let copy;
  try {
    assertNotInUse(dbPath);
    copy = await firstCopy(flags, dbPath, credentials);
  } catch (err) {
    refusal(err);
  }
  log(`standby: restored ${flags.from} into ${dbPath} (schema ${copy.schema}, integrity ok)`);

  const storage = Storage.open(dbPath);
  storage.db.readOnly = true;
  const stored = storage.settings.load();
  const standby = new Standby({
    storage,
    from: flags.from,
    credentials,
    litestream: flags.litestream ?? "auto",
    intervalMs: intervalMs ?? parseDuration(stored.standby_interval)!,
    to: flags.to,
    log,
  });
  const overrides = { port: flags.port, host: flags.host, domain: flags.domain };
  let server: RunningServer;
  try {
    server = await startServer({
      storage,
      overrides: { ...overrides, analytics_enabled: 0 },
      standby,
      log,
    });
  } catch (err) {
    storage.close();
    if (err instanceof Deno.errors.AddrInUse) {
      throw new CliError(`port ${flags.port ?? "4698"} is already in use`, "ADDR_IN_USE");
    }
    refusal(err);
  }
  banner(server, `standby of ${flags.from}`);

  const signals: Deno.Signal[] = Deno.build.os === "windows" ? ["SIGINT"] : ["SIGINT", "SIGTERM"];
  const stopped = Promise.withResolvers<undefined>();
  const stop = () => stopped.resolve(undefined);
  for (const s of signals) Deno.addSignalListener(s, stop);
  const promotion = await Promise.race([standby.promoted, stopped.promise]);
  if (!promotion) {
    await server.close();
    Deno.exit(0);
  }

  // The standby steps down and the same port comes back as a primary.
  const port = server.port;
  await server.close();
  const primary = Storage.open(dbPath);
  try {
    const changes = enableChanges({
      url: promotion.to,
      accessKeyId: promotion.credentials.accessKeyId,
      secret: promotion.credentials.secret,
      keyPath: promotion.credentials.keyPath,
    });
    primary.db.transaction(() => {
      for (const [key, value] of Object.entries(changes)) primary.settings.set(key, value);
    });
    server = await startServer({
      storage: primary,
      overrides: { ...overrides, port },
      log,
    });
  } catch (err) {
    primary.close();
    throw err;
  }
  const host = server.context.settings.host;
  const loopback = ["0.0.0.0", "::", "127.0.0.1", "localhost"].includes(host);
  ensureLocalPeer(primary, `http://${loopback ? "localhost" : host}:${port}`);
  log(`standby: promoted; replicating to ${promotion.to}`);
  banner(server, "primary (promoted)");
  await stopped.promise;
  await server.close();
  Deno.exit(0);
}

interface PromoteFlags extends ConnectionFlags, CredentialFlags {
  to?: string;
  json?: boolean;
}

/** Promotes the standby the connection names, and waits until it answers as a primary. */
async function promote(flags: PromoteFlags): Promise<void> {
  checkUrl("--to", flags.to);
  const credentials = await readCredentials(flags);
  const client = connect(flags);
  const body: Record<string, string> = {};
  if (flags.to !== undefined) body.to = flags.to;
  if (credentials.accessKeyId !== undefined) body.access_key_id = credentials.accessKeyId;
  if (credentials.secret !== undefined) body.secret = credentials.secret;
  if (credentials.keyPath !== undefined) body.key_path = credentials.keyPath;
  const started = await client.request<Api.PromoteStarted>("POST", "/api/standby/promote", {
    body: JSON.stringify(body),
    type: "application/json",
  });
  // It catches up, steps down and comes back on the same port as a primary.
  const until = Date.now() + 120_000;
  let system: Api.System | undefined;
  while (Date.now() < until) {
    await new Promise((r) => setTimeout(r, 250));
    try {
      system = await client.request<Api.System>("GET", "/api/system", { timeoutMs: 5000 });
      if (system.standby === null && system.replication?.enabled) break;
    } catch {
      // Between the standby and the primary: nothing listens for a moment.
    }
    system = undefined;
  }
  if (!system) {
    throw new CliError(
      `${client.conn.url} did not come back as a primary within 2 minutes: see its log`,
      "PROMOTE_FAILED",
    );
  }
  if (flags.json) {
    return printJson({ promoted: true, to: started.to, replication: system.replication });
  }
  console.log(`promoted: ${client.conn.url} is a primary, replicating to ${started.to}`);
}

export function standbyCommand(program: Command): void {
  const standby = credentialOptions(
    program.command("standby")
      .description(
        "a warm standby: restore --from a replica into --db, serve it read-only, keep it current",
      )
      .option("--from <url>", "the replica to follow (as given to 'fazt replicate enable --to')")
      .option("--db <path>", "where the copy lives (default $FAZT_DB or ~/.fazt/data.db)")
      .option("--to <url>", "where to replicate once promoted (default: the --from replica)")
      .option("--interval <d>", "how often to restore (default: the standby_interval setting)")
      .option("--port <n>", "port to listen on (default 4698)")
      .option("--host <addr>", "address to listen on (default 0.0.0.0)")
      .option("--domain <domain>", "the node's domain (default: the copy's)")
      .option("--litestream <path>", "the litestream binary (default: PATH, npm's global folders)"),
  );
  standby.action((flags: FollowFlags) => {
    if (!flags.from) {
      throw new CliError("--from (the replica to follow) is required", "VALIDATION_FAILED");
    }
    return follow(flags);
  });
  credentialOptions(
    standby.command("promote")
      .description("make the standby a primary that replicates (to --to, else its own target)")
      .option("--to <url>", "where the new primary replicates")
      .option("--url <url>", "the standby's URL (default: @NAME, $FAZT_URL or the default peer)")
      .option("--token <token>", "an admin token for --url (default $FAZT_TOKEN)")
      .option("--json", "print JSON"),
  ).action(promote);
}
