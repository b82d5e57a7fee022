/**
 * fazt's benchmarks: `deno task bench [name...] [--duration S] [--pairs N]`.
 * Starts everything it needs on 127.0.0.1, prints tables and target checks,
 * and writes bench/results/latest.json. See bench/README.md.
 */
import { parseArgs } from "node:util";
import { VERSION } from "../version.ts";
import { BENCHMARKS } from "./benchmarks.ts";
import { machineFacts, waitForQuiet } from "./lib/machine.ts";
import { ProcessGroup } from "./lib/proc.ts";
import { renderTable, renderTargets } from "./lib/report.ts";
import { type BenchEntry, writeResults } from "./lib/results.ts";
import { ensureTools } from "./lib/tools.ts";
import type { BenchContext, BenchOptions, TargetCheck } from "./lib/types.ts";

const USAGE = `usage: deno task bench [name...] [options]

benchmarks (all when none is named):
${BENCHMARKS.map((b) => `  ${b.name.padEnd(10)} ${b.description}`).join("\n")}

options:
  --duration S     seconds per measured wrk run (default 5)
  --pairs N        alternating rounds per comparison (default 3; fewer is a smoke
                   run, written to bench/results/quick.json instead of latest.json)
  --connections N  wrk connections (default 64)
  --threads N      wrk threads (default 2)
  --profile        also record and summarise a CPU profile of fazt under load (static)
  --keep           keep the temp folders (their paths are printed)
  --fazt-deno-flag F  add a 'deno run' flag for fazt, to try one out (repeatable), e.g.
                   --fazt-deno-flag=--v8-flags=--max-semi-space-size=2
  --busy           the machine is shared and busy: do not wait for quiet or repeat
                   disturbed runs (noisier; compare CPU per request)
  --smoke          check that each benchmark runs: 1 s runs, one round, small
                   workloads, nothing written to bench/results
  --results FILE   write the results to FILE instead of bench/results/
  --list           list the benchmarks
`;

/** A whole number of at least `min`, or the default when the flag is absent. */
function whole(flag: string, value: string | undefined, fallback: number, min = 1): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < min) throw new Error(`--${flag} needs a whole number >= ${min}`);
  return n;
}

function parseCommandLine(
  args: string[],
): { names: string[]; opts: BenchOptions; resultsFile?: string; list: boolean; help: boolean } {
  let parsed;
  try {
    parsed = parseArgs({
      args,
      allowPositionals: true,
      options: {
        duration: { type: "string" },
        pairs: { type: "string" },
        connections: { type: "string" },
        threads: { type: "string" },
        profile: { type: "boolean", default: false },
        keep: { type: "boolean", default: false },
        "fazt-deno-flag": { type: "string", multiple: true, default: [] },
        smoke: { type: "boolean", default: false },
        busy: { type: "boolean", default: false },
        results: { type: "string" },
        list: { type: "boolean", default: false },
        help: { type: "boolean", short: "h", default: false },
      },
    });
  } catch (err) {
    throw new Error(`${err instanceof Error ? err.message : err}\n\n${USAGE}`);
  }
  const v = parsed.values;
  for (const flag of v["fazt-deno-flag"]) {
    if (!flag.startsWith("--")) throw new Error("--fazt-deno-flag needs a flag, e.g. --v8-flags=…");
  }
  if (v.results === "") throw new Error("--results needs a file");
  // A smoke run is one round of 1 s runs unless told otherwise.
  const short = v.smoke ? 1 : undefined;
  const opts: BenchOptions = {
    duration: whole("duration", v.duration, short ?? 5),
    pairs: whole("pairs", v.pairs, short ?? 3),
    connections: whole("connections", v.connections, 64),
    threads: whole("threads", v.threads, 2),
    profile: v.profile,
    keep: v.keep,
    faztDenoFlags: v["fazt-deno-flag"],
    smoke: v.smoke,
    busy: v.busy,
  };
  return {
    names: parsed.positionals,
    opts,
    resultsFile: v.results,
    list: v.list,
    help: v.help,
  };
}

function log(message: string) {
  const t = new Date().toISOString().slice(11, 19);
  console.error(`[${t}] ${message}`);
}

async function main(args: string[]): Promise<number> {
  const { names, opts, resultsFile, list, help } = parseCommandLine(args);
  if (help) {
    console.log(USAGE);
    return 0;
  }
  if (list) {
    console.log(BENCHMARKS.map((b) => `${b.name}\t${b.description}`).join("\n"));
    return 0;
  }
  const unknown = names.filter((n) => !BENCHMARKS.some((b) => b.name === n));
  if (unknown.length > 0) {
    throw new Error(`unknown benchmark ${unknown.join(", ")}\n\n${USAGE}`);
  }
  const selected = names.length ? BENCHMARKS.filter((b) => names.includes(b.name)) : BENCHMARKS;
  const root = new URL("..", import.meta.url).pathname.replace(/\/$/, "");
  const required = [...new Set(selected.flatMap((b) => b.tools.required))];
  const optional = [...new Set(selected.flatMap((b) => b.tools.optional))];
  const tools = await ensureTools(required, optional, log);
  const versions: Record<string, string> = {
    fazt: VERSION,
    deno: Deno.version.deno,
    v8: Deno.version.v8,
    ...tools.versions,
  };
  for (const [t, why] of Object.entries(tools.missing)) versions[t] = `missing: ${why}`;
  log(`tools: ${JSON.stringify(versions)}`);
  if (opts.pairs < 3 && !opts.smoke) {
    log(`--pairs ${opts.pairs} is a smoke run: results go to quick.json`);
  }

  let current: ProcessGroup | undefined;
  const onSignal = async () => {
    log("interrupted: stopping the processes started here");
    await current?.stopAll();
    Deno.exit(130);
  };
  Deno.addSignalListener("SIGINT", onSignal);

  const entries: Record<string, BenchEntry> = {};
  const allTargets: (TargetCheck & { bench: string })[] = [];
  let failed = 0;
  for (const b of selected) {
    const tmp = await Deno.makeTempDir({ prefix: `fazt-bench-${b.name}-` });
    const procs = new ProcessGroup();
    current = procs;
    const ctx: BenchContext = {
      opts,
      root,
      tmp,
      tools,
      procs,
      log: (m) => log(`${b.name}: ${m}`),
    };
    const busy = opts.smoke || opts.busy ? 0 : await waitForQuiet(log);
    const machine = { ...machineFacts(), busy_before_start: Math.round(busy * 100) / 100 };
    const busyNote = busy > 0.15
      ? `the machine was ${Math.round(busy * 100)}% busy with other programs when this ` +
        "benchmark started: its figures are noisy"
      : undefined;
    if (busyNote) log(`warning: ${busyNote}`);
    log(`== ${b.name}: ${b.description} (temp ${tmp})`);
    const t0 = performance.now();
    try {
      const r = await b.run(ctx);
      const seconds = Math.round((performance.now() - t0) / 100) / 10;
      console.log("");
      for (const t of r.tables) console.log(renderTable(t) + "\n");
      if (r.targets.length) console.log(renderTargets(r.targets) + "\n");
      if (busyNote) r.notes.push(busyNote);
      for (const n of r.notes) console.log(`note: ${n}`);
      entries[b.name] = {
        ran_at: new Date().toISOString(),
        seconds,
        machine,
        tools: versions,
        options: opts,
        figures: r.figures,
        targets: r.targets,
        notes: r.notes,
      };
      allTargets.push(...r.targets.map((t) => ({ ...t, bench: b.name })));
      log(`${b.name} took ${seconds} s`);
    } catch (err) {
      failed++;
      const message = err instanceof Error ? err.stack ?? err.message : String(err);
      log(`${b.name} FAILED: ${message}`);
      entries[b.name] = {
        ran_at: new Date().toISOString(),
        seconds: Math.round((performance.now() - t0) / 100) / 10,
        machine,
        tools: versions,
        options: opts,
        figures: {},
        targets: [],
        notes: [],
        error: message,
      };
    } finally {
      await procs.stopAll();
      if (opts.keep) log(`kept ${tmp}`);
      else await Deno.remove(tmp, { recursive: true }).catch(() => {});
    }
  }
  Deno.removeSignalListener("SIGINT", onSignal);

  const file = opts.pairs >= 3 ? "latest.json" : "quick.json";
  const out = resultsFile ?? (opts.smoke ? undefined : `${root}/bench/results/${file}`);
  if (out) await writeResults(out, entries);
  const judged = allTargets.filter((t) => t.pass !== null);
  const missed = judged.filter((t) => t.pass === false);
  console.log(
    `${judged.length - missed.length}/${judged.length} targets met` +
      (missed.length ? `; MISSED: ${missed.map((t) => `${t.bench} ${t.name}`).join("; ")}` : "") +
      (failed ? `; ${failed} benchmark(s) FAILED to run` : ""),
  );
  console.log(out ? `results written to ${out}` : "smoke run: no results written");
  return failed ? 1 : 0;
}

if (import.meta.main) {
  try {
    Deno.exit(await main(Deno.args));
  } catch (err) {
    console.error(err instanceof Error ? err.message : err);
    Deno.exit(2);
  }
}
