/**
 * The `fazt` command line.
 * @module
 */
import { Command, CommanderError } from "commander";
import { VERSION } from "../version.ts";
import { ApiError } from "../lib/envelope.ts";
import { CliError } from "./cli_error.ts";
import { printError } from "./output.ts";
import { appCommand } from "./commands/app.ts";
import { certCommand } from "./commands/cert.ts";
import { backupCommand } from "./commands/backup.ts";
import { deployCommand } from "./commands/deploy.ts";
import { mcpCommand } from "./commands/mcp.ts";
import { peerShorthand, remoteCommand } from "./commands/remote.ts";
import { replicateCommand } from "./commands/replicate.ts";
import { restoreCommand } from "./commands/restore.ts";
import { serverCommand } from "./commands/server.ts";
import { serviceCommand } from "./commands/service.ts";
import { standbyCommand } from "./commands/standby.ts";
import { statsCommand } from "./commands/stats.ts";
import { tokenCommand } from "./commands/token.ts";
import { upgradeCommand } from "./commands/upgrade.ts";

export { CliError } from "./cli_error.ts";

export function buildProgram(): Command {
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
  serverCommand(program);
  tokenCommand(program);
  deployCommand(program);
  appCommand(program);
  certCommand(program);
  statsCommand(program);
  remoteCommand(program);
  upgradeCommand(program);
  backupCommand(program);
  replicateCommand(program);
  restoreCommand(program);
  standbyCommand(program);
  serviceCommand(program);
  mcpCommand(program);
  program.command("help [command]", { hidden: false }).description("show help for a command")
    .action((name?: string) => {
      const cmd = name ? program.commands.find((c) => c.name() === name) : undefined;
      (cmd ?? program).outputHelp();
    });
  return program;
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
  const program = buildProgram();
  if (args.length === 0) {
    program.outputHelp();
    return 0;
  }
  const json = wantsJson(args);
  // With --json a usage error is printed once, as JSON, below.
  if (json) quietErrors(program);
  try {
    // `fazt @NAME <command>`: the command talks to peer NAME.
    await program.parseAsync(peerShorthand(args), { from: "user" });
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
