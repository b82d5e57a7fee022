import type { Command } from "commander";
import { CliError } from "../cli_error.ts";
import type { McpFlags } from "../mcp_stdio.ts";

export function mcpCommand(program: Command): void {
  program.command("mcp")
    .description("MCP server over stdio for coding agents (stdout carries only MCP messages)")
    .option("--peer <name>", "act on this peer (default: the default peer)")
    .option("--url <url>", "server URL (default $FAZT_URL or the default peer)")
    .option("--token <token>", "API token (default $FAZT_TOKEN or the default peer's)")
    .option("--db <path>", "database holding the peers table")
    .action(async (flags: McpFlags) => {
      if (flags.peer && (flags.url || flags.token)) {
        throw new CliError("use either --peer or --url/--token, not both", "VALIDATION_FAILED");
      }
      // @NAME is the same as --peer NAME.
      const { serveMcpStdio } = await import("../mcp_stdio.ts");
      await serveMcpStdio(flags);
    });
}
