/**
 * `fazt upgrade [--check] [--version V] [--feed URL]`: the node (the default
 * one, `--url`, or `fazt @NAME upgrade`) upgrades itself from its release
 * feed; `fazt remote upgrade NAME --feed [URL]` does the same through
 * `feedUpgrade`. The node does the work (reads the feed, checks target,
 * signature, size and SHA-256, swaps, restarts, rolls back); the CLI asks
 * and waits for the version that comes back.
 * @module
 */
import type { Command } from "commander";
import type { Api } from "../../server/mod.ts";
import type { ApiClient } from "../api_client.ts";
import { CliError } from "../cli_error.ts";
import { connect, type ConnectionFlags } from "../connection.ts";
import { formatBytes, printJson } from "../output.ts";
import { waitForVersion } from "../upgrade_wait.ts";

export interface FeedUpgradeFlags {
  check?: boolean;
  version?: string;
  /** A feed URL for this upgrade, over the node's `release_feed` setting. */
  feed?: string;
  json?: boolean;
}

// The node downloads the release (~45 MB) and runs it once before it answers.
const UPGRADE_TIMEOUT_MS = 20 * 60_000;

/**
 * `--check`, or the upgrade itself, on the node behind `client` (called
 * `name` in messages; `command` is how to upgrade it, for the check's hint).
 */
export async function feedUpgrade(
  client: ApiClient,
  name: string,
  flags: FeedUpgradeFlags,
  command = "fazt upgrade",
): Promise<void> {
  if (flags.check) return await check(client, name, flags, command);
  // The pid tells a restarted node from the one that took the request.
  const before = await client.get<Api.System>("/api/system");
  const body: Record<string, string> = { from: "feed" };
  if (flags.version) body.version = flags.version;
  if (flags.feed) body.feed = flags.feed;
  const sent = await client.request<Api.UpgradeStarted>(
    "POST",
    "/api/upgrade",
    { body: JSON.stringify(body), type: "application/json", timeoutMs: UPGRADE_TIMEOUT_MS },
  );
  if (sent.action === "already_current") {
    if (flags.json) return printJson({ node: name, ...sent });
    return console.log(`${name} already runs fazt ${sent.to}, the feed's release`);
  }
  const now = await waitForVersion(client, sent.to, before.pid);
  if (now !== sent.to) {
    throw new CliError(
      `${name} did not come up on fazt ${sent.to}` +
        (now ? `: it went back to fazt ${now}` : " and does not answer"),
      "UPGRADE_FAILED",
    );
  }
  if (flags.json) return printJson({ node: name, action: "upgraded", from: sent.from, to: now });
  console.log(`upgraded ${name} from fazt ${sent.from} to ${now}`);
}

async function check(
  client: ApiClient,
  name: string,
  flags: FeedUpgradeFlags,
  command: string,
): Promise<void> {
  const q = new URLSearchParams();
  if (flags.version) q.set("version", flags.version);
  if (flags.feed) q.set("feed", flags.feed);
  const info = await client.get<Api.ReleaseInfo>(`/api/upgrade/release${q.size ? `?${q}` : ""}`);
  if (flags.json) return printJson({ node: name, ...info });
  console.log(
    `${name} runs fazt ${info.version} (${info.form}, ${info.target}); ${info.feed} offers ` +
      `fazt ${info.available} (${formatBytes(info.size)}, ${info.date.slice(0, 10)})`,
  );
  if (!info.can_upgrade) console.log(`${name} cannot upgrade itself: ${info.reason}`);
  else if (info.upgrade_available) console.log(`upgrade available: run '${command}'`);
  else console.log(`${name} is up to date`);
}

export function upgradeCommand(program: Command): void {
  program.command("upgrade")
    .description(
      "upgrade the node from its release feed: checked (target, signature, size, SHA-256), " +
        "swapped in, restarted, and rolled back if it does not come up healthy",
    )
    .option("--check", "only report what the feed offers; change nothing")
    .option("--version <version>", "take exactly this version (never an older one)")
    .option("--feed <url>", "read this release.json instead of the node's release_feed setting")
    .option("--url <url>", "server URL (default $FAZT_URL or the default peer)")
    .option("--token <token>", "API token (default $FAZT_TOKEN or the default peer's)")
    .option("--db <path>", "database holding the peers table")
    .option("--json", "print JSON")
    .action(async (flags: FeedUpgradeFlags & ConnectionFlags) => {
      const client = connect(flags);
      await feedUpgrade(client, "this node", flags);
    });
}
