/**
 * `door`: what fazt's front door (server/front_door.ts) costs. The same
 * answers (a clone of fazt's 10 KB page) from a bare `Deno.serve` and from
 * the front door, plus fazt itself, over keep-alive connections and with a
 * new connection per request; requests per second and, steadier on a
 * shared machine, server CPU per 1,000 requests.
 */
import { alternate, median, newGuard, ratio, round, summariseGuard } from "./lib/alternate.ts";
import { treeCpuSeconds } from "./lib/cpu.ts";
import { createToken, deployZip, liftPerAddressCap, startFazt } from "./lib/fazt.ts";
import { type Peer, startCeiling } from "./lib/peers.ts";
import { fmt, fmtRatio } from "./lib/report.ts";
import { zipFiles } from "./lib/site.ts";
import { APP, captureFazt, HOST, SMALL_SITE } from "./lib/small_site.ts";
import type { BenchContext, Benchmark, BenchResult, TargetCheck } from "./lib/types.ts";
import { runWrk } from "./lib/wrk.ts";
import { repeats } from "./lib/sized.ts";

interface Sample {
  rps: number;
  p99_ms: number;
  errors: number;
  cpu_ms_per_1k: number;
}

const SCENARIOS: { name: string; headers: Record<string, string> }[] = [
  { name: "10KB keep-alive", headers: { Host: HOST } },
  { name: "10KB new connection", headers: { Host: HOST, Connection: "close" } },
];

async function measure(
  ctx: BenchContext,
  peer: Peer,
  headers: Record<string, string>,
  secs: number,
): Promise<Sample> {
  const cpu0 = treeCpuSeconds(peer.proc.pid);
  const r = await runWrk({
    url: `http://127.0.0.1:${peer.port}/index.html`,
    threads: ctx.opts.threads,
    connections: ctx.opts.connections,
    duration: secs,
    headers,
  });
  const cpu = treeCpuSeconds(peer.proc.pid) - cpu0;
  const e = r.errors;
  return {
    rps: Math.round(r.rps),
    p99_ms: r.latency_ms.p99,
    errors: e.connect + e.read + e.write + e.timeout + e.non2xx,
    cpu_ms_per_1k: round((cpu * 1e6) / Math.max(1, r.requests), 1),
  };
}

async function run(ctx: BenchContext): Promise<BenchResult> {
  const db = `${ctx.tmp}/fazt.db`;
  const token = await createToken(ctx, db);
  await liftPerAddressCap(ctx, db);
  const fazt = await startFazt(ctx, db);
  await deployZip(fazt, token, APP, await zipFiles(SMALL_SITE));
  const { spec } = await captureFazt(fazt.port, `${ctx.tmp}/www`);
  await Deno.writeTextFile(`${ctx.tmp}/ceiling.json`, JSON.stringify(spec));
  const peers: Peer[] = [
    await startCeiling(ctx, `${ctx.tmp}/ceiling.json`, "/index.html"),
    await startCeiling(ctx, `${ctx.tmp}/ceiling.json`, "/index.html", true),
    { name: "fazt", port: fazt.port, proc: fazt.proc, readyMs: fazt.healthMs },
  ];
  const o = ctx.opts;
  const guard = newGuard(ctx.log, 0.2, repeats(o));
  const rows: (string | number)[][] = [];
  const figures: Record<string, unknown> = {};
  const targets: TargetCheck[] = [];
  for (const sc of SCENARIOS) {
    if (!o.smoke) { for (const p of peers) await measure(ctx, p, sc.headers, 1); // warm-up
     }
    const samples = await alternate<Sample>(
      peers.map((p) => ({
        name: p.name,
        run: () => measure(ctx, p, sc.headers, o.duration),
        pids: () => [p.proc.pid],
      })),
      o.pairs,
      (name, r, x) =>
        ctx.log(`${sc.name} round ${r + 1} ${name}: ${fmt(x.rps)} req/s, ${x.cpu_ms_per_1k} ms/1k`),
      guard,
    );
    const base = samples.get("deno-ceiling")!;
    const perPeer: Record<string, unknown> = {};
    for (const p of peers) {
      const xs = samples.get(p.name)!;
      const rps = median(xs.map((x) => x.rps));
      const cpu = median(xs.map((x) => x.cpu_ms_per_1k));
      // Same-round ratios, then their median: drift hits both sides alike.
      const rpsRatio = median(xs.map((x, i) => ratio(x.rps, base[i].rps)));
      const cpuRatio = median(xs.map((x, i) => ratio(x.cpu_ms_per_1k, base[i].cpu_ms_per_1k)));
      const errors = xs.reduce((a, x) => a + x.errors, 0);
      perPeer[p.name] = {
        runs: xs,
        rps,
        cpu_ms_per_1k: cpu,
        rps_ratio: rpsRatio,
        cpu_ratio: cpuRatio,
      };
      rows.push([
        sc.name,
        p.name,
        fmt(rps),
        median(xs.map((x) => x.p99_ms)).toFixed(2),
        String(cpu),
        fmtRatio(rpsRatio),
        fmtRatio(cpuRatio),
        errors,
      ]);
      if (p.name !== "deno-ceiling") {
        targets.push({
          name: `${sc.name}: ${p.name}/Deno.serve req/s (CPU per request)`,
          target: "reported",
          actual: `${fmtRatio(rpsRatio)} (${fmtRatio(cpuRatio)})`,
          pass: null,
        });
      }
    }
    figures[sc.name] = perPeer;
  }
  figures.disturbance = summariseGuard(guard);
  return {
    figures,
    tables: [{
      title: `door: wrk -t${o.threads} -c${o.connections} -d${o.duration}s, ${o.pairs} ` +
        "alternating rounds, medians; ratios vs bare Deno.serve from the same rounds",
      columns: [
        "case",
        "server",
        "req/s",
        "p99 ms",
        "cpu ms/1k req",
        "req/s ratio",
        "cpu ratio",
        "errors",
      ],
      rows,
    }],
    targets,
    notes: [],
  };
}

export const doorBench: Benchmark = {
  name: "door",
  description: "the front door's cost: 10 KB clone via Deno.serve vs via the door, and fazt",
  tools: { required: ["wrk"], optional: [] },
  run,
};
