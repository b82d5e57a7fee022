/**
 * `soak` (issue 12): mixed traffic for minutes at ~70 % of the capacity
 * measured in the same run, to see whether the node stays healthy under
 * sustained load: no failed request, a p99 in the last minute like the
 * first's, resident memory flat after warm-up.
 *
 * The mix, per request: 55 % the 10 KB page of a static site, 15 % an app
 * request writing one KV entry and one document through the app's server
 * code, 15 % an app read, 15 % a tracking event; besides, a deploy of the
 * site every 10 s and a stats query every second. Capacity is what 32
 * clients that each wait for their answer get through in 20 s of the same
 * mix, deploys and stats queries included; the
 * soak then sends 70 % of that rate open-loop (new requests on schedule,
 * whatever the answers), over keep-alive connections from this process.
 * The load generator runs on the same cores as the node, in both phases.
 *
 * Length: `FAZT_SOAK_S` seconds (default 300; 3 in a smoke run).
 */
import http from "node:http";
import type { Buffer } from "node:buffer";
import { createToken, deployZip, faztCli, startFazt } from "./lib/fazt.ts";
import { readMemory } from "./lib/proc.ts";
import { atMost, fmt } from "./lib/report.ts";
import { zipFiles } from "./lib/site.ts";
import { sized } from "./lib/sized.ts";
import { APP, HOST, SMALL_SITE } from "./lib/small_site.ts";
import type { BenchContext, Benchmark, BenchResult, TargetCheck } from "./lib/types.ts";

const NOTES = "notes";
const NOTES_HOST = "notes.localhost";
const NOTES_APP = `export default async (req, ctx) => {
  const k = new URL(req.url).searchParams.get("k") ?? "none";
  if (req.method === "POST") {
    const v = await req.text();
    await ctx.kv.set(k, v);
    await ctx.docs.insert("notes", { id: k, v });
    return Response.json({ ok: true });
  }
  return Response.json({ v: (await ctx.kv.get(k)) ?? null });
};
`;
const SETTINGS: Record<string, string> = {
  max_connections_per_ip: "1000000",
  analytics_client_rate: "0",
  analytics_app_rate: "0",
  analytics_app_daily_events: "0",
};
const LOAD_SHARE = 0.7;
const BROWSER = "Mozilla/5.0 (X11; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0";
/** Requests left unanswered at once before new ones count as failed: the generator's own bound. */
const MAX_OUTSTANDING = 5000;

type Kind = "page" | "write" | "read" | "track" | "deploy" | "stats";

interface Sample {
  at: number;
  ms: number;
  status: number;
  kind: Kind;
}

class Client {
  readonly agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
  #n = 0;

  constructor(readonly port: number, readonly token: string) {}

  request(kind: Kind): Promise<Sample> {
    const n = this.#n++;
    const at = performance.now();
    let o: { path: string; host: string; method: string; body?: string; auth?: boolean };
    switch (kind) {
      case "page":
        o = { path: "/index.html", host: HOST, method: "GET" };
        break;
      case "write":
        // A new key each time: the document's id must be new (insert).
        o = { path: `/api/n?k=k${n}`, host: NOTES_HOST, method: "POST", body: `v${n}` };
        break;
      case "read":
        o = { path: `/api/n?k=k${Math.max(0, n - 100)}`, host: NOTES_HOST, method: "GET" };
        break;
      case "track":
        o = {
          path: "/_fazt/track",
          host: HOST,
          method: "POST",
          body: JSON.stringify({ name: "soak", props: { n: String(n % 100) } }),
        };
        break;
      case "stats":
        o = { path: `/api/stats?app=${APP}`, host: "localhost", method: "GET", auth: true };
        break;
      default:
        throw new Error(`not a request kind: ${kind}`);
    }
    return new Promise((resolve) => {
      const done = (status: number) => resolve({ at, ms: performance.now() - at, status, kind });
      // A browser's: without one, page views and events are a bot's, not counted.
      const headers: Record<string, string> = { host: o.host, "user-agent": BROWSER };
      if (o.auth) headers.authorization = `Bearer ${this.token}`;
      if (o.body) {
        headers["content-type"] = "application/json";
        headers["content-length"] = String(new TextEncoder().encode(o.body).byteLength);
      }
      const req = http.request(
        {
          host: "127.0.0.1",
          port: this.port,
          path: o.path,
          method: o.method,
          headers,
          agent: this.agent,
        },
        (res) => {
          res.on("data", (_: Buffer) => {});
          res.on("end", () => done(res.statusCode ?? 0));
          res.on("error", () => done(0));
        },
      );
      req.setTimeout(30_000, () => req.destroy());
      req.on("error", () => done(0));
      req.end(o.body);
    });
  }
}

/** One of the mix's kinds, by its share. */
function pick(r: number): Kind {
  if (r < 0.55) return "page";
  if (r < 0.70) return "write";
  if (r < 0.85) return "read";
  return "track";
}

function p99(xs: number[]): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(0.99 * s.length))];
}

const ok = (s: Sample) => s.status >= 200 && s.status < 300;

async function run(ctx: BenchContext): Promise<BenchResult> {
  const soakS = sized(ctx.opts, Number(Deno.env.get("FAZT_SOAK_S") ?? 300), 3);
  const calibrateS = sized(ctx.opts, 20, 1);
  const minute = Math.min(60, Math.max(1, Math.floor(soakS / 5)));
  const db = `${ctx.tmp}/fazt.db`;
  const token = await createToken(ctx, db);
  for (const [k, v] of Object.entries(SETTINGS)) {
    await faztCli(ctx, ["server", "config", k, v, "--db", db]);
  }
  const fazt = await startFazt(ctx, db);
  const client = new Client(fazt.port, token);
  const site = await zipFiles(SMALL_SITE);
  await deployZip(fazt, token, APP, site);
  await deployZip(
    fazt,
    token,
    NOTES,
    await zipFiles(new Map([["api/main.js", new TextEncoder().encode(NOTES_APP)]])),
  );
  let rand = 7;
  const random = () => ((rand = (rand * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff);
  // Warm the app host and the caches.
  for (const kind of ["write", "read", "page", "track"] as Kind[]) await client.request(kind);

  /** A deploy every 10 s and a stats query every second, on their own clocks. */
  let version = 0;
  const sideLoad = (into: Sample[], track: (p: Promise<Sample>) => void) => {
    const start = performance.now();
    let nextDeploy = start;
    let nextStats = start + 1000;
    let deploying: Promise<void> | undefined;
    return {
      tick(now: number) {
        if (now >= nextStats) {
          nextStats += 1000;
          track(client.request("stats"));
        }
        if (now >= nextDeploy && !deploying) {
          nextDeploy += 10_000;
          const files = new Map(SMALL_SITE);
          files.set("version.txt", new TextEncoder().encode(String(++version)));
          const at = performance.now();
          const sample = (status: number) =>
            void into.push({ at, ms: performance.now() - at, status, kind: "deploy" });
          deploying = zipFiles(files)
            .then((zip) => deployZip(fazt, token, APP, zip))
            .then(() => sample(201), () => sample(0))
            .finally(() => (deploying = undefined));
        }
      },
      done: () => deploying,
    };
  };

  // 1. Capacity of the same mix, deploys and stats included, closed loop.
  let answered = 0;
  const until = performance.now() + calibrateS * 1000;
  const calibrationSide = sideLoad([], (p) => void p.catch(() => {}));
  const ticking = setInterval(() => calibrationSide.tick(performance.now()), 20);
  await Promise.all(Array.from({ length: 32 }, async () => {
    while (performance.now() < until) {
      if (ok(await client.request(pick(random())))) answered++;
    }
  }));
  clearInterval(ticking);
  await calibrationSide.done();
  const capacity = answered / calibrateS;
  const rate = capacity * LOAD_SHARE;
  ctx.log(`soak: capacity ${fmt(capacity)} req/s; ${fmt(rate)} req/s for ${soakS} s`);

  // 2. The soak, open loop.
  const samples: Sample[] = [];
  const pending = new Set<Promise<void>>();
  let shed = 0;
  const track = (p: Promise<Sample>) => {
    const q: Promise<void> = p.then((s) => {
      samples.push(s);
      pending.delete(q);
    });
    pending.add(q);
  };
  const rss: { at: number; kb: number }[] = [];
  const t0 = performance.now();
  const end = t0 + soakS * 1000;
  let sent = 0;
  let nextRss = t0;
  const side = sideLoad(samples, track);
  while (performance.now() < end) {
    const now = performance.now();
    const due = Math.floor(((now - t0) / 1000) * rate);
    for (; sent < due; sent++) {
      if (pending.size >= MAX_OUTSTANDING) {
        shed++;
        samples.push({ at: now, ms: 0, status: 0, kind: "page" });
      } else track(client.request(pick(random())));
    }
    side.tick(now);
    if (now >= nextRss) {
      nextRss += 1000;
      rss.push({ at: now - t0, kb: readMemory(fazt.proc.pid).rss_kb });
    }
    await new Promise((r) => setTimeout(r, 5));
  }
  await Promise.all([...pending, side.done()]);
  client.agent.destroy();

  // 3. Figures: per kind, per minute, memory.
  const failed = samples.filter((s) => !ok(s));
  const inWindow = (s: Sample, from: number, to: number) =>
    s.kind !== "deploy" && s.at - t0 >= from * 1000 && s.at - t0 < to * 1000;
  const first = samples.filter((s) => ok(s) && inWindow(s, 0, minute)).map((s) => s.ms);
  const last = samples.filter((s) => ok(s) && inWindow(s, soakS - minute, soakS)).map((s) => s.ms);
  const answeredIn = (from: number, to: number) =>
    samples.filter((s) => ok(s) && s.at + s.ms - t0 >= from * 1000 && s.at + s.ms - t0 < to * 1000)
      .length / (to - from);
  const warm = rss.filter((r) => r.at >= minute * 1000);
  const warmKb = warm[0]?.kb ?? NaN;
  const endKb = warm.at(-1)?.kb ?? NaN;
  const peakKb = Math.max(...rss.map((r) => r.kb));
  const growth = (endKb - warmKb) / warmKb;
  const kinds: Kind[] = ["page", "write", "read", "track", "stats", "deploy"];
  const rows = kinds.map((k) => {
    const mine = samples.filter((s) => s.kind === k);
    return [
      k,
      mine.length,
      mine.filter((s) => !ok(s)).length,
      fmt(p99(mine.filter(ok).map((s) => s.ms)), 1),
    ];
  });
  const figures = {
    soak_s: soakS,
    capacity_rps: Math.round(capacity),
    offered_rps: Math.round(rate),
    requests: samples.length,
    failed: failed.length,
    failed_by_status: Object.fromEntries(
      [...new Set(failed.map((s) => s.status))].map((
        st,
      ) => [st, failed.filter((s) => s.status === st).length]),
    ),
    generator_shed: shed,
    window_s: minute,
    answered_rps_first: Math.round(answeredIn(0, minute)),
    answered_rps_last: Math.round(answeredIn(soakS - minute, soakS)),
    p99_first_ms: Math.round(p99(first) * 10) / 10,
    p99_last_ms: Math.round(p99(last) * 10) / 10,
    rss_after_warmup_mb: Math.round(warmKb / 102.4) / 10,
    rss_end_mb: Math.round(endKb / 102.4) / 10,
    rss_peak_mb: Math.round(peakKb / 102.4) / 10,
    rss_growth_pct: Math.round(growth * 1000) / 10,
    deploys: samples.filter((s) => s.kind === "deploy").length,
    by_kind: Object.fromEntries(
      rows.map((r) => [r[0], { requests: r[1], failed: r[2], p99_ms: r[3] }]),
    ),
  };
  const targets: TargetCheck[] = [
    atMost("failed requests", failed.length, 0, ""),
    atMost(`p99 last ${minute} s / first ${minute} s`, p99(last) / p99(first), 1.5),
    atMost("RSS growth after warm-up", growth * 100, 10, " %"),
  ];
  return {
    figures,
    tables: [{
      title: `soak: ${fmt(rate)} req/s (${LOAD_SHARE * 100} % of ${fmt(capacity)}) for ${soakS} s`,
      columns: ["kind", "requests", "failed", "p99 ms"],
      rows,
    }],
    targets,
    notes: [
      `answered first ${minute} s ${figures.answered_rps_first} req/s, last ${figures.answered_rps_last}; ` +
      `p99 first ${minute} s ${figures.p99_first_ms} ms, last ${minute} s ${figures.p99_last_ms} ms; ` +
      `RSS ${figures.rss_after_warmup_mb} MB after warm-up, ${figures.rss_end_mb} MB at the end ` +
      `(peak ${figures.rss_peak_mb} MB)`,
    ],
  };
}

export const soakBench: Benchmark = {
  name: "soak",
  description:
    "mixed traffic (pages, app writes and reads, events, deploys, stats) at 70 % of capacity",
  tools: { required: [], optional: [] },
  run,
};
