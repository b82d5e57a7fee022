/**
 * `runtime`: apps' server code on fazt side by side with the same handlers
 * on workerd (npm) and a bare Deno.serve, in alternating rounds: a hello
 * world, a JSON handler that reads one KV key (workerd: one key of an
 * in-memory map), a handler that does one `docs.insert`, server-sent events
 * streamed as fast as a client reads them (events/s), WebSocket messages
 * echoed flat out (echoes/s, bench/ws_echo.ts), a Deno Deploy-style
 * handler that commits one `atomic()` to `Deno.openKv()` (beside the same
 * handler on Deno's own KV, a file, in a bare Deno.serve); then reads of one
 * app while another writes flat out, cold starts, idle memory per app
 * (RSS and PSS), and a density run: many apps deployed, each hit once a
 * second, with the memory of the whole process tree and each app's p99.
 *
 * The machine these run on is shared, so besides req/s each run records the
 * server side's CPU time per request (fazt: the server and its app hosts),
 * which moves far less with other programs' load than req/s do.
 */
import { repeats } from "./lib/sized.ts";
import { alternate, median, newGuard, ratio, round, summariseGuard } from "./lib/alternate.ts";
import { treeCpuSeconds } from "./lib/cpu.ts";
import { createToken, deployZip, liftPerAddressCap, startFazt } from "./lib/fazt.ts";
import { rawRequest, waitFor200 } from "./lib/http.ts";
import { freePort, run, sleep } from "./lib/proc.ts";
import { atLeast, atMost, fmt, fmtRatio } from "./lib/report.ts";
import { zipFiles } from "./lib/site.ts";
import type { BenchContext, Benchmark, BenchResult, TargetCheck } from "./lib/types.ts";
import { sized } from "./lib/sized.ts";
import { runWrk, type WrkResult } from "./lib/wrk.ts";
import {
  type EchoSample,
  FAZT_WS_ECHO,
  measureEcho,
  WORKERD_WS_ECHO,
  WS_MESSAGE,
} from "./ws_echo.ts";

const WORKERD_VERSION = "1.20261117.1";
const HELLO = "hello world";
const enc = new TextEncoder();

interface Target {
  name: string;
  port: number;
  host?: string;
  path: string;
  /** The processes whose CPU this subject spends (fazt: the server and its hosts). */
  pids: () => number[];
}

interface Sample {
  rps: number;
  p99_ms: number;
  /** Server-side CPU per request, microseconds. */
  cpu_us: number;
  errors: number;
}

/** workerd from the npm registry, installed once into a cache beside the bench. */
async function workerdBinary(ctx: BenchContext): Promise<string> {
  const dir = `${ctx.root}/bench/.cache/workerd-${WORKERD_VERSION}`;
  const bin = `${dir}/node_modules/@cloudflare/workerd-linux-64/bin/workerd`;
  try {
    await Deno.stat(bin);
    return bin;
  } catch {
    ctx.log(`installing workerd ${WORKERD_VERSION} from npm into ${dir}`);
    await Deno.mkdir(dir, { recursive: true });
    await run("npm", ["install", "--no-save", "--prefix", dir, `workerd@${WORKERD_VERSION}`]);
    await Deno.stat(bin);
    return bin;
  }
}

/**
 * workerd serving the hello world on `/`, a JSON read of an in-memory map on
 * `/json` and the endless event stream on `/sse`.
 */
async function startWorkerd(ctx: BenchContext): Promise<{ port: number; pids: () => number[] }> {
  const bin = await workerdBinary(ctx);
  const port = freePort();
  const dir = `${ctx.tmp}/workerd`;
  await Deno.mkdir(dir, { recursive: true });
  await Deno.writeTextFile(
    `${dir}/hello.js`,
    `const kv = new Map([["greeting", { text: "hello", n: 42 }]]);
${SSE_CODE}
${WORKERD_WS_ECHO}
export default {
  fetch(req) {
    const path = new URL(req.url).pathname;
    if (path === "/json") return Response.json({ value: kv.get("greeting") });
    if (path === "/sse") return sse();
    if (path === "/ws") return wsEcho();
    return new Response(${JSON.stringify(HELLO)});
  },
};\n`,
  );
  await Deno.writeTextFile(
    `${dir}/config.capnp`,
    `using Workerd = import "/workerd/workerd.capnp";
const config :Workerd.Config = (
  services = [ (name = "main", worker = .hello) ],
  sockets = [ ( name = "http", address = "127.0.0.1:${port}", http = (), service = "main" ) ]
);
const hello :Workerd.Worker = (
  modules = [ (name = "worker", esModule = embed "hello.js") ],
  compatibilityDate = "2024-01-01",
);
`,
  );
  const proc = ctx.procs.spawn("workerd", bin, ["serve", `${dir}/config.capnp`], { cwd: dir });
  await waitFor200(port, "/", {
    since: proc.spawnedAt,
    alive: () => !proc.exited,
    timeoutMs: 20_000,
  }).catch((e) => {
    throw new Error(`workerd did not start: ${e.message}\n${proc.tail()}`);
  });
  return { port, pids: () => [proc.pid] };
}

async function startBareDeno(ctx: BenchContext): Promise<{ port: number; pids: () => number[] }> {
  const port = freePort();
  const file = `${ctx.tmp}/hello_serve.ts`;
  await Deno.writeTextFile(
    file,
    `Deno.serve({ hostname: "127.0.0.1", port: ${port}, onListen() {} }, () => new Response(${
      JSON.stringify(HELLO)
    }));\n`,
  );
  const proc = ctx.procs.spawn("deno-hello", Deno.execPath(), [
    "run",
    "--no-prompt",
    "--allow-net=127.0.0.1",
    file,
  ], { cwd: ctx.tmp });
  await waitFor200(port, "/", {
    since: proc.spawnedAt,
    alive: () => !proc.exited,
    timeoutMs: 20_000,
  });
  return { port, pids: () => [proc.pid] };
}

/** The Deno KV handler: one atomic commit per request. */
const KV_ATOMIC = `const kv = await Deno.openKv(KV_PATH);
Deno.serve(SERVE_OPTIONS, async () => {
  const r = await kv.atomic().sum(["hits"], 1n).set(["last"], Date.now()).commit();
  return new Response(r.ok ? r.versionstamp : "conflict");
});
`;

/** The same handler in a bare Deno.serve on Deno's own KV (a file, like fazt's). */
async function startBareDenoKv(
  ctx: BenchContext,
): Promise<{ port: number; pids: () => number[] }> {
  const port = freePort();
  const file = `${ctx.tmp}/kv_serve.ts`;
  const store = `${ctx.tmp}/deno-kv.sqlite3`;
  await Deno.writeTextFile(
    file,
    KV_ATOMIC.replace("KV_PATH", JSON.stringify(store))
      .replace("SERVE_OPTIONS", `{ hostname: "127.0.0.1", port: ${port}, onListen() {} }`),
  );
  const proc = ctx.procs.spawn("deno-kv", Deno.execPath(), [
    "run",
    "--no-prompt",
    "--unstable-kv",
    "--allow-net=127.0.0.1",
    `--allow-read=${ctx.tmp}`,
    `--allow-write=${ctx.tmp}`,
    file,
  ], { cwd: ctx.tmp });
  await waitFor200(port, "/", {
    since: proc.spawnedAt,
    alive: () => !proc.exited,
    timeoutMs: 20_000,
  });
  return { port, pids: () => [proc.pid] };
}

/** Direct children of a process. */
function childrenOf(pid: number): number[] {
  try {
    return Deno.readTextFileSync(`/proc/${pid}/task/${pid}/children`).trim().split(/\s+/)
      .filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

function commandOf(pid: number): string {
  try {
    return Deno.readTextFileSync(`/proc/${pid}/cmdline`).replaceAll("\0", " ");
  } catch {
    return "";
  }
}

/** fazt's app host processes (not its /proc reader or compiler). */
function hostsOf(pid: number): number[] {
  return childrenOf(pid).filter((c) => /host_main\.ts|__app-host/.test(commandOf(c)));
}

/** RSS and PSS of a process in KiB (PSS shares the deno binary's pages fairly). */
function memoryOf(pid: number): { rss: number; pss: number } {
  try {
    const s = Deno.readTextFileSync(`/proc/${pid}/smaps_rollup`);
    const field = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+)`, "m").exec(s)?.[1]);
    return { rss: field("Rss"), pss: field("Pss") };
  } catch {
    return { rss: NaN, pss: NaN };
  }
}

async function get(port: number, path: string, host?: string): Promise<number> {
  const t0 = performance.now();
  const r = await rawRequest(port, path, { headers: host ? { host } : {} });
  if (r.status !== 200) throw new Error(`GET ${host ?? ""}${path}: ${r.status}`);
  return performance.now() - t0;
}

/** One wrk run with the server side's CPU per request. */
async function measure(
  ctx: BenchContext,
  t: Target,
  connections = ctx.opts.connections,
): Promise<Sample> {
  const cpu0 = t.pids().reduce((a, p) => a + treeCpuSeconds(p), 0);
  const r = await wrkOn(ctx, t, connections, ctx.opts.duration);
  const cpu = t.pids().reduce((a, p) => a + treeCpuSeconds(p), 0) - cpu0;
  return {
    rps: r.rps,
    p99_ms: r.latency_ms.p99,
    cpu_us: r.requests ? round((cpu * 1e6) / r.requests, 1) : NaN,
    errors: r.errors.non2xx + r.errors.timeout + r.errors.read + r.errors.connect,
  };
}

function wrkOn(
  ctx: BenchContext,
  t: Target,
  connections: number,
  duration: number,
): Promise<WrkResult> {
  return runWrk({
    url: `http://127.0.0.1:${t.port}${t.path}`,
    threads: Math.min(ctx.opts.threads, connections),
    connections,
    duration,
    headers: t.host ? { Host: t.host } : {},
  });
}

/** One server-sent event of 108 bytes. */
const SSE_EVENT = `data: ${"x".repeat(100)}\n\n`;
/**
 * `sse()`: an event stream produced as fast as the client takes it (one
 * event per pull, so backpressure paces it), for fazt and workerd alike.
 */
const SSE_CODE = `const sseEvent = new TextEncoder().encode(${JSON.stringify(SSE_EVENT)});
function sse() {
  const body = new ReadableStream({ pull(c) { c.enqueue(sseEvent.slice()); } });
  return new Response(body, { headers: { "content-type": "text/event-stream" } });
}`;

interface StreamSample {
  events_per_s: number;
  mib_per_s: number;
  /** Server-side CPU per event, microseconds. */
  cpu_us_per_event: number;
}

const streamClient = Deno.createHttpClient({ allowHost: true });

/**
 * `streams` event streams read at once for `seconds`: events a second in all
 * (bytes / event size: chunks coalesce on the way) and the server's CPU per
 * event. The client is this process, the same for every subject.
 */
async function measureStream(
  t: Target,
  streams: number,
  seconds: number,
): Promise<StreamSample> {
  const responses = await Promise.all(
    Array.from({ length: streams }, () =>
      fetch(`http://127.0.0.1:${t.port}${t.path}`, {
        headers: t.host ? { host: t.host } : {},
        client: streamClient,
      })),
  );
  for (const r of responses) {
    if (r.status !== 200) throw new Error(`${t.name}: ${r.status}`);
  }
  const readers = responses.map((r) => r.body!.getReader());
  // The first chunk of each stream is the start line: counted from there.
  await Promise.all(readers.map((r) => r.read()));
  const cpu0 = t.pids().reduce((a, p) => a + treeCpuSeconds(p), 0);
  const t0 = performance.now();
  const until = t0 + seconds * 1000;
  const bytes = await Promise.all(readers.map(async (reader) => {
    let n = 0;
    while (performance.now() < until) {
      const r = await reader.read();
      if (r.done) throw new Error(`${t.name}: the stream ended`);
      n += r.value.byteLength;
    }
    return n;
  }));
  const elapsed = (performance.now() - t0) / 1000;
  const cpu = t.pids().reduce((a, p) => a + treeCpuSeconds(p), 0) - cpu0;
  await Promise.all(readers.map((r) => r.cancel()));
  const total = bytes.reduce((a, b) => a + b, 0);
  const events = total / SSE_EVENT.length;
  return {
    events_per_s: round(events / elapsed, 0),
    mib_per_s: round(total / elapsed / 1048576, 1),
    cpu_us_per_event: events ? round((cpu * 1e6) / events, 2) : NaN,
  };
}

const APPS = {
  hello: `export default () => new Response(${JSON.stringify(HELLO)});`,
  reader: `export default async (req: Request, ctx: any) => {
    let value = await ctx.kv.get("greeting");
    if (value === undefined) await ctx.kv.set("greeting", value = { text: "hello", n: 42 });
    return Response.json({ value });
  };`,
  writer: `export default async (req: Request, ctx: any) => {
    const doc = await ctx.docs.insert("hits", { at: Date.now() });
    return new Response(doc.id);
  };`,
  denokv: KV_ATOMIC.replace("KV_PATH", "").replace("SERVE_OPTIONS", "{}"),
};

/** A small, slightly realistic app for the density run: routes, JSON, state. */
const densityApp = (i: number) =>
  `const started = Date.now();
const counts = new Map<string, number>();
export default (req: Request) => {
  const path = new URL(req.url).pathname;
  counts.set(path, (counts.get(path) ?? 0) + 1);
  return Response.json({ app: ${i}, path, n: counts.get(path), up: Date.now() - started });
};`;

/**
 * `FAZT_BENCH_RUNTIME_CASES=density,fairness` runs only those parts (while
 * working on one figure): throughput, insert (only the docs.insert handler's
 * wrk runs), sse, fairness, cold, idle, density. Unset: all of them.
 */
function casesWanted(): (name: string) => boolean {
  const raw = Deno.env.get("FAZT_BENCH_RUNTIME_CASES");
  if (!raw) return () => true;
  const set = new Set(raw.split(",").map((c) => c.trim()).filter(Boolean));
  return (name) => set.has(name);
}

async function run_(ctx: BenchContext): Promise<BenchResult> {
  const notes: string[] = [];
  const want = casesWanted();
  const db = `${ctx.tmp}/fazt.db`;
  const token = await createToken(ctx, db);
  // wrk's connections, the event streams and the density run's clients all come from one address.
  await liftPerAddressCap(ctx, db);
  const fazt = await startFazt(ctx, db);
  const app = (code: string) => zipFiles(new Map([["api/main.ts", enc.encode(code)]]));
  for (const [name, code] of Object.entries(APPS)) {
    await deployZip(fazt, token, name, await app(code));
  }
  const faztPids = () => [fazt.proc.pid];
  const on = (name: string, host: string): Target => ({
    name,
    port: fazt.port,
    host: `${host}.localhost`,
    path: "/api/",
    pids: faztPids,
  });
  for (const name of Object.keys(APPS)) await get(fazt.port, "/api/", `${name}.localhost`);
  await deployZip(fazt, token, "sse", await app(`${SSE_CODE}\nexport default () => sse();`));
  await deployZip(fazt, token, "ws", await app(FAZT_WS_ECHO));

  const subjects: Target[] = [on("fazt hello", "hello")];
  let workerd: { port: number; pids: () => number[] } | undefined;
  try {
    workerd = await startWorkerd(ctx);
    subjects.push({ name: "workerd hello", port: workerd.port, path: "/", pids: workerd.pids });
  } catch (e) {
    notes.push(`workerd could not be run: ${(e as Error).message.split("\n")[0]}`);
  }
  const bare = await startBareDeno(ctx);
  subjects.push({ name: "deno hello", port: bare.port, path: "/", pids: bare.pids });
  subjects.push(on("fazt json+kv", "reader"));
  if (workerd) {
    subjects.push({ name: "workerd json", port: workerd.port, path: "/json", pids: workerd.pids });
  }
  subjects.push(on("fazt docs.insert", "writer"));
  subjects.push(on("fazt kv atomic", "denokv"));
  const bareKv = await startBareDenoKv(ctx);
  subjects.push({ name: "deno kv atomic", port: bareKv.port, path: "/", pids: bareKv.pids });

  // 1. Throughput, alternating rounds.
  const rounds = Math.max(sized(ctx.opts, 3, 1), ctx.opts.pairs);
  const guard = newGuard(ctx.log, 0.2, repeats(ctx.opts));
  const measured = want("throughput")
    ? subjects
    : subjects.filter((s) => want("insert") && s.name === "fazt docs.insert");
  if (!ctx.opts.smoke) {
    // Unmeasured first: a server's first seconds under load include V8
    // compiling its hot paths (round 1 of docs.insert was 10-15 % below the
    // next two), a cost paid once, not in every round. Peers alike.
    for (const s of measured) await wrkOn(ctx, s, ctx.opts.connections, 2);
  }
  const samples = await alternate(
    measured.map((s) => ({ name: s.name, pids: s.pids, run: () => measure(ctx, s) })),
    rounds,
    (name, r, s) =>
      ctx.log(
        `${name} round ${r + 1}: ${fmt(s.rps)} req/s, p99 ${s.p99_ms} ms, ${s.cpu_us} µs CPU`,
      ),
    guard,
  );
  const med = (name: string, k: keyof Sample) => median((samples.get(name) ?? []).map((s) => s[k]));
  const perRound = (a: string, b: string) =>
    (samples.get(a) ?? []).map((s, i) => ratio(s.rps, samples.get(b)?.[i]?.rps ?? NaN));
  const helloRatios = perRound("fazt hello", "workerd hello");

  // 1b. Server-sent events flat out: a few streams read at once.
  const streams = sized(ctx.opts, 4, 1);
  const sseSubjects: Target[] = [on("fazt sse", "sse")];
  if (workerd) {
    sseSubjects.push({ name: "workerd sse", port: workerd.port, path: "/sse", pids: workerd.pids });
  }
  const sse = await alternate(
    sseSubjects.filter(() => want("sse")).map((t) => ({
      name: t.name,
      pids: t.pids,
      run: () => measureStream(t, streams, ctx.opts.duration),
    })),
    rounds,
    (name, r, x) =>
      ctx.log(
        `${name} round ${r + 1}: ${fmt(x.events_per_s)} events/s, ${x.mib_per_s} MiB/s, ` +
          `${x.cpu_us_per_event} µs CPU/event`,
      ),
  );
  const sseMed = (name: string, k: keyof StreamSample) =>
    median((sse.get(name) ?? []).map((x) => x[k]));
  const sseRatio = ratio(sseMed("fazt sse", "events_per_s"), sseMed("workerd sse", "events_per_s"));

  // 1c. WebSocket echoes flat out: a few sockets, a window of messages each.
  const wsSubjects = [{
    name: "fazt ws",
    url: `ws://127.0.0.1:${fazt.port}/api/ws`,
    host: "ws.localhost",
    pids: faztPids,
  }];
  if (workerd) {
    wsSubjects.push({
      name: "workerd ws",
      url: `ws://127.0.0.1:${workerd.port}/ws`,
      host: "",
      pids: workerd.pids,
    });
  }
  const ws = await alternate(
    wsSubjects.map((t) => ({
      name: t.name,
      pids: t.pids,
      run: () => measureEcho({ ...t, host: t.host || undefined }, streams, ctx.opts.duration),
    })),
    rounds,
    (name, r, x) =>
      ctx.log(
        `${name} round ${r + 1}: ${fmt(x.messages_per_s)} echoes/s, ` +
          `${x.cpu_us_per_message} µs CPU/echo`,
      ),
  );
  const wsMed = (name: string, k: keyof EchoSample) =>
    median((ws.get(name) ?? []).map((x) => x[k]));
  const wsRatio = ratio(wsMed("fazt ws", "messages_per_s"), wsMed("workerd ws", "messages_per_s"));

  // 2. Reads of one app while another writes flat out.
  const reads = on("reads", "reader");
  const writes = on("writes", "writer");
  // A modest reader (a few clients), beside a writer with every connection wrk has.
  const readConns = 4;
  /** The writer's own req/s in each "beside" round: what the fairness costs it. */
  const writerBeside: number[] = [];
  const fairness = await alternate(
    want("fairness")
      ? [
        { name: "reads alone", pids: faztPids, run: () => measure(ctx, reads, readConns) },
        {
          name: "reads beside a writer",
          pids: faztPids,
          run: async () => {
            const writing = wrkOn(ctx, writes, ctx.opts.connections, ctx.opts.duration);
            const r = await measure(ctx, reads, readConns);
            writerBeside.push((await writing).rps);
            return r;
          },
        },
      ]
      : [],
    rounds,
    (name, r, s) => ctx.log(`${name} round ${r + 1}: ${fmt(s.rps)} req/s`),
  );
  const readsAlone = median((fairness.get("reads alone") ?? []).map((s) => s.rps));
  const readsBeside = median((fairness.get("reads beside a writer") ?? []).map((s) => s.rps));

  // 3. Cold start: a redeploy stops the app; the next request loads it into a
  //    warm spare Worker and runs its first docs.insert.
  const colds: number[] = [];
  for (let i = 0; i < (want("cold") ? sized(ctx.opts, 7, 2) : 0); i++) {
    await deployZip(fazt, token, "cold", await app(`${APPS.writer}\n// version ${i}`));
    // A spare host may be starting after the last placement: let it.
    await sleep(sized(ctx.opts, 1500, 500));
    colds.push(await get(fazt.port, "/api/", "cold.localhost"));
  }
  const coldMs = round(median(colds), 1);

  // 4. Memory of warm, idle apps (a few apps share a host; a spare host waits).
  await sleep(2000);
  const hostMem = hostsOf(fazt.proc.pid).map(memoryOf);
  const serverMem = memoryOf(fazt.proc.pid);

  // 5. Density: many apps, each hit once a second; then the whole tree's memory.
  const nApps = want("density") ? sized(ctx.opts, 50, 3) : 0;
  const seconds = sized(ctx.opts, 60, 3);
  for (let i = 0; i < nApps; i++) {
    await deployZip(fazt, token, `d${i}`, await app(densityApp(i)));
  }
  const latencies: number[][] = Array.from({ length: nApps }, () => []);
  const failures: string[] = [];
  const until = performance.now() + seconds * 1000;
  await Promise.all(Array.from({ length: nApps }, async (_, i) => {
    // Spread over the second, as independent visitors would be.
    await sleep((i * 1000) / nApps);
    for (let next = performance.now(); next < until; next += 1000) {
      await sleep(Math.max(0, next - performance.now()));
      try {
        latencies[i].push(await get(fazt.port, `/api/p${i % 7}`, `d${i}.localhost`));
      } catch (e) {
        failures.push((e as Error).message);
      }
    }
  }));
  const tree = [fazt.proc.pid, ...hostsOf(fazt.proc.pid)];
  const treeMem = tree.map(memoryOf);
  const totalRssMib = round(treeMem.reduce((a, m) => a + m.rss, 0) / 1024, 1);
  const totalPssMib = round(treeMem.reduce((a, m) => a + m.pss, 0) / 1024, 1);
  const p99 = (xs: number[]) => {
    const s = [...xs].sort((a, b) => a - b);
    return s.length ? s[Math.min(s.length - 1, Math.floor(s.length * 0.99))] : NaN;
  };
  const appP99 = latencies.map(p99);
  // Each app's first request is its cold start, and with one request a second
  // it is also its p99: the warm requests' p99 is told apart.
  const firsts = latencies.filter((l) => l.length).map((l) => l[0]);
  const warmP99 = round(p99(latencies.flatMap((l) => l.slice(1))), 1);
  const allP99 = round(p99(latencies.flat()), 1);
  const worstAppP99 = round(Math.max(...appP99), 1);
  if (failures.length) notes.push(`density: ${failures.length} requests failed: ${failures[0]}`);
  // Apps counted in the density run's hosts: the benchmark apps, sse, the cold one and these.
  const appsInTree = nApps + Object.keys(APPS).length + 2;
  const hostsRss = treeMem.slice(1).reduce((a, m) => a + m.rss, 0) / 1024;
  const hostsPss = treeMem.slice(1).reduce((a, m) => a + m.pss, 0) / 1024;
  const perAppRss = round(hostsRss / appsInTree, 1);
  const perAppPss = round(hostsPss / appsInTree, 1);

  const faztRps = med("fazt hello", "rps");
  const workerdRps = med("workerd hello", "rps");
  const insertRps = med("fazt docs.insert", "rps");
  const targets: TargetCheck[] = [
    Number.isNaN(workerdRps)
      ? { name: "hello req/s vs workerd", target: ">= 1.5x", actual: "not measured", pass: null }
      : atLeast(
        "hello req/s vs workerd (median of per-round ratios)",
        median(helloRatios),
        1.5,
      ),
    atMost("cold start incl. first docs.insert", coldMs, 50, " ms"),
    atLeast("one docs.insert per request", insertRps, 10_000, " req/s"),
    atLeast(
      "reads beside an app writing flat out vs reads alone",
      ratio(readsBeside, readsAlone),
      0.8,
    ),
    // The issue says MB: compared in 10^6 bytes, the stricter reading.
    atMost("RSS per warm idle app (hosts' RSS / apps)", round(perAppRss * 1.048576, 1), 40, " MB"),
    atMost(
      `${nApps} apps, each hit once a second: RSS of the node and all its hosts`,
      round(totalRssMib * 1.048576, 0),
      1000,
      " MB",
    ),
  ];
  return {
    figures: {
      rps: Object.fromEntries(subjects.map((s) => [s.name, med(s.name, "rps")])),
      cpu_us_per_request: Object.fromEntries(subjects.map((s) => [s.name, med(s.name, "cpu_us")])),
      p99_ms: Object.fromEntries(subjects.map((s) => [s.name, med(s.name, "p99_ms")])),
      ratio_hello_workerd_per_round: helloRatios,
      ratio_hello_workerd: median(helloRatios),
      ratio_hello_deno: ratio(faztRps, med("deno hello", "rps")),
      ratio_json_workerd: ratio(med("fazt json+kv", "rps"), med("workerd json", "rps")),
      ratio_kv_atomic_deno: ratio(med("fazt kv atomic", "rps"), med("deno kv atomic", "rps")),
      samples: Object.fromEntries(samples),
      sse: {
        streams,
        event_bytes: SSE_EVENT.length,
        events_per_s: Object.fromEntries(
          sseSubjects.map((t) => [t.name, sseMed(t.name, "events_per_s")]),
        ),
        mib_per_s: Object.fromEntries(
          sseSubjects.map((t) => [t.name, sseMed(t.name, "mib_per_s")]),
        ),
        cpu_us_per_event: Object.fromEntries(
          sseSubjects.map((t) => [t.name, sseMed(t.name, "cpu_us_per_event")]),
        ),
        ratio_workerd: sseRatio,
        samples: Object.fromEntries(sse),
      },
      websocket: {
        sockets: streams,
        message_bytes: WS_MESSAGE.length,
        messages_per_s: Object.fromEntries(
          wsSubjects.map((t) => [t.name, wsMed(t.name, "messages_per_s")]),
        ),
        cpu_us_per_message: Object.fromEntries(
          wsSubjects.map((t) => [t.name, wsMed(t.name, "cpu_us_per_message")]),
        ),
        ratio_workerd: wsRatio,
        samples: Object.fromEntries(ws),
      },
      reads_alone_rps: readsAlone,
      reads_beside_writer_rps: readsBeside,
      writer_beside_reads_rps: round(median(writerBeside), 0),
      fairness: Object.fromEntries(fairness),
      cold_start_ms: { median: coldMs, all: colds.map((x) => round(x, 1)) },
      idle: {
        server: serverMem,
        hosts_kib: hostMem,
      },
      density: {
        apps: nApps,
        seconds,
        requests: latencies.flat().length,
        failures: failures.length,
        total_rss_mib: totalRssMib,
        total_pss_mib: totalPssMib,
        processes: tree.length,
        per_app_rss_mib: perAppRss,
        per_app_pss_mib: perAppPss,
        p99_ms_all: allP99,
        p99_ms_worst_app: worstAppP99,
        p99_ms_median_app: round(median(appP99), 1),
        p99_ms_warm: warmP99,
        first_request_ms_median: round(median(firsts), 1),
        first_request_ms_max: round(Math.max(...firsts), 1),
        hosts: tree.length - 1,
      },
      guard: summariseGuard(guard),
    },
    tables: [{
      title: "runtime: handlers (wrk, keep-alive; CPU = server side per request)",
      columns: ["server", "req/s (median)", "p99 ms", "CPU µs/req", "vs workerd", "vs deno"],
      rows: subjects.map((s) => [
        s.name,
        fmt(med(s.name, "rps")),
        String(med(s.name, "p99_ms")),
        fmt(med(s.name, "cpu_us"), 1),
        s.name.startsWith("fazt") && s.name !== "fazt docs.insert" &&
          s.name !== "fazt kv atomic"
          ? fmtRatio(ratio(
            med(s.name, "rps"),
            med(s.name === "fazt hello" ? "workerd hello" : "workerd json", "rps"),
          ))
          : "",
        s.name === "fazt hello"
          ? fmtRatio(ratio(faztRps, med("deno hello", "rps")))
          : s.name === "fazt kv atomic"
          ? fmtRatio(ratio(med(s.name, "rps"), med("deno kv atomic", "rps")))
          : "",
      ]),
    }, {
      title:
        `runtime: server-sent events flat out (${streams} streams, ${SSE_EVENT.length}-byte events)`,
      columns: ["server", "events/s (median)", "MiB/s", "CPU µs/event", "vs workerd"],
      rows: sseSubjects.map((t) => [
        t.name,
        fmt(sseMed(t.name, "events_per_s")),
        String(sseMed(t.name, "mib_per_s")),
        String(sseMed(t.name, "cpu_us_per_event")),
        t.name === "fazt sse" ? fmtRatio(sseRatio) : "",
      ]),
    }, {
      title: `runtime: WebSocket echoes flat out (${streams} sockets, ${WS_MESSAGE.length}-byte ` +
        "messages, 16 in flight each)",
      columns: ["server", "echoes/s (median)", "CPU µs/echo", "vs workerd"],
      rows: wsSubjects.map((t) => [
        t.name,
        fmt(wsMed(t.name, "messages_per_s")),
        String(wsMed(t.name, "cpu_us_per_message")),
        t.name === "fazt ws" ? fmtRatio(wsRatio) : "",
      ]),
    }, {
      title: "runtime: more figures",
      columns: ["what", "value"],
      rows: [
        ["hello vs workerd, per round", helloRatios.map(fmtRatio).join(" ")],
        [
          "reads alone / beside a writer (the writer's req/s)",
          `${fmt(readsAlone)} / ${fmt(readsBeside)} req/s (${fmt(median(writerBeside))})`,
        ],
        [`cold start, median of ${colds.length}`, `${coldMs} ms`],
        [
          "idle hosts (RSS / PSS MiB each)",
          hostMem.map((m) => `${round(m.rss / 1024, 1)}/${round(m.pss / 1024, 1)}`).join(", "),
        ],
        [
          "server idle (RSS / PSS MiB)",
          `${round(serverMem.rss / 1024, 1)} / ${round(serverMem.pss / 1024, 1)}`,
        ],
        [
          `density: ${nApps} apps, ${tree.length - 1} hosts`,
          `RSS ${totalRssMib} MiB, PSS ${totalPssMib} MiB; per app ${perAppRss} / ${perAppPss} MiB`,
        ],
        [
          "density p99 (all / median app / worst app)",
          `${allP99} / ${round(median(appP99), 1)} / ${worstAppP99} ms`,
        ],
        [
          "density: warm p99; first requests (cold) median / max",
          `${warmP99} ms; ${round(median(firsts), 1)} / ${round(Math.max(...firsts), 1)} ms`,
        ],
      ],
    }],
    targets,
    notes,
  };
}

export const runtimeBench: Benchmark = {
  name: "runtime",
  description:
    "handlers on fazt vs workerd vs bare Deno.serve; writes beside reads; cold start; memory; density",
  tools: { required: ["wrk"], optional: ["npm"] },
  run: run_,
};
