/**
 * `https`: fazt's 10 KB page over HTTPS with keep-alive, against Caddy
 * serving the same bytes over TLS on loopback with a certificate from the
 * same local CA (ECDSA P-256, made with openssl); then certificate swaps
 * under load: fazt is started with `--tls-cert/--tls-key`, the files are
 * rewritten with another certificate and SIGHUP makes it read them again
 * (a new HTTPS listener; connections on the old one are kept), while wrk
 * keeps its connections busy and a client opens a new TLS connection after
 * each swap to see the new certificate. Every failed request is counted.
 */
import { makeTestCa } from "../tests/tls_certs.ts";
import { alternate, median, newGuard, ratio, round, summariseGuard } from "./lib/alternate.ts";
import { treeCpuSeconds } from "./lib/cpu.ts";
import { createToken, deployZip, liftPerAddressCap, startFazt } from "./lib/fazt.ts";
import { freePort, type Proc } from "./lib/proc.ts";
import { atLeast, fmt, fmtRatio } from "./lib/report.ts";
import { zipFiles } from "./lib/site.ts";
import { APP, HOST, SMALL_SITE } from "./lib/small_site.ts";
import { repeats, sized } from "./lib/sized.ts";
import type { BenchContext, Benchmark, BenchResult, TargetCheck } from "./lib/types.ts";
import { runWrk, type WrkResult } from "./lib/wrk.ts";

interface Server {
  name: string;
  port: number;
  proc: Proc;
}

interface Sample {
  rps: number;
  p50_ms: number;
  p99_ms: number;
  errors: number;
  cpu_ms_per_1k: number;
}

const errorsOf = (r: WrkResult) =>
  r.errors.connect + r.errors.read + r.errors.write + r.errors.timeout + r.errors.non2xx;

async function load(ctx: BenchContext, s: Server, secs: number, connections: number) {
  return await runWrk({
    url: `https://127.0.0.1:${s.port}/index.html`,
    threads: ctx.opts.threads,
    connections,
    duration: secs,
    headers: { Host: HOST },
  });
}

async function measure(ctx: BenchContext, s: Server, secs: number): Promise<Sample> {
  const cpu0 = treeCpuSeconds(s.proc.pid);
  const r = await load(ctx, s, secs, ctx.opts.connections);
  const cpu = treeCpuSeconds(s.proc.pid) - cpu0;
  return {
    rps: Math.round(r.rps),
    p50_ms: r.latency_ms.p50,
    p99_ms: r.latency_ms.p99,
    errors: errorsOf(r),
    cpu_ms_per_1k: round((cpu * 1e6) / Math.max(1, r.requests), 1),
  };
}

/** curl over HTTPS to 127.0.0.1:port as `HOST`, trusting `caFile`: body and certificate subject. */
async function curlGet(port: number, caFile: string) {
  const out = await new Deno.Command("curl", {
    args: [
      "-sS",
      "-v",
      "--max-time",
      "10",
      "--cacert",
      caFile,
      "-H",
      `Host: ${HOST}`,
      `https://127.0.0.1:${port}/index.html`,
    ],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const err = new TextDecoder().decode(out.stderr);
  return { ok: out.success, body: out.stdout, subject: /subject: (.*)/.exec(err)?.[1] ?? "", err };
}

async function startCaddyTls(
  ctx: BenchContext,
  www: string,
  cert: string,
  key: string,
): Promise<Server> {
  const dir = `${ctx.tmp}/caddy`;
  await Deno.mkdir(dir, { recursive: true });
  const port = freePort();
  const config = `# written by fazt's bench
{
\tadmin off
\tauto_https off
\tstorage file_system ${dir}/data
}

https://:${port} {
\tbind 127.0.0.1
\ttls ${cert} ${key}
\troot * ${www}
\tfile_server
}
`;
  await Deno.writeTextFile(`${dir}/Caddyfile`, config);
  const proc = ctx.procs.spawn("caddy", ctx.tools.paths.caddy, [
    "run",
    "--config",
    `${dir}/Caddyfile`,
    "--adapter",
    "caddyfile",
  ], { env: { ...Deno.env.toObject(), HOME: dir, XDG_DATA_HOME: `${dir}/data` } });
  return { name: "caddy", port, proc };
}

async function waitForHttps(s: Server, caFile: string): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (s.proc.exited) throw new Error(`${s.name} exited:\n${s.proc.tail()}`);
    if ((await curlGet(s.port, caFile)).ok) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`${s.name} does not answer over HTTPS:\n${s.proc.tail()}`);
}

async function run(ctx: BenchContext): Promise<BenchResult> {
  const ca = await makeTestCa();
  const notes: string[] = [];
  const figures: Record<string, unknown> = {};
  const targets: TargetCheck[] = [];
  try {
    const gen1 = await ca.leaf("gen1", ["127.0.0.1", HOST], 1);
    const gen2 = await ca.leaf("gen2", ["127.0.0.1", HOST], 2);
    const certFile = `${ctx.tmp}/cert.pem`, keyFile = `${ctx.tmp}/key.pem`;
    await Deno.copyFile(gen1.certFile, certFile);
    await Deno.copyFile(gen1.keyFile, keyFile);

    const db = `${ctx.tmp}/fazt.db`;
    const token = await createToken(ctx, db);
    await liftPerAddressCap(ctx, db);
    const httpsPort = freePort();
    const f = await startFazt(ctx, db, {
      args: ["--tls-cert", certFile, "--tls-key", keyFile, "--https-port", String(httpsPort)],
    });
    await deployZip(f, token, APP, await zipFiles(SMALL_SITE));
    const fazt: Server = { name: "fazt", port: httpsPort, proc: f.proc };
    if (f.proc.lines.some((l) => l.includes("without the socket fixes"))) {
      notes.push("fazt ran without the FFI socket fixes: HTTPS responses wait for delayed ACKs");
    }
    const www = `${ctx.tmp}/www`;
    await Deno.mkdir(www, { recursive: true });
    await Deno.writeFile(`${www}/index.html`, SMALL_SITE.get("index.html")!);
    const servers: Server[] = [fazt];
    if (ctx.tools.has("caddy")) {
      servers.push(await startCaddyTls(ctx, www, gen1.certFile, gen1.keyFile));
    } else notes.push(`Caddy skipped: ${ctx.tools.missing.caddy}`);
    // Both send the same 10 KB, with a certificate the CA vouches for.
    const want = SMALL_SITE.get("index.html")!;
    for (const s of servers) {
      await waitForHttps(s, ca.caFile);
      const got = await curlGet(s.port, ca.caFile);
      if (!got.ok || got.body.byteLength !== want.byteLength || !/O ?= ?gen1/.test(got.subject)) {
        throw new Error(`${s.name} over HTTPS: ${got.body.byteLength} bytes, ${got.subject}`);
      }
    }

    // 1. Throughput, alternating.
    const o = ctx.opts;
    const guard = newGuard(ctx.log, 0.2, repeats(o));
    if (!o.smoke) { for (const s of servers) await measure(ctx, s, 1); // warm-up
     }
    const samples = await alternate<Sample>(
      servers.map((s) => ({
        name: s.name,
        run: () => measure(ctx, s, o.duration),
        pids: () => [s.proc.pid],
      })),
      o.pairs,
      (name, r, x) =>
        ctx.log(`round ${r + 1} ${name}: ${fmt(x.rps)} req/s, ${x.cpu_ms_per_1k} ms CPU/1k`),
      guard,
    );
    // Resident memory of each server's process now, and its peak over its
    // whole life (fazt's includes the deploy before the load).
    const memory = (s: Server) => {
      const m = s.proc.memory();
      return { rss_mib: round(m.rss_kb / 1024, 1), peak_rss_mib: round(m.hwm_kb / 1024, 1) };
    };
    const memoryCell = (s: Server) => {
      const m = memory(s);
      return `${m.rss_mib} (${m.peak_rss_mib})`;
    };
    const rows: (string | number)[][] = [];
    const fz = samples.get("fazt")!;
    const cd = samples.get("caddy");
    for (const s of servers) {
      const xs = samples.get(s.name)!;
      const rpsRatio = cd ? median(fz.map((x, i) => ratio(x.rps, cd[i].rps))) : NaN;
      const cpuRatio = cd
        ? median(fz.map((x, i) => ratio(x.cpu_ms_per_1k, cd[i].cpu_ms_per_1k)))
        : NaN;
      rows.push([
        s.name,
        fmt(median(xs.map((x) => x.rps))),
        median(xs.map((x) => x.p50_ms)).toFixed(2),
        median(xs.map((x) => x.p99_ms)).toFixed(2),
        String(median(xs.map((x) => x.cpu_ms_per_1k))),
        s.name === "fazt" && cd ? `${fmtRatio(rpsRatio)} (CPU ${fmtRatio(cpuRatio)})` : "",
        xs.reduce((a, x) => a + x.errors, 0),
        memoryCell(s),
        xs.map((x) => fmt(x.rps / 1000, 1) + "k").join(" "),
      ]);
      figures[s.name] = { runs: xs, ...memory(s) };
      if (s.name === "fazt") {
        figures.fazt_over_caddy = { rps: rpsRatio, cpu_per_request: cpuRatio };
        const t = atLeast("10KB HTTPS keep-alive: fazt/caddy req/s", rpsRatio, 1.5);
        if (!cd) t.note = "Caddy not available";
        targets.push(t);
        targets.push({
          name: "10KB HTTPS: fazt/caddy CPU per request",
          target: "reported",
          actual: cd ? fmtRatio(cpuRatio) : "not measured",
          pass: null,
        });
      }
    }
    figures.disturbance = summariseGuard(guard);

    // 2. Certificate swaps under keep-alive load.
    const swaps = sized(o, 8, 2);
    const secs = Math.max(2, swaps + 2);
    const wrk = load(ctx, fazt, secs, 32);
    const seen: string[] = [];
    let freshFailures = 0;
    for (let i = 1; i <= swaps; i++) {
      await new Promise((r) => setTimeout(r, 1000 * (secs - 1) / (swaps + 1)));
      const next = i % 2 ? gen2 : gen1;
      await Deno.copyFile(next.certFile, certFile);
      await Deno.copyFile(next.keyFile, keyFile);
      Deno.kill(f.proc.pid, "SIGHUP");
      // A new connection after the swap: it must see the new certificate.
      let got = await curlGet(fazt.port, ca.caFile);
      for (let t = 0; got.ok && !got.subject.includes(`gen${i % 2 ? 2 : 1}`) && t < 100; t++) {
        await new Promise((r) => setTimeout(r, 10));
        got = await curlGet(fazt.port, ca.caFile);
      }
      if (!got.ok) {
        freshFailures++;
        notes.push(`swap ${i}: a new connection failed: ${got.err.trim().split("\n").at(-1)}`);
      }
      seen.push(/gen\d/.exec(got.subject)?.[0] ?? "?");
    }
    const w = await wrk;
    const swapErrors = errorsOf(w);
    figures.swap = {
      swaps,
      seconds: secs,
      wrk_connections: 32,
      wrk_requests: w.requests,
      wrk_errors: w.errors,
      new_connection_failures: freshFailures,
      certificates_seen_after_each_swap: seen,
    };
    rows.push([
      `fazt, ${swaps} swaps under load`,
      fmt(w.rps),
      w.latency_ms.p50.toFixed(2),
      w.latency_ms.p99.toFixed(2),
      "",
      `certs after swaps: ${seen.join(" ")}`,
      swapErrors + freshFailures,
      memoryCell(fazt),
      "",
    ]);
    targets.push({
      name: "certificate swaps under keep-alive load: failed requests",
      target: "0",
      actual: String(swapErrors + freshFailures),
      pass: swapErrors + freshFailures === 0 &&
        seen.every((g, i) => g === `gen${(i + 1) % 2 ? 2 : 1}`),
    });
    return {
      figures,
      tables: [{
        title: `https: 10 KB over HTTPS, wrk -t${o.threads} -c${o.connections} ` +
          `-d${o.duration}s keep-alive, ${o.pairs} alternating rounds, medians`,
        columns: [
          "server",
          "req/s",
          "p50 ms",
          "p99 ms",
          "cpu ms/1k req",
          "fazt/caddy",
          "errors",
          "RSS MiB (peak)",
          "req/s per round",
        ],
        rows,
      }],
      targets,
      notes,
    };
  } finally {
    await Deno.remove(ca.dir, { recursive: true });
  }
}

export const httpsBench: Benchmark = {
  name: "https",
  description: "10 KB over HTTPS keep-alive: fazt vs Caddy (same CA); certificate swaps under load",
  tools: { required: ["wrk", "curl", "openssl"], optional: ["caddy"] },
  run,
};
