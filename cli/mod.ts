/**
 * The `fazt` command line.
 * @module
 */
import { Command, CommanderError } from "commander";
import { VERSION } from "../version.ts";
import { ApiError } from "../lib/envelope.ts";
import { CliError } from "./cli_error.ts";
import { printError } from "./output.ts";
import { peerShorthand } from "./peer_shorthand.ts";

export { CliError } from "./cli_error.ts";

type Register = (program: Command) => void;

/**
 * Each top-level command's module, in the order help lists them. Loading a
 * command's module is most of the time a command takes to start, so only
 * the one that runs is loaded (all of them for help and unknown names).
 */
const COMMANDS: readonly (readonly [string, () => Promise<Register>])[] = [
  ["server", async () => (await import("./commands/server.ts")).serverCommand],
  ["token", async () => (await import("./commands/token.ts")).tokenCommand],
  ["deploy", async () => (await import("./commands/deploy.ts")).deployCommand],
  ["app", async () => (await import("./commands/app.ts")).appCommand],
  ["cert", async () => (await import("./commands/cert.ts")).certCommand],
  ["stats", async () => (await import("./commands/stats.ts")).statsCommand],
  ["remote", async () => (await import("./commands/remote.ts")).remoteCommand],
  ["upgrade", async () => (await import("./commands/upgrade.ts")).upgradeCommand],
  ["backup", async () => (await import("./commands/backup.ts")).backupCommand],
  ["replicate", async () => (await import("./commands/replicate.ts")).replicateCommand],
  ["restore", async () => (await import("./commands/restore.ts")).restoreCommand],
  ["standby", async () => (await import("./commands/standby.ts")).standbyCommand],
  ["service", async () => (await import("./commands/service.ts")).serviceCommand],
  ["mcp", async () => (await import("./commands/mcp.ts")).mcpCommand],
];

/**
 * The command tree: with `only`, the name of a top-level command, just that
 * command (the program's help and version stay the same).
 */
export async function buildProgram(only?: string): Promise<Command> {
  const program = new Command("fazt")
    .description("fazt: sovereign compute for one person")
    .version(
      `fazt ${VERSION} (deno ${Deno.version.deno}, ${Deno.build.os}/${Deno.build.arch})`,
      "-v, --version",
    )
    .showHelpAfterError()
    // Program options only before a subcommand, so `app rollback --version N`
    // is the subcommand's option, not the program's version flag.
    .enablePositionalOptions()
    .exitOverride();
  const wanted = COMMANDS.filter(([name]) => only === undefined || name === only);
  const registers = await Promise.all(wanted.map(([, load]) => load()));
  for (const register of registers) register(program);
  program.command("help [command]", { hidden: false }).description("show help for a command")
    .action((name?: string) => {
      const cmd = name ? program.commands.find((c) => c.name() === name) : undefined;
      (cmd ?? program).outputHelp();
    });
  return program;
}

/** The top-level command `args` run, if it is one of `COMMANDS`. */
function commandOf(args: string[]): string | undefined {
  return COMMANDS.some(([name]) => name === args[0]) ? args[0] : undefined;
}

/** Whether the command line asks for JSON (`--json` before any `--`). */
function wantsJson(args: string[]): boolean {
  const end = args.indexOf("--");
  return (end === -1 ? args : args.slice(0, end)).includes("--json");
}

/** Commander prints nothing of its own for usage errors (the command tree already exists). */
function quietErrors(command: Command): void {
  command.configureOutput({ outputError: () => {}, writeErr: () => {} });
  for (const sub of command.commands) quietErrors(sub);
}

/** Runs the CLI and returns the exit code. */
export async function main(args: string[]): Promise<number> {
  const json = wantsJson(args);
  try {
    // `fazt @NAME <command>`: the command talks to peer NAME.
    const argv = peerShorthand(args);
    const program = await buildProgram(commandOf(argv));
    if (args.length === 0) {
      program.outputHelp();
      return 0;
    }
    // With --json a usage error is printed once, as JSON, below.
    if (json) quietErrors(program);
    await program.parseAsync(argv, { from: "user" });
    return 0;
  } catch (err) {
    if (err instanceof CommanderError) {
      if (json && err.exitCode !== 0) {
        printError({ code: "USAGE", message: err.message.replace(/^error: /, "") }, true);
      }
      return err.exitCode;
    }
    if (err instanceof CliError) {
      // A node's refusal keeps its own message and details apart.
      const api = err.cause instanceof ApiError ? err.cause : undefined;
      printError(
        json && api
          ? { code: err.code, message: api.message, details: api.details }
          : { code: err.code, message: err.message },
        json,
      );
      return err.exitCode;
    }
    throw err;
  }
}
