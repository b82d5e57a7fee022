/**
 * `analytics`: (1) ingest through `POST /_fazt/track` with wrk, checking that
 * every answered event is stored and none dropped; (2) the cost of counting:
 * the same 10 KB HTML page served with analytics on and off, alternating; (3)
 * a 90-day `/api/stats` query over an app with 10 million raw events,
 * generated straight into a temp database through the storage layer.
 */
import { type AnalyticsEvent, DAY_MS, Storage } from "../storage/mod.ts";
import { alternate, median, ratio, round } from "./lib/alternate.ts";
import { createToken, deployZip, faztCli, type FaztServer, startFazt } from "./lib/fazt.ts";
import { atLeast, atMost, fmt, fmtRatio } from "./lib/report.ts";
import { prng, zipFiles } from "./lib/site.ts";
import { APP, HOST, SMALL_SITE } from "./lib/small_site.ts";
import type { BenchContext, Benchmark, BenchResult, Table, TargetCheck } from "./lib/types.ts";
import { sized } from "./lib/sized.ts";
import { runWrk } from "./lib/wrk.ts";

const QUERY_DAYS = 90;
const QUERY_RUNS = 25;

const AGENTS = [
  "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36",
  "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_4) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Safari/605.1.15",
  "Mozilla/5.0 (X11; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0",
  "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1",
  "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Mobile Safari/537.36",
];

interface LuaRequest {
  method: string;
  path: string;
  headers: Record<string, string>;
  body?: string;
}

/** A wrk script cycling through `reqs` (each thread from its own start). */
async function wrkScript(ctx: BenchContext, name: string, reqs: LuaRequest[]): Promise<string> {
  const lua = (v: string) => JSON.stringify(v); // a JSON string is a valid Lua string here
  const lines = reqs.map((r) => {
    const hs = Object.entries(r.headers).map(([k, v]) => `[${lua(k)}] = ${lua(v)}`).join(", ");
    const body = r.body === undefined ? "nil" : lua(r.body);
    return `  wrk.format(${lua(r.method)}, ${lua(r.path)}, { ${hs} }, ${body}),`;
  });
  const script = `-- written by fazt's bench: cycles through ${reqs.length} requests
local reqs = {}
local i = 0
function init(args)
  reqs = {
${lines.join("\n")}
  }
  i = math.random(#reqs)
end
function request()
  i = i + 1
  return reqs[(i % #reqs) + 1]
end
`;
  const file = `${ctx.tmp}/${name}.lua`;
  await Deno.writeTextFile(file, script);
  return file;
}

/** Varied visitors: 500 addresses (trust_proxy is on) times the agents above. */
function visitorHeaders(i: number): Record<string, string> {
  return {
    Host: HOST,
    "User-Agent": AGENTS[i % AGENTS.length],
    "X-Forwarded-For": `198.51.${(i >> 8) & 255}.${i & 255}`,
  };
}

async function api<T>(port: number, token: string, path: string): Promise<T> {
  const res = await fetch(`http://127.0.0.1:${port}${path}`, {
    headers: { authorization: `Bearer ${token}` },
  });
  const body = await res.json();
  if (!res.ok) throw new Error(`${path}: HTTP ${res.status} ${JSON.stringify(body)}`);
  return body.data as T;
}

interface Stored {
  events: number;
  dropped: number;
}

/** Everything stored for the site (reading stats writes what is buffered first). */
async function stored(port: number, token: string): Promise<Stored> {
  const s = await api<{ totals: { views: number; events: number } }>(
    port,
    token,
    `/api/stats?app=${APP}&from=1d`,
  );
  const sys = await api<{ dropped_events: number }>(port, token, "/api/system");
  return { events: s.totals.views + s.totals.events, dropped: sys.dropped_events };
}

async function node(
  ctx: BenchContext,
  name: string,
  settings: Record<string, string>,
): Promise<{ fazt: FaztServer; token: string }> {
  const db = `${ctx.tmp}/${name}.db`;
  const token = await createToken(ctx, db);
  for (const [k, v] of Object.entries(settings)) {
    await faztCli(ctx, ["server", "config", k, v, "--db", db]);
  }
  const fazt = await startFazt(ctx, db, { name });
  await deployZip(fazt, token, APP, await zipFiles(SMALL_SITE));
  return { fazt, token };
}

interface IngestRound {
  events_per_s: number;
  answered: number;
  stored: number;
  dropped: number;
  p99_ms: number;
}

async function ingest(ctx: BenchContext, notes: string[]) {
  const { fazt, token } = await node(ctx, "ingest", { trust_proxy: "1" });
  const names = ["pageview", "pageview", "signup", "click", "download"];
  const reqs: LuaRequest[] = Array.from({ length: 500 }, (_, i) => ({
    method: "POST",
    path: "/_fazt/track",
    headers: { ...visitorHeaders(i), "Content-Type": "text/plain;charset=UTF-8" },
    body: JSON.stringify({
      name: names[i % names.length],
      path: `/docs/page-${i % 40}`,
      referrer: i % 3 ? "" : `https://ref${i % 7}.example/post`,
      props: i % 5 === 2 ? { plan: i % 2 ? "pro" : "free" } : undefined,
    }),
  }));
  const script = await wrkScript(ctx, "ingest", reqs);
  const o = ctx.opts;
  const wrk = (duration: number) =>
    runWrk({
      url: `http://127.0.0.1:${fazt.port}/_fazt/track`,
      threads: o.threads,
      connections: o.connections,
      duration,
      script,
    });
  await wrk(1); // warm-up
  const rounds: IngestRound[] = [];
  for (let r = 0; r < o.pairs; r++) {
    const before = await stored(fazt.port, token);
    const w = await wrk(o.duration);
    const after = await stored(fazt.port, token);
    const round = {
      events_per_s: Math.round(w.rps),
      answered: w.requests,
      stored: after.events - before.events,
      dropped: after.dropped - before.dropped,
      p99_ms: w.latency_ms.p99,
    };
    ctx.log(
      `ingest round ${r + 1}: ${fmt(round.events_per_s)} events/s, ${
        fmt(round.answered)
      } answered, ` +
        `${fmt(round.stored)} stored, ${round.dropped} dropped, p99 ${round.p99_ms} ms`,
    );
    rounds.push(round);
  }
  await fazt.proc.stop("SIGTERM", 15_000);
  // Every answered event is stored; wrk may stop with a few requests in
  // flight, which the server still answers and stores but wrk never counts.
  const lost = rounds.some((x) => x.dropped > 0 || x.stored < x.answered);
  const extra = Math.max(...rounds.map((x) => x.stored - x.answered));
  if (extra > o.connections) notes.push(`ingest stored ${extra} more events than wrk counted`);
  return { rounds, lost, median_events_per_s: median(rounds.map((x) => x.events_per_s)) };
}

interface ServeSample {
  rps: number;
  p99_ms: number;
}

async function serving(ctx: BenchContext) {
  const on = await node(ctx, "counted", { trust_proxy: "1" });
  const off = await node(ctx, "uncounted", { trust_proxy: "1", analytics_enabled: "0" });
  const reqs = Array.from({ length: 500 }, (_, i) => ({
    method: "GET",
    path: "/index.html",
    headers: visitorHeaders(i),
  }));
  const script = await wrkScript(ctx, "serve", reqs);
  const o = ctx.opts;
  const measure = async (port: number, secs: number): Promise<ServeSample> => {
    const w = await runWrk({
      url: `http://127.0.0.1:${port}/index.html`,
      threads: o.threads,
      connections: o.connections,
      duration: secs,
      script,
    });
    return { rps: Math.round(w.rps), p99_ms: w.latency_ms.p99 };
  };
  await measure(on.fazt.port, 1);
  await measure(off.fazt.port, 1);
  const before = await stored(on.fazt.port, on.token);
  const samples = await alternate<ServeSample>(
    [
      { name: "counted", run: () => measure(on.fazt.port, o.duration) },
      { name: "uncounted", run: () => measure(off.fazt.port, o.duration) },
    ],
    o.pairs,
    (name, r, x) =>
      ctx.log(
        `html round ${r + 1} ${name.padEnd(9)} ${fmt(x.rps).padStart(8)} req/s  p99 ${x.p99_ms} ms`,
      ),
  );
  const after = await stored(on.fazt.port, on.token);
  const offStored = await stored(off.fazt.port, off.token);
  await on.fazt.proc.stop("SIGTERM", 15_000);
  await off.fazt.proc.stop("SIGTERM", 15_000);
  const counted = median(samples.get("counted")!.map((x) => x.rps));
  const uncounted = median(samples.get("uncounted")!.map((x) => x.rps));
  return {
    counted_rps: counted,
    uncounted_rps: uncounted,
    ratio: ratio(counted, uncounted),
    rounds: Object.fromEntries(samples),
    views_stored_during_rounds: after.events - before.events,
    dropped: after.dropped,
    uncounted_stored: offStored.events,
  };
}

/** `events` events over 90 days for `big` (plus a little for `small`), in batches. */
function generate(db: string, now: number, events: number, log: (m: string) => void) {
  const storage = Storage.open(db);
  const t0 = performance.now();
  try {
    storage.settings.set("analytics_retention_days", 3650); // keep them raw
    const r = prng(7);
    const start = now - QUERY_DAYS * DAY_MS;
    const step = (QUERY_DAYS * DAY_MS) / events;
    const browsers = ["Chrome", "Safari", "Firefox", "Edge", "Samsung Internet"];
    const oses = ["Windows", "macOS", "iOS", "Android", "Linux"];
    const devices = ["desktop", "mobile", "tablet"];
    const names = ["signup", "click", "download", "share", "purchase", "play", "search", "login"];
    const batch: AnalyticsEvent[] = [];
    const pick = <T>(xs: T[]) => xs[Math.floor(r() * r() * xs.length)]; // skewed to the front
    for (let i = 0; i < events; i++) {
      const at = Math.floor(start + i * step);
      const day = Math.floor((at - start) / DAY_MS);
      const custom = r() < 0.05;
      batch.push({
        at,
        app: r() < 0.03 ? "small" : "big",
        name: custom ? pick(names) : "pageview",
        source: r() < 0.9 ? "server" : "track",
        path: `/section-${Math.floor(r() * r() * 20)}/page-${Math.floor(r() * r() * 100)}`,
        referrer: r() < 0.6 ? "" : `site${Math.floor(r() * r() * 60)}.example`,
        browser: pick(browsers),
        os: pick(oses),
        device: pick(devices),
        visitor: `${day.toString(36)}-${Math.floor(r() * 30_000).toString(36)}`.padEnd(16, "0"),
        tags: null,
        props: custom ? `{"n":${i % 10}}` : null,
      });
      if (batch.length === 2000) {
        storage.analytics.ingest(batch);
        batch.length = 0;
        if ((i + 1) % 1_000_000 === 0) {
          log(
            `generated ${(i + 1) / 1e6}M events (${Math.round((performance.now() - t0) / 1000)} s)`,
          );
        }
      }
    }
    storage.analytics.ingest(batch);
    storage.db.exec("PRAGMA wal_checkpoint(TRUNCATE)");
    return { seconds: round((performance.now() - t0) / 1000, 1), bytes: storage.sizeBytes() };
  } finally {
    storage.close();
  }
}

async function query(ctx: BenchContext) {
  const RAW_EVENTS = sized(ctx.opts, 10_000_000, 100_000);
  const db = `${ctx.tmp}/big.db`;
  const now = Date.now();
  const gen = generate(db, now, RAW_EVENTS, ctx.log);
  ctx.log(`10M events in ${gen.seconds} s, database ${fmt(gen.bytes / 2 ** 20)} MiB`);
  const token = await createToken(ctx, db);
  const fazt = await startFazt(ctx, db, { name: "stats" });
  const time = async (path: string) => {
    const t = performance.now();
    const data = await api<Record<string, unknown>>(fazt.port, token, path);
    return { ms: performance.now() - t, data };
  };
  const measure = async (path: string) => {
    for (let i = 0; i < 3; i++) await time(path); // warm-up
    const ms: number[] = [];
    let data: Record<string, unknown> = {};
    for (let i = 0; i < QUERY_RUNS; i++) {
      const r = await time(path);
      ms.push(r.ms);
      data = r.data;
    }
    ms.sort((a, b) => a - b);
    return {
      median_ms: round(median(ms), 2),
      p95_ms: round(ms[Math.floor(ms.length * 0.95)], 2),
      data,
    };
  };
  const day = await measure(`/api/stats?app=big&from=${QUERY_DAYS}d&interval=day`);
  const hour = await measure(`/api/stats?app=big&from=7d&interval=hour`);
  const all = await measure(`/api/stats?from=${QUERY_DAYS}d`);
  const totals = day.data.totals as { views: number; events: number };
  const raw = await api<{ total: number }>(
    fazt.port,
    token,
    `/api/stats/events?app=big&from=${QUERY_DAYS + 1}d`,
  );
  await fazt.proc.stop("SIGTERM", 15_000);
  return {
    events: RAW_EVENTS,
    generate_s: gen.seconds,
    db_mib: round(gen.bytes / 2 ** 20, 0),
    big_counted: totals.views + totals.events,
    big_named_events: raw.total,
    day_90: { median_ms: day.median_ms, p95_ms: day.p95_ms },
    hour_7d: { median_ms: hour.median_ms, p95_ms: hour.p95_ms },
    all_apps_90d: { median_ms: all.median_ms, p95_ms: all.p95_ms },
  };
}

async function run(ctx: BenchContext): Promise<BenchResult> {
  const notes: string[] = [];
  const ing = await ingest(ctx, notes);
  const srv = await serving(ctx);
  const q = await query(ctx);
  const targets: TargetCheck[] = [];
  const ingestTarget = atLeast(
    "ingest events/s via POST /_fazt/track",
    ing.median_events_per_s,
    50_000,
    "",
  );
  if (ing.lost) {
    ingestTarget.pass = false;
    ingestTarget.note = "events were lost";
  } else ingestTarget.note = "no loss: every answered event stored, none dropped";
  targets.push(ingestTarget);
  targets.push(atLeast("counted/uncounted HTML req/s", srv.ratio, 0.9));
  targets.push(
    atMost("90-day stats query, 10M raw events (median)", q.day_90.median_ms, 50, " ms"),
  );
  const tables: Table[] = [{
    title:
      `analytics: wrk -t${ctx.opts.threads} -c${ctx.opts.connections} -d${ctx.opts.duration}s, ` +
      `${ctx.opts.pairs} rounds, medians`,
    columns: ["measure", "value", "detail"],
    rows: [
      [
        "ingest events/s",
        fmt(ing.median_events_per_s),
        ing.rounds.map((x) => fmt(x.events_per_s / 1000, 1) + "k").join(" "),
      ],
      [
        "ingest lost",
        ing.lost ? "yes" : "no",
        ing.rounds.map((x) => `${x.stored}/${x.answered}`).join(" "),
      ],
      [
        "HTML counted req/s",
        fmt(srv.counted_rps),
        `${fmt(srv.views_stored_during_rounds)} views stored`,
      ],
      ["HTML uncounted req/s", fmt(srv.uncounted_rps), `${srv.uncounted_stored} stored`],
      ["counted/uncounted", fmtRatio(srv.ratio), ""],
      ["10M events generated", `${q.generate_s} s`, `${fmt(q.db_mib)} MiB database`],
      [
        "90 days by day, one app",
        `${q.day_90.median_ms} ms`,
        `p95 ${q.day_90.p95_ms} ms, ${fmt(q.big_counted)} counted`,
      ],
      ["7 days by hour, one app", `${q.hour_7d.median_ms} ms`, `p95 ${q.hour_7d.p95_ms} ms`],
      ["90 days, all apps", `${q.all_apps_90d.median_ms} ms`, `p95 ${q.all_apps_90d.p95_ms} ms`],
    ],
  }];
  return { figures: { ingest: ing, serving: srv, query: q }, tables, targets, notes };
}

export const analyticsBench: Benchmark = {
  name: "analytics",
  description: "ingest via /_fazt/track, cost of counting HTML views, 90-day query over 10M events",
  tools: { required: ["wrk"], optional: [] },
  run,
};
