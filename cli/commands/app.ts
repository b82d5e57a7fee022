import type { Command } from "commander";
import { CliError } from "../cli_error.ts";
import { connect, type ConnectionFlags } from "../connection.ts";
import { formatBytes, formatTime, printJson, printTable } from "../output.ts";

interface Flags extends ConnectionFlags {
  json?: boolean;
}

interface AppRow {
  name: string;
  live_version: number | null;
  files: number;
  bytes: number;
  versions: number;
  last_deploy_at: number | null;
  url: string;
}

interface AppDetail {
  name: string;
  live_version: number | null;
  url: string;
  versions: {
    number: number;
    files: number;
    bytes: number;
    deployed_by: string | null;
    created_at: number;
    live: boolean;
  }[];
}

function connectionOptions(cmd: Command): Command {
  return cmd
    .option("--url <url>", "server URL (default $FAZT_URL or the default peer)")
    .option("--token <token>", "API token (default $FAZT_TOKEN or the default peer's)")
    .option("--db <path>", "database holding the peers table")
    .option("--json", "print JSON");
}

const path = (name: string) => `/api/apps/${encodeURIComponent(name)}`;

export function appCommand(program: Command): void {
  const app = program.command("app").description("manage the apps of a node");
  connectionOptions(app.command("list").description("list apps")).action(async (flags: Flags) => {
    const apps = await connect(flags).get<AppRow[]>("/api/apps");
    if (flags.json) return printJson(apps);
    if (apps.length === 0) {
      return console.log("no apps yet: deploy one with 'fazt deploy ./folder'");
    }
    printTable(
      ["NAME", "LIVE", "FILES", "SIZE", "VERSIONS", "LAST DEPLOY", "URL"],
      apps.map((
        a,
      ) => [
        a.name,
        a.live_version,
        a.files,
        formatBytes(a.bytes),
        a.versions,
        formatTime(a.last_deploy_at),
        a.url,
      ]),
    );
  });
  connectionOptions(
    app.command("info").description("show an app and its versions").argument("<name>"),
  )
    .action(async (name: string, flags: Flags) => {
      const a = await connect(flags).get<AppDetail>(path(name));
      if (flags.json) return printJson(a);
      console.log(`${a.name}  live v${a.live_version ?? "-"}  ${a.url}`);
      printTable(
        ["VERSION", "FILES", "SIZE", "DEPLOYED", "BY", ""],
        a.versions.map((
          v,
        ) => [
          v.number,
          v.files,
          formatBytes(v.bytes),
          formatTime(v.created_at),
          v.deployed_by,
          v.live ? "live" : "",
        ]),
      );
    });
  connectionOptions(
    app.command("delete").description("delete an app and all its versions").argument("<name>"),
  )
    .action(async (name: string, flags: Flags) => {
      const r = await connect(flags).request("DELETE", path(name));
      if (flags.json) return printJson(r);
      console.log(`deleted ${name}`);
    });
  connectionOptions(
    app.command("rollback").description("make an earlier version live (default: the previous one)")
      .argument("<name>")
      .option("--version <n>", "version to make live"),
  ).action(async (name: string, flags: Flags & { version?: string }) => {
    const body: Record<string, number> = {};
    if (flags.version !== undefined) {
      const n = Number(flags.version);
      if (!Number.isInteger(n) || n < 1) {
        throw new CliError("--version must be a positive whole number", "VALIDATION_FAILED");
      }
      body.version = n;
    }
    const r = await connect(flags).postJson<
      { live_version: number; previous_version: number | null }
    >(
      `${path(name)}/rollback`,
      body,
    );
    if (flags.json) return printJson(r);
    console.log(`${name}: v${r.live_version} is live (was v${r.previous_version ?? "-"})`);
  });
}
