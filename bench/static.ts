/**
 * `static`: a 10 KB HTML file and a 200 KB JS file from a deployed site,
 * served by fazt, by a bare Deno.serve answering the same bytes from memory
 * (the ceiling for this runtime), by Caddy and by nginx; plain and with
 * `Accept-Encoding: gzip` (every server sends fazt's precompressed bytes).
 */
import { repeats } from "./lib/sized.ts";
import {
  alternate,
  median,
  newGuard,
  ratio,
  round,
  roundRatios,
  summariseGuard,
} from "./lib/alternate.ts";
import { treeCpuSeconds } from "./lib/cpu.ts";
import { createToken, deployZip, liftPerAddressCap, profileFazt, startFazt } from "./lib/fazt.ts";
import { rawRequest, sha256 } from "./lib/http.ts";
import { type Peer, startCaddy, startCeiling, startNginx } from "./lib/peers.ts";
import { profileTables } from "./lib/profile.ts";
import { atLeast, atMost, fmt, fmtRatio } from "./lib/report.ts";
import { zipFiles } from "./lib/site.ts";
import { APP, captureFazt, HOST, requestHeaders, SMALL_SITE } from "./lib/small_site.ts";
import type { BenchContext, Benchmark, BenchResult, Table, TargetCheck } from "./lib/types.ts";
import { runWrk, type WrkResult } from "./lib/wrk.ts";

interface Scenario {
  name: string;
  path: string;
  gzip: boolean;
}

const SCENARIOS: Scenario[] = [
  { name: "10KB", path: "/index.html", gzip: false },
  { name: "200KB", path: "/assets/app.js", gzip: false },
  { name: "10KB gzip", path: "/index.html", gzip: true },
  { name: "200KB gzip", path: "/assets/app.js", gzip: true },
];

interface Sample {
  rps: number;
  p50_ms: number;
  p99_ms: number;
  avg_ms: number;
  requests: number;
  /** CPU seconds the server (all its processes) used during the run, per 1,000 requests. */
  cpu_ms_per_1k: number;
  /** Cores the server kept busy on average. */
  cores: number;
}

async function measure(ctx: BenchContext, server: Peer, s: Scenario, secs: number) {
  const pid = server.proc.pid;
  const cpu0 = treeCpuSeconds(pid);
  let r: WrkResult;
  try {
    r = await runWrk({
      url: `http://127.0.0.1:${server.port}${s.path}`,
      threads: ctx.opts.threads,
      connections: ctx.opts.connections,
      duration: secs,
      headers: requestHeaders(s.gzip),
    });
  } catch (err) {
    const state = server.proc.exited ? "it has exited" : "it is still running";
    throw new Error(
      `${server.name}, ${s.name}: ${err instanceof Error ? err.message : err}\n` +
        `${server.name} (${state}) printed last:\n${server.proc.tail()}`,
    );
  }
  const cpu = treeCpuSeconds(pid) - cpu0;
  return {
    rps: Math.round(r.rps),
    p50_ms: r.latency_ms.p50,
    p99_ms: r.latency_ms.p99,
    avg_ms: r.latency_ms.avg,
    requests: r.requests,
    cpu_ms_per_1k: round((cpu * 1e6) / Math.max(1, r.requests), 3),
    cores: round(cpu / r.duration_s, 2),
  } satisfies Sample;
}

async function run(ctx: BenchContext): Promise<BenchResult> {
  const notes: string[] = [];
  const figures: Record<string, unknown> = {};

  // 1. fazt, with the site deployed through its HTTP API.
  const db = `${ctx.tmp}/fazt.db`;
  const token = await createToken(ctx, db);
  await liftPerAddressCap(ctx, db);
  const fazt = await startFazt(ctx, db);
  ctx.log(`fazt on ${fazt.url}, first answer after ${Math.round(fazt.healthMs)} ms`);
  const deployed = await deployZip(fazt, token, APP, await zipFiles(SMALL_SITE));
  ctx.log(`deployed: ${JSON.stringify(deployed.body)}`);

  // 2. What fazt sends: the bytes and headers every other server will send too.
  const www = `${ctx.tmp}/www`;
  const { spec, expected, files } = await captureFazt(fazt.port, www);
  figures.files = files;
  await Deno.writeTextFile(`${ctx.tmp}/ceiling.json`, JSON.stringify(spec, null, 2));

  // 3. The peers.
  const probe = "/index.html";
  const servers: Peer[] = [
    { name: "fazt", port: fazt.port, proc: fazt.proc, readyMs: fazt.healthMs },
  ];
  servers.push(await startCeiling(ctx, `${ctx.tmp}/ceiling.json`, probe));
  if (ctx.tools.has("caddy")) servers.push(await startCaddy(ctx, www, probe));
  else notes.push(`Caddy skipped: ${ctx.tools.missing.caddy}`);
  if (ctx.tools.has("nginx")) servers.push(await startNginx(ctx, www, probe));
  else notes.push(`nginx skipped: ${ctx.tools.missing.nginx}`);
  figures.peer_configs = Object.fromEntries(
    servers.filter((s) => s.config).map((s) => [s.name, s.config]),
  );

  // 4. Every server sends the same bytes for every scenario.
  const served: Record<string, Record<string, unknown>> = {};
  for (const s of servers) {
    served[s.name] = {};
    for (const sc of SCENARIOS) {
      const r = await rawRequest(s.port, sc.path, { headers: requestHeaders(sc.gzip) });
      const want = expected.get(`${sc.path}|${sc.gzip}`)!;
      const got = await sha256(r.body);
      if (r.status !== 200 || got !== want.sha) {
        throw new Error(
          `${s.name} ${sc.name}: status ${r.status}, ${r.body.byteLength} bytes; ` +
            `want 200 and fazt's ${want.bytes} bytes`,
        );
      }
      served[s.name][sc.name] = {
        head_bytes: r.headBytes,
        body_bytes: r.body.byteLength,
        headers: r.headers.map(([k]) => k.toLowerCase()).sort(),
      };
    }
  }
  figures.responses = served;
  ctx.log(`all ${servers.length} servers send identical bodies in all ${SCENARIOS.length} cases`);

  // 5. Load, alternating servers round by round.
  const o = ctx.opts;
  figures.load = {
    tool: "wrk",
    threads: o.threads,
    connections: o.connections,
    duration_s: o.duration,
    rounds: o.pairs,
    warmup_s: 1,
    keep_alive: true,
    host_header: HOST,
  };
  const guard = newGuard(ctx.log, 0.2, repeats(ctx.opts));
  const scenarioFigures: Record<string, unknown> = {};
  const rows: (string | number)[][] = [];
  const targets: TargetCheck[] = [];
  for (const sc of SCENARIOS) {
    if (!o.smoke) { for (const s of servers) await measure(ctx, s, sc, 1); // warm-up
     }
    const samples = await alternate<Sample>(
      servers.map((s) => ({
        name: s.name,
        run: () => measure(ctx, s, sc, o.duration),
        pids: () => [s.proc.pid],
      })),
      o.pairs,
      (name, round, x) =>
        ctx.log(
          `${sc.name.padEnd(10)} round ${round + 1} ${name.padEnd(12)} ` +
            `${fmt(x.rps).padStart(8)} req/s  p50 ${x.p50_ms} ms  p99 ${x.p99_ms} ms  ` +
            `cpu ${x.cores} cores`,
        ),
      guard,
    );
    const med = (name: string, k: keyof Sample) => median(samples.get(name)!.map((x) => x[k]));
    const fz = { rps: med("fazt", "rps"), p99: med("fazt", "p99_ms") };
    const perServer: Record<string, unknown> = {};
    for (const s of servers) {
      const xs = samples.get(s.name)!;
      const m = {
        rps: med(s.name, "rps"),
        p50_ms: med(s.name, "p50_ms"),
        p99_ms: med(s.name, "p99_ms"),
        avg_ms: med(s.name, "avg_ms"),
        cpu_ms_per_1k: med(s.name, "cpu_ms_per_1k"),
        cores: med(s.name, "cores"),
      };
      const r = {
        rps: ratio(fz.rps, m.rps),
        p99: ratio(fz.p99, m.p99_ms),
        rps_per_round: roundRatios(
          samples.get("fazt")!.map((x) => x.rps),
          xs.map((x) => x.rps),
        ),
      };
      perServer[s.name] = { runs: xs, median: m, ...(s.name === "fazt" ? {} : { fazt_over: r }) };
      rows.push([
        sc.name,
        s.name,
        fmt(m.rps),
        m.p50_ms.toFixed(2),
        m.p99_ms.toFixed(2),
        String(m.cpu_ms_per_1k),
        s.name === "fazt" ? "" : fmtRatio(r.rps),
        s.name === "fazt" ? "" : fmtRatio(r.p99),
        xs.map((x) => fmt(x.rps / 1000, 1) + "k").join(" "),
      ]);
    }
    scenarioFigures[sc.name] = {
      path: sc.path,
      accept_encoding: sc.gzip ? "gzip" : null,
      body_bytes: expected.get(`${sc.path}|${sc.gzip}`)!.bytes,
      servers: perServer,
    };
    const ceiling = perServer["deno-ceiling"] as { fazt_over: { rps: number; p99: number } };
    targets.push(atLeast(`${sc.name}: fazt/ceiling req/s`, ceiling.fazt_over.rps, 0.9));
    targets.push(atMost(`${sc.name}: fazt/ceiling p99`, ceiling.fazt_over.p99, 1.5));
    const caddy = perServer.caddy as { fazt_over: { rps: number } } | undefined;
    const t = atLeast(`${sc.name}: fazt/caddy req/s`, caddy?.fazt_over.rps ?? NaN, 1.5);
    if (!caddy) t.note = "Caddy not available";
    targets.push(t);
    // What the runtime itself reaches against Caddy: a fazt/caddy target above
    // this is out of reach for any Deno server on this machine.
    const medianRps = (name: string) =>
      (perServer[name] as { median: { rps: number } } | undefined)?.median.rps;
    const [ceilingRps, caddyRps] = [medianRps("deno-ceiling"), medianRps("caddy")];
    targets.push({
      name: `${sc.name}: ceiling/caddy req/s`,
      target: "reported",
      actual: ceilingRps && caddyRps ? fmtRatio(ratio(ceilingRps, caddyRps)) : "not measured",
      pass: null,
    });
    const nginx = perServer.nginx as { fazt_over: { rps: number } } | undefined;
    targets.push({
      name: `${sc.name}: fazt/nginx req/s`,
      target: "reported",
      actual: nginx ? fmtRatio(nginx.fazt_over.rps) : "not measured",
      pass: null,
    });
  }
  figures.scenarios = scenarioFigures;
  figures.disturbance = summariseGuard(guard);
  if (guard.stats.repeated || guard.stats.still_disturbed) {
    notes.push(
      `other programs disturbed ${guard.stats.repeated} runs (repeated after waiting for quiet)` +
        `; ${guard.stats.still_disturbed} kept disturbed after ${guard.retries} tries`,
    );
  }
  const tables: Table[] = [{
    title: `static: wrk -t${o.threads} -c${o.connections} -d${o.duration}s, ` +
      `${o.pairs} alternating rounds, medians`,
    columns: [
      "case",
      "server",
      "req/s",
      "p50 ms",
      "p99 ms",
      "cpu ms/1k req",
      "fazt/this req/s",
      "fazt/this p99",
      "req/s per round",
    ],
    rows,
  }];

  // 6. Optionally, where fazt's time goes under the same load.
  if (o.profile) {
    for (const s of servers) await s.proc.stop();
    const p = await profileFazt(ctx, db, async (f) => {
      const loads: Record<string, unknown> = {};
      const peer: Peer = { name: "fazt-profiled", port: f.port, proc: f.proc, readyMs: f.healthMs };
      for (const sc of SCENARIOS) loads[sc.name] = await measure(ctx, peer, sc, o.duration);
      return loads;
    }).catch((err) => {
      notes.push(`the profile run failed: ${err instanceof Error ? err.message : err}`);
      return undefined;
    });
    if (p) {
      figures.profile = {
        note: "fazt under --cpu-prof, one run of each case in turn. '(idle)' is time the JS " +
          "thread was not running JavaScript: in Deno that includes the Rust HTTP stack and " +
          "socket writes, which run on the same thread.",
        load_under_profiler: p.result,
        ...p.summary,
      };
      tables.push(...profileTables("fazt CPU profile under wrk load", p.summary));
    }
  }
  return { figures, tables, targets, notes };
}

export const staticBench: Benchmark = {
  name: "static",
  description: "10 KB HTML and 200 KB JS, plain and gzip: fazt vs Deno.serve ceiling, Caddy, nginx",
  tools: { required: ["wrk"], optional: ["caddy", "nginx"] },
  run,
};
