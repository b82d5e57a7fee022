import type { Command } from "commander";
import { resolve } from "node:path";
import { hashPassword } from "../../lib/password.ts";
import { currentProgram } from "../../lib/program.ts";
import {
  ensureLocalPeer,
  ensureOwner,
  type HttpsOptions,
  startServer,
  StaticCertificates,
  type Upgrader,
} from "../../server/mod.ts";
import {
  isSecretSetting,
  isSettingKey,
  SETTING_DEFS,
  SettingError,
  Storage,
} from "../../storage/mod.ts";
import { VERSION } from "../../version.ts";
import { CliError } from "../cli_error.ts";
import { printJson, printTable } from "../output.ts";
import { resolveDbPath } from "../paths.ts";
import { restartOnNewProgram, restartSameProgram } from "../restart.ts";

function openStorage(db?: string): Storage {
  const path = resolveDbPath(db);
  try {
    return Storage.open(path);
  } catch (err) {
    throw new CliError(
      `cannot open the database ${path}: ${err instanceof Error ? err.message : err}`,
      "DATABASE_UNAVAILABLE",
    );
  }
}

function settingError(err: unknown): never {
  if (err instanceof SettingError) throw new CliError(err.message, "VALIDATION_FAILED");
  throw err;
}

/** How the CLI on this machine reaches a server listening on `host:port`. */
function localUrl(host: string, port: number): string {
  const loopback = host === "0.0.0.0" || host === "::" || host === "127.0.0.1" ||
    host === "localhost";
  return `http://${loopback ? "localhost" : host}:${port}`;
}

/** `<scheme>://<name>[:port]`, leaving out the scheme's own port. */
function origin(https: boolean, name: string, port: number): string {
  return `${https ? "https" : "http"}://${name}${port === (https ? 443 : 80) ? "" : `:${port}`}`;
}

/** The dashboard's address: over HTTPS when the node serves it (`httpsPort`). */
function adminUrl(domain: string, port: number, httpsPort?: number): string {
  if (domain === "localhost") return origin(false, "localhost", port);
  return httpsPort === undefined
    ? origin(false, `admin.${domain}`, port)
    : origin(true, `admin.${domain}`, httpsPort);
}

/** `/health` as this machine reaches a node listening on `host:port`. */
function healthUrl(host: string, port: number): string {
  // `::` falls back to IPv4 alone where IPv6 is off: 127.0.0.1 answers either way.
  const h = host === "0.0.0.0" || host === "::" ? "127.0.0.1" : host;
  return `http://${h.includes(":") && !h.startsWith("[") ? `[${h}]` : h}:${port}/health`;
}

interface StartOptions {
  port?: string;
  host?: string;
  domain?: string;
  db?: string;
  https?: boolean;
  httpPort?: string;
  httpsPort?: string;
  acmeDirectory?: string;
  acmeEmail?: string;
  acmeCaFile?: string;
  tlsCert?: string;
  tlsKey?: string;
}

/** The HTTPS flags as setting overrides for this run. */
function httpsOverrides(opts: StartOptions): Record<string, unknown> {
  let caFile: string | undefined;
  if (opts.acmeCaFile !== undefined) {
    caFile = resolve(opts.acmeCaFile);
    try {
      Deno.readTextFileSync(caFile);
    } catch (err) {
      throw new CliError(
        `--acme-ca-file ${caFile} cannot be read: ${err instanceof Error ? err.message : err}`,
        "VALIDATION_FAILED",
      );
    }
  }
  return {
    https: opts.https ? 1 : undefined,
    http_port: opts.httpPort,
    https_port: opts.httpsPort,
    acme_directory: opts.acmeDirectory,
    acme_email: opts.acmeEmail,
    acme_ca_file: caFile,
  };
}

/**
 * `--tls-cert`/`--tls-key`: HTTPS with one certificate (from files) for
 * every name, instead of ACME. SIGHUP reads the files again (a renewed
 * certificate): the HTTPS listener is swapped, no connection is dropped.
 */
async function httpsFromFlags(
  opts: StartOptions,
): Promise<{ https: HttpsOptions; reload: () => Promise<void> } | undefined> {
  if (!opts.tlsCert && !opts.tlsKey) return undefined;
  if (!opts.tlsCert || !opts.tlsKey) {
    throw new CliError("--tls-cert and --tls-key go together", "VALIDATION_FAILED");
  }
  if (opts.https) {
    throw new CliError(
      "--https gets certificates over ACME, --tls-cert brings one: choose one",
      "VALIDATION_FAILED",
    );
  }
  const port = Number(opts.httpsPort ?? "443");
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new CliError("--https-port must be a port number", "VALIDATION_FAILED");
  }
  const { tlsCert, tlsKey } = opts;
  const read = async () => ({
    cert: await Deno.readTextFile(tlsCert),
    key: await Deno.readTextFile(tlsKey),
  });
  let certificates: StaticCertificates;
  try {
    certificates = new StaticCertificates({ "*": await read() });
  } catch (err) {
    throw new CliError(
      `cannot read the TLS certificate or key: ${err instanceof Error ? err.message : err}`,
      "TLS_FILES_UNREADABLE",
    );
  }
  const reload = async () => {
    try {
      certificates.set("*", await read());
      console.error(`${new Date().toISOString()} SIGHUP: TLS certificate read again`);
    } catch (err) {
      console.error(`${new Date().toISOString()} SIGHUP: cannot read the TLS files: ${err}`);
    }
  };
  return { https: { port, certificates }, reload };
}

async function start(opts: StartOptions) {
  const dbPath = resolveDbPath(opts.db);
  const https = httpsOverrides(opts);
  // Signal handlers first: Deno creates its signal pipe on the first one,
  // and doing that later, out of descriptors (a flood), panics.
  let server: Awaited<ReturnType<typeof startServer>> | undefined;
  let stopping = false;
  const stop = async () => {
    // A second signal does not wait.
    if (stopping) Deno.exit(130);
    stopping = true;
    await server?.close();
    Deno.exit(0);
  };
  const signals: Deno.Signal[] = Deno.build.os === "windows" ? ["SIGINT"] : ["SIGINT", "SIGTERM"];
  for (const s of signals) Deno.addSignalListener(s, stop);
  const tls = await httpsFromFlags(opts);
  if (tls && Deno.build.os !== "windows") Deno.addSignalListener("SIGHUP", tls.reload);
  const storage = openStorage(opts.db);
  // An accepted upgrade stops the node, then swaps the program and restarts.
  let restart: { staged: string; version: string; stopped: Promise<void> } | undefined;
  // A restart asked over the API: the same program, where the stored settings say.
  let again: { stopped: Promise<void>; host: string; port: number; pin: boolean } | undefined;
  // After the 202 has gone out.
  const stopSoon = () => new Promise<void>((r) => setTimeout(r, 100)).then(() => server!.close());
  const upgrader: Upgrader = {
    program: currentProgram(),
    apply(staged, version) {
      restart = { staged, version, stopped: stopSoon() };
    },
    restart() {
      const stored = storage.settings.load();
      // A port given on the command line stays (the one picked for port 0
      // too); otherwise the stored one applies, and /health is looked for there.
      const pin = opts.port !== undefined || stored.port === 0;
      const port = pin ? server!.port : stored.port;
      again = { stopped: stopSoon(), host: opts.host ?? stored.host, port, pin };
    },
  };
  try {
    server = await startServer({
      storage,
      overrides: { port: opts.port, host: opts.host, domain: opts.domain, ...https },
      upgrader,
      https: tls?.https,
    });
  } catch (err) {
    storage.close();
    if (err instanceof SettingError) settingError(err);
    if (err instanceof Deno.errors.AddrInUse) {
      throw new CliError(`port ${opts.port ?? "4698"} is already in use`, "ADDR_IN_USE");
    }
    throw err;
  }
  const { settings } = server.context;
  const local = localUrl(settings.host, server.port);
  const created = await ensureOwner(storage, local);
  ensureLocalPeer(storage, local);
  console.log(`fazt ${VERSION} listening on ${server.url} (domain ${settings.domain})`);
  console.log(`database: ${dbPath}`);
  console.log(`admin:    ${adminUrl(settings.domain, server.port, server.https?.port)}`);
  const apps = server.https
    ? origin(true, `<app>.${settings.domain}`, server.https.port)
    : `http://<app>.${settings.domain}:${server.port}`;
  console.log(`apps:     ${apps}`);
  if (server.https) console.log(`https:    port ${server.https.port}`);
  if (!tls && settings.https === 1) {
    console.log(`https:    certificates from ${settings.acme_directory} ('fazt cert list')`);
  }
  if (created) {
    console.log("");
    console.log("First run: the owner account was created. This password is shown only once.");
    console.log(`  username: ${created.username}`);
    console.log(`  password: ${created.password}`);
    console.log(
      "The CLI on this machine is set up (peer 'local'): try 'deno task fazt deploy ./site'.",
    );
  }
  await server.finished;
  if (again) {
    for (const s of signals) Deno.removeSignalListener(s, stop);
    await again.stopped;
    const args = again.pin ? [...Deno.args, "--port", String(again.port)] : Deno.args;
    Deno.exit(
      await restartSameProgram({
        program: upgrader.program,
        version: VERSION,
        args,
        healthUrl: healthUrl(again.host, again.port),
        log: (m) => console.error(`${new Date().toISOString()} ${m}`),
      }),
    );
  }
  if (!restart) return;
  // From here on a signal is for the node that is about to run (forwarded).
  for (const s of signals) Deno.removeSignalListener(s, stop);
  await restart.stopped;
  Deno.exit(
    await restartOnNewProgram({
      program: upgrader.program,
      staged: restart.staged,
      version: restart.version,
      previousVersion: VERSION,
      // The same port even when it was picked at random (--port 0).
      args: [...Deno.args, "--port", String(server.port)],
      healthUrl: healthUrl(settings.host, server.port),
      dbPath,
      log: (m) => console.error(`${new Date().toISOString()} ${m}`),
    }),
  );
}

async function init(
  opts: {
    domain?: string;
    username: string;
    password: string;
    port?: string;
    db?: string;
    force?: boolean;
  },
) {
  if (opts.password.length < 8) {
    throw new CliError("the password must have at least 8 characters", "VALIDATION_FAILED");
  }
  if (!/^[A-Za-z0-9._@-]{1,64}$/.test(opts.username)) {
    throw new CliError("the username must be 1-64 letters, digits or . _ @ -", "VALIDATION_FAILED");
  }
  const storage = openStorage(opts.db);
  try {
    if (storage.owner.get() && !opts.force) {
      throw new CliError(
        "this database already has an owner (use --force to replace it)",
        "ALREADY_INITIALISED",
      );
    }
    const hash = await hashPassword(opts.password);
    try {
      storage.db.transaction(() => {
        if (opts.domain) storage.settings.set("domain", opts.domain);
        if (opts.port) storage.settings.set("port", opts.port);
        storage.owner.set(opts.username, hash);
      });
    } catch (err) {
      settingError(err);
    }
    console.log(
      `initialised ${
        resolveDbPath(opts.db)
      } for ${storage.settings.load().domain} (owner ${opts.username})`,
    );
  } finally {
    storage.close();
  }
}

function config(
  key: string | undefined,
  value: string | undefined,
  opts: { db?: string; json?: boolean },
) {
  const storage = openStorage(opts.db);
  try {
    if (key !== undefined && !isSettingKey(key)) {
      throw new CliError(
        `unknown setting '${key}'; known: ${Object.keys(SETTING_DEFS).join(", ")}`,
        "VALIDATION_FAILED",
      );
    }
    if (key !== undefined && value !== undefined) {
      if (isSecretSetting(key)) {
        // A value on the command line is in `ps` and the shell's history.
        throw new CliError(
          `${key} is a credential: give it on standard input, e.g. ` +
            "fazt replicate enable --to URL --secret-stdin",
          "VALIDATION_FAILED",
        );
      }
      try {
        storage.settings.set(key, value);
      } catch (err) {
        settingError(err);
      }
    }
    const all: Record<string, string | number> = storage.settings.load();
    // Credentials are never printed: only whether one is set.
    for (const k of Object.keys(all)) {
      if (isSecretSetting(k)) all[k] = all[k] === "" ? "(not set)" : "(set)";
    }
    if (key !== undefined) {
      if (opts.json) printJson({ [key]: all[key] });
      else console.log(String(all[key]));
    } else if (opts.json) printJson(all);
    else printTable(["SETTING", "VALUE"], Object.entries(all).map(([k, v]) => [k, v]));
  } finally {
    storage.close();
  }
}

export function serverCommand(program: Command): void {
  const server = program.command("server").description("run and set up this node");
  server.command("start")
    .description("start serving (first run creates the owner and prints its password)")
    .option("--port <n>", "port to listen on (default 4698)")
    .option("--host <addr>", "address to listen on (default ::, every IPv6 and IPv4 address)")
    .option("--domain <domain>", "the node's domain (default localhost)")
    .option("--db <path>", "database file (default $FAZT_DB or ~/.fazt/data.db)")
    .option("--https", "get certificates over ACME and serve HTTPS (setting https)")
    .option("--http-port <n>", "plain HTTP port for HTTPS nodes, ACME's HTTP-01 (default 80)")
    .option("--https-port <n>", "HTTPS port (default 443)")
    .option("--acme-directory <url>", "ACME directory (default Let's Encrypt production)")
    .option("--acme-email <address>", "contact address for the ACME account")
    .option("--acme-ca-file <pem>", "extra CA certificates to trust for the ACME server's TLS")
    .option(
      "--tls-cert <file>",
      "serve HTTPS with this certificate chain (PEM) for every name, instead of ACME",
    )
    .option("--tls-key <file>", "the private key (PEM) of --tls-cert")
    .action(start);
  server.command("init")
    .description("create the owner account and store the domain")
    .requiredOption("--username <name>", "owner user name")
    .requiredOption("--password <password>", "owner password (8+ characters)")
    .option("--domain <domain>", "the node's domain")
    .option("--port <n>", "port to listen on")
    .option("--db <path>", "database file")
    .option("--force", "replace an existing owner")
    .action(init);
  server.command("config")
    .description("show or change stored settings: 'config', 'config KEY', 'config KEY VALUE'")
    .argument("[key]", "setting name")
    .argument("[value]", "new value")
    .option("--db <path>", "database file")
    .option("--json", "print JSON")
    .action(config);
}
