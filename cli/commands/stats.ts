import type { Command } from "commander";
import type { Api } from "../../server/mod.ts";
import { CliError } from "../cli_error.ts";
import { connect, type ConnectionFlags } from "../connection.ts";
import { printJson, printTable } from "../output.ts";

interface Flags extends ConnectionFlags {
  from?: string;
  to?: string;
  interval?: string;
  limit?: string;
  json?: boolean;
}

type Top = Api.TopEntry;

const BARS = "▁▂▃▄▅▆▇█";

/** A unicode sparkline of at most `width` characters (adjacent values are summed to fit). */
export function sparkline(values: number[], width = 60): string {
  if (values.length === 0) return "";
  const per = Math.ceil(values.length / width);
  const points: number[] = [];
  for (let i = 0; i < values.length; i += per) {
    points.push(values.slice(i, i + per).reduce((a, b) => a + b, 0));
  }
  const max = Math.max(...points);
  return points.map((v) => BARS[max === 0 ? 0 : Math.round((v / max) * (BARS.length - 1))])
    .join("");
}

function when(t: number, interval: "hour" | "day"): string {
  const iso = new Date(t).toISOString();
  return interval === "day" ? iso.slice(0, 10) : iso.slice(0, 13).replace("T", " ") + ":00";
}

/** Two top lists side by side: `A  COUNT  B  COUNT`. */
function pair(left: [string, Top[]], right: [string, Top[]], rightUnit = "VIEWS"): void {
  const n = Math.max(left[1].length, right[1].length);
  if (n === 0) return;
  const rows = Array.from({ length: n }, (_, i) => [
    left[1][i]?.value ?? "",
    left[1][i]?.count ?? "",
    right[1][i]?.value ?? "",
    right[1][i]?.count ?? "",
  ]);
  console.log("");
  printTable([left[0], "VIEWS", right[0], rightUnit], rows);
}

export function printStats(s: Api.Stats): void {
  const views = s.series.map((x) => x.views);
  const last = s.series.at(-1)?.t ?? s.from;
  console.log(
    `${s.app ?? "all apps"}  ${when(s.from, s.interval)} .. ${
      when(last, s.interval)
    } UTC, by ${s.interval}`,
  );
  console.log(
    `views ${s.totals.views}  visitors ${s.totals.visitors}  events ${s.totals.events}`,
  );
  console.log(`views ${sparkline(views)}  (max ${Math.max(0, ...views)} per ${s.interval})`);
  const t = s.top;
  pair(["PAGE", t.paths], ["REFERRER", t.referrers]);
  pair(["BROWSER", t.browsers], ["OS", t.oses]);
  pair(["DEVICE", t.devices], ["EVENT", t.events], "COUNT");
  if (s.app === null && s.top_domains.length > 0) {
    console.log("");
    printTable(["APP", "VIEWS+EVENTS (ALL TIME)"], s.top_domains.map((d) => [d.domain, d.count]));
  }
}

export function statsCommand(program: Command): void {
  program.command("stats")
    .description("page views, visitors and events of an app (or of every app)")
    .argument("[app]", "app name (default: every app)")
    .option("--from <when>", "start: ISO date, ms, or a duration ago like 7d, 24h (default 30d)")
    .option("--to <when>", "end: ISO date, ms, 'now' or a duration ago (default now)")
    .option("--interval <hour|day>", "bucket size (default: hour up to 2 days, else day)")
    .option("--limit <n>", "entries per top list", "5")
    .option("--url <url>", "server URL (default $FAZT_URL or the default peer)")
    .option("--token <token>", "API token (default $FAZT_TOKEN or the default peer's)")
    .option("--db <path>", "database holding the peers table")
    .option("--json", "print JSON")
    .action(async (app: string | undefined, flags: Flags) => {
      if (flags.interval !== undefined && !["hour", "day"].includes(flags.interval)) {
        throw new CliError("--interval must be hour or day", "VALIDATION_FAILED");
      }
      const q = new URLSearchParams();
      if (app) q.set("app", app);
      if (flags.from) q.set("from", flags.from);
      if (flags.to) q.set("to", flags.to);
      if (flags.interval) q.set("interval", flags.interval);
      if (flags.limit) q.set("limit", flags.limit);
      const s = await connect(flags).get<Api.Stats>(`/api/stats?${q}`);
      if (flags.json) return printJson(s);
      printStats(s);
    });
}
