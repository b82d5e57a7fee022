/**
 * `startup`: time from process start to the first answered `/health` (a
 * restart over an existing database, and a first run that creates one), and
 * resident memory when idle after start-up and after 100k requests. A bare
 * Deno.serve (the ceiling server) is measured alike, as the runtime's floor.
 */
import { repeats } from "./lib/sized.ts";
import { alternate, median, newGuard, round, summariseGuard } from "./lib/alternate.ts";
import { createToken, deployZip, startFazt } from "./lib/fazt.ts";
import { startCeiling } from "./lib/peers.ts";
import { type Proc, sleep } from "./lib/proc.ts";
import { atMost, fmt } from "./lib/report.ts";
import { zipFiles } from "./lib/site.ts";
import { APP, captureFazt, requestHeaders, SMALL_SITE } from "./lib/small_site.ts";
import type { BenchContext, Benchmark, BenchResult, TargetCheck } from "./lib/types.ts";
import { sized } from "./lib/sized.ts";
import { runWrkRequests, type WrkRequest } from "./lib/wrk.ts";

const IDLE_MS = 1000;
const MiB_KB = 1024;

interface Start {
  health_ms: number;
  listening_ms: number;
  idle_rss_mib: number;
}

interface Load {
  idle_rss_mib: number;
  requests: number;
  after_rss_mib: number;
  peak_rss_mib: number;
  /** fazt only: V8 heap in use after the load (from /api/system). */
  heap_used_mib?: number;
}

const mib = (kb: number) => round(kb / MiB_KB, 1);
const MB_PER_MIB = 1.048576;

async function run(ctx: BenchContext): Promise<BenchResult> {
  const notes: string[] = [];
  const REQUESTS = sized(ctx.opts, 100_000, 2_000);
  // A node with the small site deployed; this first start also warms Deno's caches.
  const db = `${ctx.tmp}/fazt.db`;
  const token = await createToken(ctx, db);
  const setup = await startFazt(ctx, db);
  await deployZip(setup, token, APP, await zipFiles(SMALL_SITE));
  const www = `${ctx.tmp}/www`;
  const { spec } = await captureFazt(setup.port, www);
  await setup.proc.stop();
  const specFile = `${ctx.tmp}/ceiling.json`;
  await Deno.writeTextFile(specFile, JSON.stringify(spec));
  await (await startCeiling(ctx, specFile, "/index.html")).proc.stop(); // warm its cache too

  const idleRss = async (p: Proc) => {
    await sleep(IDLE_MS);
    return mib(p.memory().rss_kb);
  };

  const guard = newGuard(ctx.log, 0.2, repeats(ctx.opts));
  // 1. Start-up time, fazt (existing database) and bare Deno.serve alternating.
  const startRounds = Math.max(sized(ctx.opts, 5, 1), ctx.opts.pairs);
  const starts = await alternate<Start>(
    [
      {
        name: "fazt",
        run: async () => {
          const f = await startFazt(ctx, db);
          const r = {
            health_ms: round(f.healthMs, 1),
            listening_ms: round(f.listeningMs, 1),
            idle_rss_mib: await idleRss(f.proc),
          };
          await f.proc.stop();
          return r;
        },
      },
      {
        name: "deno-ceiling",
        run: async () => {
          const c = await startCeiling(ctx, specFile, "/index.html");
          const r = {
            health_ms: round(c.readyMs, 1),
            listening_ms: round(c.proc.msToLine(/listening/), 1),
            idle_rss_mib: await idleRss(c.proc),
          };
          await c.proc.stop();
          return r;
        },
      },
    ],
    startRounds,
    (name, i, x) =>
      ctx.log(
        `start ${i + 1} ${name}: first answer ${x.health_ms} ms, idle RSS ${x.idle_rss_mib} MiB`,
      ),
    guard,
  );

  // 2. First run: a new database (migrations, owner account, local peer).
  const firstRuns: Start[] = [];
  for (let i = 0; i < ctx.opts.pairs; i++) {
    const f = await startFazt(ctx, `${ctx.tmp}/first-${i}.db`);
    // The banner's first-run lines follow the listening line; wait for them.
    await f.proc.waitForLine(/First run/, 10_000);
    firstRuns.push({
      health_ms: round(f.healthMs, 1),
      listening_ms: round(f.listeningMs, 1),
      idle_rss_mib: await idleRss(f.proc),
    });
    await f.proc.stop();
  }
  ctx.log(`first runs: ${firstRuns.map((x) => `${x.health_ms} ms`).join(", ")}`);

  // 3. Memory after 100k requests (mixed: both files, plain and gzip).
  const mix: WrkRequest[] = [];
  for (const gzip of [false, true]) {
    for (const rel of SMALL_SITE.keys()) {
      mix.push({ path: `/${rel}`, headers: requestHeaders(gzip) });
    }
  }
  const underLoad = async (p: Proc, port: number): Promise<Load> => {
    const idle = await idleRss(p);
    const w = await runWrkRequests({
      url: `http://127.0.0.1:${port}/index.html`,
      threads: ctx.opts.threads,
      connections: ctx.opts.connections,
      total: REQUESTS,
      requests: mix,
      dir: ctx.tmp,
    });
    if (w.non200 > 0) throw new Error(`${w.non200} of ${w.requests} answers were not 200`);
    await sleep(IDLE_MS);
    const m = p.memory();
    return {
      idle_rss_mib: idle,
      requests: w.requests,
      after_rss_mib: mib(m.rss_kb),
      peak_rss_mib: mib(m.hwm_kb),
    };
  };
  const loads = await alternate<Load>(
    [
      {
        name: "fazt",
        run: async () => {
          const f = await startFazt(ctx, db);
          const r = await underLoad(f.proc, f.port);
          const sys = await fetch(`${f.url}/api/system`, {
            headers: { authorization: `Bearer ${token}` },
          }).then((res) => res.json());
          r.heap_used_mib = mib(sys.data.memory.heap_used_bytes / 1024);
          await f.proc.stop();
          return r;
        },
      },
      {
        name: "deno-ceiling",
        run: async () => {
          const c = await startCeiling(ctx, specFile, "/index.html");
          const r = await underLoad(c.proc, c.port);
          await c.proc.stop();
          return r;
        },
      },
    ],
    ctx.opts.pairs,
    (name, i, x) =>
      ctx.log(
        `load ${i + 1} ${name}: idle ${x.idle_rss_mib} MiB, after ${fmt(x.requests)} requests ` +
          `${x.after_rss_mib} MiB (peak ${x.peak_rss_mib} MiB` +
          (x.heap_used_mib === undefined ? ")" : `, V8 heap ${x.heap_used_mib} MiB)`),
      ),
    guard,
  );
  const lowCount = [...loads.values()].flat().find((x) => x.requests < REQUESTS);
  if (lowCount) throw new Error(`a load run made only ${lowCount.requests} requests`);

  const med = <T>(xs: T[], k: keyof T) => median(xs.map((x) => Number(x[k])));
  const s = (name: string) => ({
    runs: starts.get(name)!,
    median: {
      health_ms: med(starts.get(name)!, "health_ms"),
      listening_ms: med(starts.get(name)!, "listening_ms"),
      idle_rss_mib: med(starts.get(name)!, "idle_rss_mib"),
    },
  });
  const l = (name: string) => ({
    runs: loads.get(name)!,
    median: {
      idle_rss_mib: med(loads.get(name)!, "idle_rss_mib"),
      after_rss_mib: med(loads.get(name)!, "after_rss_mib"),
      peak_rss_mib: med(loads.get(name)!, "peak_rss_mib"),
      heap_used_mib: med(loads.get(name)!, "heap_used_mib"),
    },
  });
  const fazt = { start: s("fazt"), load: l("fazt") };
  const ceiling = { start: s("deno-ceiling"), load: l("deno-ceiling") };
  const first = {
    runs: firstRuns,
    median: {
      health_ms: med(firstRuns, "health_ms"),
      listening_ms: med(firstRuns, "listening_ms"),
      idle_rss_mib: med(firstRuns, "idle_rss_mib"),
    },
  };
  const targets: TargetCheck[] = [
    atMost("start to first /health (restart)", fazt.start.median.health_ms, 300, " ms"),
    atMost("start to first /health (first run, new db)", first.median.health_ms, 300, " ms"),
    // The issue says MB: compared in 10^6 bytes, the stricter reading.
    atMost(
      "idle RSS after start-up",
      round(fazt.start.median.idle_rss_mib * MB_PER_MIB, 1),
      80,
      " MB",
    ),
    atMost(
      "idle RSS after 100k requests",
      round(fazt.load.median.after_rss_mib * MB_PER_MIB, 1),
      80,
      " MB",
    ),
  ];
  notes.push(
    `start-up is measured from just before spawning 'deno run … main.ts server start' to the ` +
      `first 200 from /health (polled every 2 ms over fresh connections); RSS is VmRSS ` +
      `${IDLE_MS} ms after the last request.`,
  );
  const ms = (x: number) => fmt(x, 0);
  return {
    figures: {
      fazt,
      fazt_first_run: first,
      deno_ceiling: ceiling,
      requests: REQUESTS,
      disturbance: summariseGuard(guard),
    },
    tables: [{
      title: `startup: ${startRounds} alternating starts, ${ctx.opts.pairs} first runs and ` +
        `${ctx.opts.pairs} load runs of ${fmt(REQUESTS)} requests, medians`,
      columns: [
        "server",
        "first answer ms",
        "listening line ms",
        "idle RSS MiB",
        "RSS after 100k MiB",
        "peak RSS MiB",
      ],
      rows: [
        [
          "fazt (restart)",
          ms(fazt.start.median.health_ms),
          ms(fazt.start.median.listening_ms),
          fazt.start.median.idle_rss_mib,
          fazt.load.median.after_rss_mib,
          fazt.load.median.peak_rss_mib,
        ],
        [
          "fazt (first run)",
          ms(first.median.health_ms),
          ms(first.median.listening_ms),
          first.median.idle_rss_mib,
          "",
          "",
        ],
        [
          "bare Deno.serve",
          ms(ceiling.start.median.health_ms),
          ms(ceiling.start.median.listening_ms),
          ceiling.start.median.idle_rss_mib,
          ceiling.load.median.after_rss_mib,
          ceiling.load.median.peak_rss_mib,
        ],
      ],
    }],
    targets,
    notes,
  };
}

export const startupBench: Benchmark = {
  name: "startup",
  description: "start to first /health; idle RSS after start-up and after 100k requests",
  tools: { required: ["wrk"], optional: [] },
  run,
};
