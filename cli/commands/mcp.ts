import type { Command } from "commander";
import { CliError } from "../cli_error.ts";
import { peerInUse } from "../peer_shorthand.ts";
import type { McpFlags } from "../mcp_stdio.ts";

export function mcpCommand(program: Command): void {
  program.command("mcp")
    .description("MCP server over stdio for coding agents (stdout carries only MCP messages)")
    .option("--peer <name>", "act on this peer (default: the default peer)")
    .option("--url <url>", "server URL (default $FAZT_URL or the default peer)")
    .option("--token <token>", "API token (default $FAZT_TOKEN or the default peer's)")
    .option("--db <path>", "database holding the peers table")
    .action(async (flags: McpFlags) => {
      // `fazt @NAME mcp` is `fazt mcp --peer NAME`: the same default, listed and acted on.
      const shorthand = peerInUse();
      if (shorthand !== undefined) {
        if (flags.peer !== undefined && flags.peer !== shorthand) {
          throw new CliError(
            `@${shorthand} and --peer ${flags.peer} name different peers`,
            "VALIDATION_FAILED",
          );
        }
        flags = { ...flags, peer: shorthand };
      }
      if (flags.peer && (flags.url || flags.token)) {
        const given = shorthand !== undefined ? "@NAME" : "--peer";
        throw new CliError(`use either ${given} or --url/--token, not both`, "VALIDATION_FAILED");
      }
      const { serveMcpStdio } = await import("../mcp_stdio.ts");
      await serveMcpStdio(flags);
    });
}
