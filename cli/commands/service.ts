/**
 * `fazt service install|uninstall|status|logs`: the node as a hardened
 * systemd service on this machine.
 * @module
 */
import type { Command } from "commander";
import { commandFor, currentProgram, type Program, SERVER_RUN_FLAGS } from "../../lib/program.ts";
import { systemdUnit, sysusersConf } from "../../lib/systemd_unit.ts";
import { certifiableDomain, ensureOwner } from "../../server/mod.ts";
import { isSettingKey, parseSetting, SettingError, Storage } from "../../storage/mod.ts";
import { CliError } from "../cli_error.ts";
import { fileExists } from "../paths.ts";

const UNIT = "fazt";
const USER_NAME = /^[a-z_][a-z0-9_-]{0,31}$/;
/** Shared folders a self-upgrading program must not be given (nor chown'd). */
const SHARED_BIN = new Set([
  "/bin",
  "/sbin",
  "/usr/bin",
  "/usr/sbin",
  "/usr/local/bin",
  "/usr/local/sbin",
]);
/**
 * Seconds systemd waits for the node to stop before SIGKILL: above its
 * shutdown grace (10 s by default) plus the time to close up after it.
 */
const STOP_TIMEOUT_SEC = 30;

interface InstallFlags {
  domain?: string;
  email?: string;
  https?: boolean;
  user: string;
  dataDir: string;
  root?: string;
}

const dirname = (path: string) => path.slice(0, Math.max(path.lastIndexOf("/"), 0)) || "/";

/**
 * What systemd runs, for the form of fazt that is running now (what the
 * README documents for it): a release archive's launcher, a compiled
 * binary, or `deno run` of a checkout with the `start` task's flags. Also
 * the program's folder when the node can upgrade itself there.
 */
export function serviceExecStart(
  program: Program,
  dbPath: string,
): { command: string[]; programDir?: string; notes: string[] } {
  const args = ["server", "start", "--db", dbPath];
  const notes: string[] = [];
  if (program.form === "source") {
    const main = decodeURIComponent(new URL(Deno.mainModule).pathname);
    const checkout = dirname(main);
    notes.push(
      "this is a source checkout: the service runs it with deno run and upgrades with git, " +
        "not by itself; its first start fetches the npm dependencies into the data folder",
    );
    return {
      command: [
        Deno.execPath(),
        "run",
        "--config",
        `${checkout}/deno.json`,
        ...SERVER_RUN_FLAGS,
        main,
        ...args,
      ],
      notes,
    };
  }
  const path = program.path!;
  const dir = dirname(path);
  const launcher = `${dir}/fazt`;
  const command = program.form === "bundle" && fileExists(launcher)
    ? [launcher, ...args]
    : commandFor(program.form, path, args);
  if (SHARED_BIN.has(dir)) {
    notes.push(
      `the program is in ${dir}, a shared folder: the node will not upgrade itself there ` +
        "(unpack fazt into a folder of its own, e.g. /opt/fazt, for that)",
    );
    return { command, notes };
  }
  return { command, programDir: dir, notes };
}

function checkFlags(flags: InstallFlags): void {
  if (!USER_NAME.test(flags.user)) {
    throw new CliError(
      `--user '${flags.user}' is not a system user name (lowercase, digits, '_', '-')`,
      "VALIDATION_FAILED",
    );
  }
  if (!flags.dataDir.startsWith("/") || /[\0\n\r"\\]/.test(flags.dataDir)) {
    throw new CliError("--data-dir must be an absolute path", "VALIDATION_FAILED");
  }
  if (flags.root !== undefined && !flags.root.startsWith("/")) {
    throw new CliError("--root must be an absolute path", "VALIDATION_FAILED");
  }
  if ((flags.https || flags.email) && !(isSettingKey("https") && isSettingKey("acme_email"))) {
    throw new CliError(
      "--https and --email need a fazt with automatic HTTPS, which this version is not",
      "UNSUPPORTED",
    );
  }
  // Checked before anything is written, so a refusal leaves no trace.
  try {
    if (flags.domain !== undefined) parseSetting("domain", flags.domain);
    if (flags.email !== undefined) parseSetting("acme_email", flags.email);
  } catch (err) {
    if (err instanceof SettingError) throw new CliError(err.message, "VALIDATION_FAILED");
    throw err;
  }
  if (flags.https) {
    const domain = flags.domain !== undefined
      ? String(parseSetting("domain", flags.domain))
      : storedDomain(`${flags.root?.replace(/\/+$/, "") ?? ""}${flags.dataDir}/data.db`);
    if (!certifiableDomain(domain)) {
      throw new CliError(
        `--https needs the node's domain to be a public DNS name (--domain example.com): ` +
          `'${domain}' cannot have a certificate`,
        "VALIDATION_FAILED",
      );
    }
  }
}

/** The domain stored in an existing database, else the default. */
function storedDomain(dbPath: string): string {
  if (!fileExists(dbPath)) return "localhost";
  const storage = Storage.open(dbPath);
  try {
    return storage.settings.load().domain;
  } finally {
    storage.close();
  }
}

/** Runs a system command; its failure is the CLI's, with its own words. */
async function system(name: string, args: string[]): Promise<void> {
  let out: Deno.CommandOutput;
  try {
    out = await new Deno.Command(name, { args, stdin: "null", stdout: "piped", stderr: "piped" })
      .output();
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) {
      throw new CliError(`${name} is not installed: this needs systemd`, "NO_SYSTEMD");
    }
    throw err;
  }
  if (out.code !== 0) {
    const why = new TextDecoder().decode(out.stderr).trim().split("\n")[0];
    throw new CliError(`${name} ${args.join(" ")} failed: ${why}`, "SYSTEM_COMMAND_FAILED");
  }
}

/** Writes `text` to `path`, making its folder; refuses clearly without root. */
function writeSystemFile(path: string, text: string, mode: number): void {
  try {
    Deno.mkdirSync(dirname(path), { recursive: true });
    Deno.writeTextFileSync(path, text, { mode });
    Deno.chmodSync(path, mode);
  } catch (err) {
    if (err instanceof Deno.errors.PermissionDenied) {
      throw new CliError(
        `cannot write ${path}: run this as root (sudo fazt service install)`,
        "PERMISSION_DENIED",
      );
    }
    throw err;
  }
}

/** Creates the database if needed, stores the domain (and HTTPS settings), makes the owner. */
async function prepareDatabase(
  path: string,
  flags: InstallFlags,
): Promise<{ password?: string; domain: string }> {
  Deno.mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  const storage = Storage.open(path);
  try {
    try {
      storage.db.transaction(() => {
        if (flags.domain !== undefined) storage.settings.set("domain", flags.domain);
        if (flags.https) storage.settings.set("https", 1);
        if (flags.email !== undefined) storage.settings.set("acme_email", flags.email);
      });
    } catch (err) {
      if (err instanceof SettingError) throw new CliError(err.message, "VALIDATION_FAILED");
      throw err;
    }
    const settings = storage.settings.load();
    const created = await ensureOwner(storage, `http://localhost:${settings.port}`);
    return { password: created?.password, domain: settings.domain };
  } finally {
    storage.close();
  }
}

async function install(flags: InstallFlags): Promise<void> {
  checkFlags(flags);
  const root = flags.root?.replace(/\/+$/, "") ?? "";
  const touchSystem = flags.root === undefined;
  const dbPath = `${flags.dataDir.replace(/\/+$/, "")}/data.db`;
  const dataDir = dirname(dbPath);
  const { command, programDir, notes } = serviceExecStart(currentProgram(), dbPath);
  const unitPath = `${root}/etc/systemd/system/${UNIT}.service`;
  const usersPath = `${root}/etc/sysusers.d/${flags.user}.conf`;
  const unit = systemdUnit({
    user: flags.user,
    command,
    dataDir,
    writable: programDir ? [programDir] : [],
    stopTimeoutSec: STOP_TIMEOUT_SEC,
    environment: { HOME: dataDir, DENO_DIR: `${dataDir}/.deno`, DENO_NO_UPDATE_CHECK: "1" },
  });

  writeSystemFile(usersPath, sysusersConf(flags.user, dataDir), 0o644);
  if (touchSystem) await system("systemd-sysusers", [usersPath]);
  const db = await prepareDatabase(root + dbPath, flags);
  if (touchSystem) {
    await system("chown", ["-R", `${flags.user}:${flags.user}`, dataDir]);
    if (programDir) await system("chown", ["-R", `${flags.user}:${flags.user}`, programDir]);
  }
  writeSystemFile(unitPath, unit, 0o644);
  console.log(`wrote ${unitPath}`);
  console.log(`wrote ${usersPath} (the system user '${flags.user}')`);
  console.log(`database: ${root + dbPath} (domain ${db.domain})`);
  if (db.password) {
    console.log("The owner account was created. This password is shown only once.");
    console.log("  username: admin");
    console.log(`  password: ${db.password}`);
  }
  for (const note of notes) console.log(`note: ${note}`);
  if (!touchSystem) {
    console.log("--root: nothing else on this system was changed (no user, no systemctl)");
    return;
  }
  await system("systemctl", ["daemon-reload"]);
  await system("systemctl", ["enable", UNIT]);
  await system("systemctl", ["restart", UNIT]);
  console.log(`started: 'fazt service status' shows it, 'fazt service logs' follows its log`);
}

async function uninstall(flags: { user: string; root?: string }): Promise<void> {
  if (!USER_NAME.test(flags.user)) {
    throw new CliError(`--user '${flags.user}' is not a system user name`, "VALIDATION_FAILED");
  }
  if (flags.root !== undefined && !flags.root.startsWith("/")) {
    throw new CliError("--root must be an absolute path", "VALIDATION_FAILED");
  }
  const root = flags.root?.replace(/\/+$/, "") ?? "";
  const unitPath = `${root}/etc/systemd/system/${UNIT}.service`;
  if (flags.root === undefined) {
    // Stopped before its unit goes, so systemd still knows how to stop it.
    await system("systemctl", ["disable", "--now", UNIT]).catch((err) => {
      if (fileExists(unitPath)) throw err;
    });
  }
  for (const path of [unitPath, `${root}/etc/sysusers.d/${flags.user}.conf`]) {
    try {
      Deno.removeSync(path);
      console.log(`removed ${path}`);
    } catch (err) {
      if (err instanceof Deno.errors.PermissionDenied) {
        throw new CliError(`cannot remove ${path}: run this as root`, "PERMISSION_DENIED");
      }
      if (!(err instanceof Deno.errors.NotFound)) throw err;
    }
  }
  if (flags.root === undefined) await system("systemctl", ["daemon-reload"]);
  console.log(
    `kept: the data folder and the user '${flags.user}' (remove them yourself if you mean to)`,
  );
}

/** Runs a systemd tool with this terminal; its exit status becomes ours. */
async function passThrough(name: string, args: string[]): Promise<void> {
  let status: Deno.CommandStatus;
  try {
    status = await new Deno.Command(name, {
      args,
      stdin: "inherit",
      stdout: "inherit",
      stderr: "inherit",
    })
      .spawn().status;
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) {
      throw new CliError(`${name} is not installed: this needs systemd`, "NO_SYSTEMD");
    }
    throw err;
  }
  if (status.code !== 0) {
    throw new CliError(`${name} exited with ${status.code}`, "SERVICE_COMMAND_FAILED", status.code);
  }
}

export function serviceCommand(program: Command): void {
  const service = program.command("service").description(
    "run this node as a hardened systemd service on this machine",
  );
  service.command("install")
    .description(
      "write, enable and start the systemd unit (its own system user, read-only system, " +
        "ports 80/443 without root); run it again to change it",
    )
    .option("--domain <domain>", "store the node's domain")
    .option("--email <email>", "the ACME account's email (with --https)")
    .option("--https", "serve HTTPS with certificates from Let's Encrypt")
    .option("--user <name>", "the system user it runs as", "fazt")
    .option("--data-dir <dir>", "where its database lives", "/var/lib/fazt")
    .option(
      "--root <dir>",
      "write every file under this folder instead of / and change nothing else (for checking)",
    )
    .action(install);
  service.command("uninstall")
    .description("stop, disable and remove the unit (the data and the user are kept)")
    .option("--user <name>", "the system user it ran as", "fazt")
    .option("--root <dir>", "remove the files under this folder instead of /, nothing else")
    .action(uninstall);
  service.command("status")
    .description("systemctl status of the service")
    .action(() => passThrough("systemctl", ["status", UNIT, "--no-pager"]));
  service.command("logs")
    .description("the service's log (journalctl), followed")
    .option("-n, --lines <n>", "how many earlier lines to show", "100")
    .option("--no-follow", "print and exit")
    .action((flags: { lines: string; follow: boolean }) => {
      if (!/^\d{1,7}$/.test(flags.lines)) {
        throw new CliError("--lines must be a whole number", "VALIDATION_FAILED");
      }
      return passThrough("journalctl", [
        "-u",
        UNIT,
        "-n",
        flags.lines,
        ...(flags.follow ? ["-f"] : ["--no-pager"]),
      ]);
    });
}
