import type { Command } from "commander";
import { suggestAppName } from "../../lib/app_name.ts";
import type { Api } from "../../server/mod.ts";
import type { ApiClient } from "../api_client.ts";
import { CliError } from "../cli_error.ts";
import { connect, type ConnectionFlags } from "../connection.ts";
import { formatBytes, printJson } from "../output.ts";
import { zipFolder } from "../zip_folder.ts";

interface DeployFlags extends ConnectionFlags {
  name?: string;
  draft?: boolean;
  json?: boolean;
}

function basename(path: string): string {
  const parts = path.replace(/[\\/]+$/, "").split(/[\\/]/);
  const last = parts[parts.length - 1];
  return last === "." || last === "" ? Deno.cwd().split(/[\\/]/).pop() ?? "" : last;
}

async function readInput(
  path: string,
  store: boolean,
): Promise<{ zip: Uint8Array<ArrayBuffer>; note: string }> {
  let stat: Deno.FileInfo;
  try {
    stat = await Deno.stat(path);
  } catch {
    throw new CliError(`'${path}' does not exist`, "NOT_FOUND");
  }
  if (stat.isDirectory) {
    const z = await zipFolder(path, { store });
    if (z.files === 0) throw new CliError(`'${path}' has no files to deploy`, "EMPTY");
    const skipped = z.skipped.length
      ? `, skipped ${z.skipped.length} (dotfiles, node_modules, links)`
      : "";
    return { zip: z.zip, note: `zipped ${z.files} files${skipped}` };
  }
  if (!path.toLowerCase().endsWith(".zip")) {
    throw new CliError(`'${path}' is neither a folder nor a .zip file`, "VALIDATION_FAILED");
  }
  return { zip: await Deno.readFile(path), note: "" };
}

export function deployCommand(program: Command): void {
  program.command("deploy")
    .description("deploy a folder or a .zip as a new version of an app")
    .argument("<path>", "folder or .zip file")
    .option("--name <app>", "app name (default: the folder's name)")
    .option("--draft", "create the version without making it live")
    .option("--url <url>", "server URL (default $FAZT_URL or the default peer)")
    .option("--token <token>", "API token (default $FAZT_TOKEN or the default peer's)")
    .option("--db <path>", "database holding the peers table")
    .option("--json", "print JSON")
    .action((path: string, flags: DeployFlags) => deployPath(path, flags, () => connect(flags)));
}

/** Zips `path` (a folder or a .zip), deploys it and prints the outcome; `fazt remote deploy` too. */
function isLoopback(url: string): boolean {
  const host = new URL(url).hostname;
  return host === "localhost" || host === "[::1]" || host.startsWith("127.");
}

export async function deployPath(
  path: string,
  flags: Pick<DeployFlags, "name" | "draft" | "json">,
  client: () => ApiClient,
): Promise<void> {
  const name = flags.name ?? suggestAppName(basename(path));
  if (!name) {
    throw new CliError(
      "cannot derive an app name from the path: pass --name",
      "VALIDATION_FAILED",
    );
  }
  const api = client();
  const { zip, note } = await readInput(path, isLoopback(api.conn.url));
  const query = new URLSearchParams({ name });
  if (flags.draft) query.set("draft", "1");
  const r = await api.request<Api.Deployed>("POST", `/api/deploy?${query}`, {
    body: zip,
    type: "application/zip",
  });
  if (flags.json) return printJson(r);
  if (note) console.error(note);
  const state = r.live ? "live" : "draft";
  const url = r.live || !r.preview_url ? r.url : r.preview_url;
  console.log(
    `deployed ${r.app} v${r.version} (${r.files} files, ${formatBytes(r.bytes)}, ${state}): ${url}`,
  );
  if (!r.live) console.error(`make it live: fazt app promote ${r.app} --version ${r.version}`);
}
