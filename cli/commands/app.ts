import type { Command } from "commander";
import type { Api } from "../../server/mod.ts";
import { CliError } from "../cli_error.ts";
import { connect, type ConnectionFlags } from "../connection.ts";
import { formatBytes, formatTime, printJson, printTable } from "../output.ts";

interface Flags extends ConnectionFlags {
  json?: boolean;
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
    const apps = await connect(flags).get<Api.AppSummary[]>("/api/apps");
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
      const a = await connect(flags).get<Api.AppDetail>(path(name));
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
      const r = await connect(flags).request<Api.AppDeleted>("DELETE", path(name));
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
    const r = await connect(flags).postJson<Api.LiveChanged>(`${path(name)}/rollback`, body);
    if (flags.json) return printJson(r);
    console.log(`${name}: v${r.live_version} is live (was v${r.previous_version ?? "-"})`);
  });
  connectionOptions(
    app.command("promote").description("make a version (a draft) live")
      .argument("<name>")
      .requiredOption("--version <n>", "version to make live"),
  ).action(async (name: string, flags: Flags & { version: string }) => {
    const n = Number(flags.version);
    if (!Number.isInteger(n) || n < 1) {
      throw new CliError("--version must be a positive whole number", "VALIDATION_FAILED");
    }
    const r = await connect(flags).postJson<Api.Promoted>(`${path(name)}/promote`, {
      version: n,
    });
    if (flags.json) return printJson(r);
    console.log(
      `${name}: v${r.live_version} is live (was v${r.previous_version ?? "-"}): ${r.url}`,
    );
  });
  appEnvCommands(app);
  appLimitsCommand(app);
  appLogsCommand(app);
  appCronCommands(app);
  appDomainCommands(app);
}

/** A certificate's state in a few words: `valid until …`, `pending`, the last error. */
export function certificateNote(c: Api.Certificate | null): string {
  if (!c) return "-";
  const state = c.status === "valid" || c.status === "renewing"
    ? `${c.status} until ${formatTime(c.not_after)}`
    : c.status;
  return c.last_error ? `${state}; failed ${c.failures}x: ${c.last_error}` : state;
}

function appDomainCommands(app: Command): void {
  const domain = app.command("domain").description(
    "an app's custom domains (the app serves them besides <app>.<domain>)",
  );
  connectionOptions(
    domain.command("add").description("serve an app on a custom domain (point its DNS here)")
      .argument("<name>", "the app").argument("<domain>", "e.g. shop.example.com"),
  ).action(async (name: string, host: string, flags: Flags) => {
    const r = await connect(flags).postJson<Api.DomainAdded>(`${path(name)}/domains`, {
      name: host,
    });
    if (flags.json) return printJson(r);
    const d = r.domain;
    const shown = d.unicode === d.name ? d.name : `${d.unicode} (${d.name})`;
    console.log(`${name}: ${r.created ? "now serves" : "already served"} ${shown}`);
  });
  connectionOptions(
    domain.command("remove").description("stop serving an app on a custom domain")
      .argument("<name>", "the app").argument("<domain>"),
  ).action(async (name: string, host: string, flags: Flags) => {
    const r = await connect(flags).request<Api.DomainRemoved>(
      "DELETE",
      `${path(name)}/domains/${encodeURIComponent(host)}`,
    );
    if (flags.json) return printJson(r);
    console.log(`${name}: no longer serves ${r.name}`);
  });
  connectionOptions(
    domain.command("list").description("an app's custom domains and their certificates")
      .argument("<name>", "the app"),
  ).action(async (name: string, flags: Flags) => {
    const domains = await connect(flags).get<Api.CustomDomain[]>(`${path(name)}/domains`);
    if (flags.json) return printJson(domains);
    if (domains.length === 0) {
      return console.log(`${name} has no custom domains: fazt app domain add ${name} DOMAIN`);
    }
    printTable(
      ["DOMAIN", "ADDED", "CERTIFICATE"],
      domains.map((d) => [
        d.unicode === d.name ? d.name : `${d.unicode} (${d.name})`,
        formatTime(d.created_at),
        certificateNote(d.certificate),
      ]),
    );
  });
}

function appEnvCommands(app: Command): void {
  const env = app.command("env").description("an app's secrets (values are never shown)");
  connectionOptions(
    env.command("set").description("set variables: fazt app env set NAME KEY=VALUE ...")
      .argument("<name>").argument("<pairs...>"),
  ).action(async (name: string, pairs: string[], flags: Flags) => {
    const body: Record<string, string> = {};
    for (const pair of pairs) {
      const eq = pair.indexOf("=");
      if (eq < 1) throw new CliError(`'${pair}' is not KEY=VALUE`, "VALIDATION_FAILED");
      body[pair.slice(0, eq)] = pair.slice(eq + 1);
    }
    const r = await connect(flags).request<Api.EnvVar[]>("PUT", `${path(name)}/env`, {
      body: JSON.stringify(body),
      type: "application/json",
    });
    if (flags.json) return printJson(r);
    console.log(`${name}: set ${Object.keys(body).join(", ")}`);
  });
  connectionOptions(
    env.command("unset").description("remove variables").argument("<name>").argument("<keys...>"),
  ).action(async (name: string, keys: string[], flags: Flags) => {
    const body = Object.fromEntries(keys.map((k) => [k, null]));
    const r = await connect(flags).request<Api.EnvVar[]>("PUT", `${path(name)}/env`, {
      body: JSON.stringify(body),
      type: "application/json",
    });
    if (flags.json) return printJson(r);
    console.log(`${name}: removed ${keys.join(", ")}`);
  });
  connectionOptions(env.command("list").description("list variable names").argument("<name>"))
    .action(async (name: string, flags: Flags) => {
      const vars = await connect(flags).get<Api.EnvVar[]>(`${path(name)}/env`);
      if (flags.json) return printJson(vars);
      printTable(["NAME", "UPDATED"], vars.map((v) => [v.name, formatTime(v.updated_at)]));
    });
}

/** Repeated `--set key=value` flags, in order. */
function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

function appLimitsCommand(app: Command): void {
  connectionOptions(
    app.command("limits")
      .description(
        "show an app's limits and what it stores; --set KEY=VALUE overrides one " +
          "(KEY=default goes back to the node's setting app_KEY; 0 is no limit)",
      )
      .argument("<name>")
      .option("--set <key=value>", "override a limit (repeatable)", collect, []),
  ).action(async (name: string, flags: Flags & { set: string[] }) => {
    const client = connect(flags);
    let info: Api.AppLimits;
    if (flags.set.length) {
      const body: Record<string, number | string | null> = {};
      for (const pair of flags.set) {
        const eq = pair.indexOf("=");
        if (eq < 1) throw new CliError(`'${pair}' is not KEY=VALUE`, "VALIDATION_FAILED");
        const value = pair.slice(eq + 1);
        body[pair.slice(0, eq)] = value === "default" ? null : value;
      }
      info = await client.request<Api.AppLimits>("PUT", `${path(name)}/limits`, {
        body: JSON.stringify(body),
        type: "application/json",
      });
    } else {
      info = await client.get<Api.AppLimits>(`${path(name)}/limits`);
    }
    if (flags.json) return printJson(info);
    const u = info.usage;
    console.log(
      `${info.app}: stores ${formatBytes(u.stored_bytes)} (kv ${formatBytes(u.kv_bytes)}, ` +
        `docs ${formatBytes(u.docs_bytes)}, blobs ${formatBytes(u.blobs_bytes)})`,
    );
    printTable(
      ["LIMIT", "VALUE", "DEFAULT", ""],
      Object.entries(info.limits).map(([key, l]) => [
        key,
        limitText(key, l.value),
        limitText(key, l.default),
        l.overridden ? "set for this app" : "",
      ]),
    );
  });
}

function limitText(key: string, value: number): string {
  if (value === 0) return "none";
  return key.endsWith("_bytes") ? formatBytes(value) : String(value);
}

function appLogsCommand(app: Command): void {
  connectionOptions(
    app.command("logs").description("show an app's log; --follow keeps printing new lines")
      .argument("<name>")
      .option("--limit <n>", "how many recent lines", "100")
      .option("--follow", "keep polling for new lines"),
  ).action(async (name: string, flags: Flags & { limit: string; follow?: boolean }) => {
    const client = connect(flags);
    const limit = Number(flags.limit);
    if (!Number.isInteger(limit) || limit < 1 || limit > 1000) {
      throw new CliError("--limit must be a whole number from 1 to 1000", "VALIDATION_FAILED");
    }
    const print = (lines: Api.LogEntry[]) => {
      for (const l of lines) {
        if (flags.json) console.log(JSON.stringify(l));
        else {console.log(
            `${formatTime(l.created_at)} ${l.level.toUpperCase().padEnd(5)} ${l.message}`,
          );}
      }
    };
    let lines = await client.get<Api.LogEntry[]>(`${path(name)}/logs?limit=${limit}`);
    if (!flags.follow && flags.json) return printJson(lines);
    print(lines);
    let after = lines.at(-1)?.id ?? 0;
    while (flags.follow) {
      await new Promise((r) => setTimeout(r, 1000));
      lines = await client.get<Api.LogEntry[]>(`${path(name)}/logs?limit=1000&after=${after}`);
      print(lines);
      after = lines.at(-1)?.id ?? after;
    }
  });
}

function appCronCommands(app: Command): void {
  const cron = app.command("cron").description(
    "an app's scheduled jobs (manifest crons, Deno.cron)",
  );
  connectionOptions(
    cron.command("list").description("an app's jobs, their next and last runs")
      .argument("<name>", "the app"),
  ).action(async (name: string, flags: Flags) => {
    const list = await connect(flags).get<Api.CronList>(`${path(name)}/crons`);
    if (flags.json) return printJson(list);
    if (list.jobs.length === 0) {
      return console.log(`${name} has no scheduled jobs (manifest "crons" or Deno.cron)`);
    }
    printTable(
      ["JOB", "SCHEDULE", "FROM", "NEXT RUN", "LAST RUN", "OUTCOME"],
      list.jobs.map((j) => [
        j.name,
        j.schedule + (j.tz ? ` (${j.tz})` : " (UTC)"),
        j.source,
        j.next_run === null ? "-" : formatTime(j.next_run),
        j.last_run ? formatTime(j.last_run.started_at) : "-",
        j.running ? "running" : j.last_run ? runOutcome(j.last_run) : "-",
      ]),
    );
  });
  connectionOptions(
    cron.command("run").description("run a job now and wait for it to end")
      .argument("<name>", "the app").argument("<job>", "the job's name"),
  ).action(async (name: string, job: string, flags: Flags) => {
    const run = await connect(flags).postJson<Api.CronRun>(
      `${path(name)}/crons/${encodeURIComponent(job)}/run`,
      {},
    );
    // A failed run is a refusal: its reason on stderr (its lines: `fazt app logs`).
    if (run.outcome !== "ok") {
      throw new CliError(`${name} ${job}: ${runOutcome(run)}`, "CRON_FAILED");
    }
    if (flags.json) return printJson(run);
    for (const l of run.logs) {
      console.log(`${formatTime(l.at)} ${l.level.toUpperCase().padEnd(5)} ${l.message}`);
    }
    console.log(`${name} ${job}: ${runOutcome(run)}`);
  });
}

function runOutcome(run: Api.CronRun): string {
  const took = run.duration_ms === null ? "" : ` in ${run.duration_ms} ms`;
  return run.outcome === "ok" ? `ok${took}` : `${run.outcome}${took}: ${run.error ?? ""}`;
}
