/**
 * `fazt @NAME <command>`: which peer a command talks to. Kept apart from
 * the commands so the dispatcher can read it before it loads the one
 * command that runs.
 * @module
 */
import { CliError } from "./cli_error.ts";

const PEER_NAME = /^[a-z0-9][a-z0-9_-]{0,62}$/;

/** Commands that act on this machine only, which `fazt @NAME` refuses. */
const LOCAL_ONLY = new Set(["server", "service", "token", "remote", "help", "--help", "-h"]);

let peerOverride: string | undefined;

/** `fazt @NAME <command>`: the command talks to peer NAME (`undefined` resets). */
export function usePeer(name: string | undefined): void {
  peerOverride = name;
}

/** The peer `fazt @NAME` named for this command, if any. */
export function peerInUse(): string | undefined {
  return peerOverride;
}

/** `name` if it can name a peer; refuses it otherwise. */
export function checkPeerName(name: string): string {
  if (!PEER_NAME.test(name)) {
    throw new CliError(
      `'${name}' is not a peer name: lowercase letters, digits, '-' and '_', at most 63`,
      "VALIDATION_FAILED",
    );
  }
  return name;
}

/**
 * `fazt @NAME <command> …`: runs an app, backup, cert, deploy, stats or mcp command
 * against peer NAME. Returns the arguments without `@NAME`.
 */
export function peerShorthand(args: string[]): string[] {
  usePeer(undefined);
  if (!args[0]?.startsWith("@")) return args;
  const name = checkPeerName(args[0].slice(1));
  const command = args[1];
  if (command === undefined) {
    throw new CliError(`usage: fazt @${name} <command>, e.g. fazt @${name} app list`, "USAGE");
  }
  if (LOCAL_ONLY.has(command)) {
    throw new CliError(
      `'${command}' acts on this machine: @${name} works with app, backup, cert, deploy, stats and mcp`,
      "VALIDATION_FAILED",
    );
  }
  usePeer(name);
  return args.slice(1);
}
