import type { Command } from "commander";
import { APP_NAME_RULE, appNameProblem, suggestAppName } from "../../lib/app_name.ts";
import { ApiError } from "../../lib/envelope.ts";
import type { Api } from "../../server/mod.ts";
import type { ApiClient } from "../api_client.ts";
import { CliError } from "../cli_error.ts";
import { connect, type ConnectionFlags } from "../connection.ts";
import { DeployMemory } from "../deploy_memory.ts";
import { packageFolder } from "../deploy_package.ts";
import { formatBytes, printJson, visible } from "../output.ts";
import { resolveDbPath } from "../paths.ts";

interface DeployFlags extends ConnectionFlags {
  name?: string;
  draft?: boolean;
  json?: boolean;
  spa?: boolean;
  force?: boolean;
}

function basename(path: string): string {
  const parts = path.replace(/[\\/]+$/, "").split(/[\\/]/);
  const last = parts[parts.length - 1];
  return last === "." || last === "" ? Deno.cwd().split(/[\\/]/).pop() ?? "" : last;
}

async function readInput(
  path: string,
  opts: { store: boolean; spa?: boolean; notes: string[] },
): Promise<{ zip: Uint8Array<ArrayBuffer>; source: string }> {
  let stat: Deno.FileInfo;
  try {
    stat = await Deno.stat(path);
  } catch {
    throw new CliError(`'${path}' does not exist`, "NOT_FOUND");
  }
  const source = await Deno.realPath(path);
  if (stat.isDirectory) {
    const note = (line: string) => opts.notes.push(line);
    const p = await packageFolder(path, { store: opts.store, spa: opts.spa, note });
    const skipped = p.skipped.length
      ? `, skipped ${p.skipped.length} (dotfiles, node_modules, links, project files, .faztignore)`
      : "";
    note(`zipped ${p.files} files${skipped}`);
    return { zip: p.zip, source };
  }
  if (!path.toLowerCase().endsWith(".zip")) {
    throw new CliError(`'${path}' is neither a folder nor a .zip file`, "VALIDATION_FAILED");
  }
  if (opts.spa) {
    throw new CliError(
      '--spa applies to folders; for a .zip, put "spa": true in its manifest.json',
      "VALIDATION_FAILED",
    );
  }
  return { zip: await Deno.readFile(path), source };
}

export function deployCommand(program: Command): void {
  program.command("deploy")
    .description(
      "deploy a folder or a .zip as a new version of an app (a folder's server code is " +
        "bundled with its dependencies here)",
    )
    .argument("<path>", "folder or .zip file")
    .option("--name <app>", "app name (default: the folder's name)")
    .option("--draft", "create the version without making it live")
    .option("--spa", "serve index.html for paths with no file (a single-page app's routes)")
    .option("--force", "replace the app even if it was last deployed from another folder")
    .option("--url <url>", "server URL (default $FAZT_URL or the default peer)")
    .option("--token <token>", "API token (default $FAZT_TOKEN or the default peer's)")
    .option("--db <path>", "database holding the peers table")
    .option("--json", "print JSON")
    .action((path: string, flags: DeployFlags) => deployPath(path, flags, () => connect(flags)));
}

function isLoopback(url: string): boolean {
  const host = new URL(url).hostname;
  return host === "localhost" || host === "[::1]" || host.startsWith("127.");
}

/**
 * The node's refusal of a name, made here before anything is built or sent:
 * the same code, message and details, and the name itself never echoed.
 */
function nameRefused(constraint: string): CliError {
  const details = { field: "name", constraint };
  const message = `Invalid app name: ${APP_NAME_RULE}`;
  return new CliError(`${message} ${JSON.stringify(details)}`, "VALIDATION_FAILED", 1, {
    cause: new ApiError(400, "VALIDATION_FAILED", message, details),
  });
}

/** The app name: `--name` or the folder's, checked. */
function appName(path: string, flag: string | undefined): string {
  const name = flag ?? suggestAppName(basename(path));
  if (flag === undefined && !name) {
    throw new CliError("cannot derive an app name from the path: pass --name", "VALIDATION_FAILED");
  }
  const problem = appNameProblem(name);
  if (problem) throw nameRefused(problem);
  return name;
}

/**
 * Deploys `path` (a folder or a .zip) and prints the outcome; `fazt remote
 * deploy` too. A folder's server code is bundled here. An app whose name
 * comes from the folder and that was last deployed from another folder is
 * not replaced without `--name` or `--force`.
 */
export async function deployPath(
  path: string,
  flags: Pick<DeployFlags, "name" | "draft" | "json" | "spa" | "force" | "db">,
  client: () => ApiClient,
): Promise<void> {
  const name = appName(path, flags.name);
  const api = client();
  const memory = DeployMemory.beside(resolveDbPath(flags.db));
  const source = await Deno.realPath(path).catch(() => undefined);
  // Only a name derived from the folder is a guess worth checking: --name is the owner's word.
  const before = flags.name === undefined ? memory.source(api.conn.url, name) : undefined;
  if (source && before && before !== source && !flags.force) {
    throw new CliError(
      `'${name}' on ${api.conn.url} was last deployed from ${before}, not from ${source}: ` +
        "pass --name to deploy this as another app, or --force to replace it",
      "SOURCE_CHANGED",
    );
  }
  // Notes are shown once the node took the deploy: a refusal is one error line.
  const notes: string[] = [];
  const input = await readInput(path, { store: isLoopback(api.conn.url), spa: flags.spa, notes });
  const query = new URLSearchParams({ name });
  if (flags.draft) query.set("draft", "1");
  const r = await api.request<Api.Deployed>("POST", `/api/deploy?${query}`, {
    body: input.zip,
    type: "application/zip",
  });
  await memory.remember(api.conn.url, name, input.source).catch((err) =>
    console.error(`note: could not remember where ${name} came from: ${err.message}`)
  );
  for (const line of notes) console.error(visible(line));
  if (flags.json) return printJson(r);
  const state = r.live ? "live" : "draft";
  const url = r.live || !r.preview_url ? r.url : r.preview_url;
  console.log(
    `deployed ${r.app} v${r.version} (${r.files} files, ${formatBytes(r.bytes)}, ${state}): ${url}`,
  );
  if (!r.live) console.error(`make it live: fazt app promote ${r.app} --version ${r.version}`);
}
