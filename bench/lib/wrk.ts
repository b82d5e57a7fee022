/** Running wrk and reading its `--latency` report. */
import { run } from "./proc.ts";

export interface WrkOptions {
  url: string;
  threads: number;
  connections: number;
  /** Seconds. */
  duration: number;
  headers?: Record<string, string>;
  /** A Lua script file (`-s`). */
  script?: string;
  timeoutS?: number;
}

export interface WrkResult {
  requests: number;
  duration_s: number;
  rps: number;
  /** Bytes read, as wrk prints it (rounded to its unit). */
  bytes: number;
  transfer_per_s: number;
  latency_ms: { avg: number; p50: number; p75: number; p90: number; p99: number; max: number };
  errors: { connect: number; read: number; write: number; timeout: number; non2xx: number };
}

const TIME_UNITS: Record<string, number> = { us: 0.001, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
const SIZE_UNITS: Record<string, number> = {
  B: 1,
  KB: 1024,
  MB: 1024 ** 2,
  GB: 1024 ** 3,
  TB: 1024 ** 4,
};

/** `748.00us`, `4.15ms`, `1.02s`, `2.00m` → milliseconds. */
export function parseTime(s: string): number {
  const m = /^([\d.]+)(us|ms|s|m|h)$/.exec(s.trim());
  if (!m) throw new Error(`wrk: cannot read the time '${s}'`);
  return Number(m[1]) * TIME_UNITS[m[2]];
}

/** `10.35GB`, `623.5MB`, `12B` → bytes. */
export function parseSize(s: string): number {
  const m = /^([\d.]+)([KMGT]?B)$/.exec(s.trim());
  if (!m) throw new Error(`wrk: cannot read the size '${s}'`);
  return Number(m[1]) * SIZE_UNITS[m[2]];
}

/** Reads wrk's text report (run with `--latency`). */
export function parseWrk(text: string): WrkResult {
  const need = (re: RegExp, what: string) => {
    const m = re.exec(text);
    if (!m) throw new Error(`wrk: no ${what} in its output:\n${text}`);
    return m;
  };
  const lat = need(/^\s*Latency\s+(\S+)\s+(\S+)\s+(\S+)/m, "latency line");
  const pct = (p: string) => parseTime(need(new RegExp(`^\\s*${p}%\\s+(\\S+)`, "m"), `${p}%`)[1]);
  const total = need(/^\s*(\d+) requests in ([\d.]+\w+), (\S+) read/m, "request count");
  const sock = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(text);
  const non2xx = /Non-2xx or 3xx responses: (\d+)/.exec(text);
  const rps = Number(need(/^Requests\/sec:\s+([\d.]+)/m, "Requests/sec")[1]);
  const transfer = need(/^Transfer\/sec:\s+(\S+)/m, "Transfer/sec")[1];
  return {
    requests: Number(total[1]),
    duration_s: parseTime(total[2]) / 1000,
    rps,
    bytes: parseSize(total[3]),
    transfer_per_s: parseSize(transfer),
    latency_ms: {
      avg: parseTime(lat[1]),
      p50: pct("50"),
      p75: pct("75"),
      p90: pct("90"),
      p99: pct("99"),
      max: parseTime(lat[3]),
    },
    errors: {
      connect: Number(sock?.[1] ?? 0),
      read: Number(sock?.[2] ?? 0),
      write: Number(sock?.[3] ?? 0),
      timeout: Number(sock?.[4] ?? 0),
      non2xx: Number(non2xx?.[1] ?? 0),
    },
  };
}

/** Runs wrk once; throws if the run had errors or non-2xx answers. */
export async function runWrk(o: WrkOptions): Promise<WrkResult> {
  const args = [`-t${o.threads}`, `-c${o.connections}`, `-d${o.duration}s`, "--latency"];
  if (o.timeoutS) args.push("--timeout", `${o.timeoutS}s`);
  for (const [k, v] of Object.entries(o.headers ?? {})) args.push("-H", `${k}: ${v}`);
  if (o.script) args.push("-s", o.script);
  args.push(o.url);
  const out = await run("wrk", args);
  const r = parseWrk(out.stdout);
  const e = r.errors;
  if (e.non2xx > 0 || e.connect > 0 || e.timeout > 0 || e.read > 0 || e.write > 0) {
    throw new Error(`wrk ${o.url}: errors ${JSON.stringify(e)}:\n${out.stdout}`);
  }
  return r;
}

/** wrk's version line, e.g. `wrk debian/4.1.0-3+b2 [epoll]`. */
export async function wrkVersion(): Promise<string> {
  const out = await run("wrk", ["-v"], { allowFail: true });
  return (out.stdout + out.stderr).split("\n")[0].replace(/\s+Copyright.*$/, "").trim();
}

export interface WrkRequest {
  path: string;
  headers: Record<string, string>;
}

/**
 * Sends exactly `total` requests (cycling over `requests`) with wrk, then
 * stops. wrk itself only knows durations, so a Lua script counts answers per
 * thread; each thread that reaches its share says so in a file and the last
 * one ends wrk (`duration` is only a bound). Returns how many were answered
 * and how many were not 200.
 */
export async function runWrkRequests(o: {
  url: string;
  threads: number;
  connections: number;
  total: number;
  requests: WrkRequest[];
  dir: string;
  maxSeconds?: number;
}): Promise<{ requests: number; non200: number; seconds: number }> {
  const per = Math.ceil(o.total / o.threads);
  const done = `${o.dir}/wrk-done-${crypto.randomUUID()}.txt`;
  const lua = (v: string) => JSON.stringify(v); // a JSON string is a valid Lua string here
  const reqs = o.requests.map((r) => {
    const hs = Object.entries(r.headers).map(([k, v]) => `[${lua(k)}] = ${lua(v)}`).join(", ");
    return `  wrk.format("GET", ${lua(r.path)}, { ${hs} }),`;
  });
  const script = `-- written by fazt's bench: ${per} answers per thread, then stop
local reqs = {}
local i, n, bad = 0, 0, 0
function init(args)
  reqs = {
${reqs.join("\n")}
  }
end
function request()
  i = i + 1
  return reqs[(i % #reqs) + 1]
end
function response(status, headers, body)
  n = n + 1
  if status ~= 200 then bad = bad + 1 end
  if n == ${per} then
    local f = io.open(${lua(done)}, "a")
    f:write(n, " ", bad, "\\n")
    f:close()
    local lines = 0
    for _ in io.lines(${lua(done)}) do lines = lines + 1 end
    if lines >= ${o.threads} then os.exit(0) end
    wrk.thread:stop()
  end
end
`;
  const file = `${o.dir}/wrk-count-${crypto.randomUUID()}.lua`;
  await Deno.writeTextFile(file, script);
  const t0 = performance.now();
  const args = [`-t${o.threads}`, `-c${o.connections}`, `-d${o.maxSeconds ?? 120}s`];
  await run("wrk", [...args, "-s", file, o.url]);
  const seconds = (performance.now() - t0) / 1000;
  const lines = (await Deno.readTextFile(done).catch(() => "")).trim().split("\n").filter(Boolean);
  if (lines.length < o.threads) {
    throw new Error(`wrk ended before ${o.total} answers (${lines.length} threads finished)`);
  }
  let requests = 0;
  let non200 = 0;
  for (const l of lines) {
    const [a, b] = l.split(" ").map(Number);
    requests += a;
    non200 += b;
  }
  await Deno.remove(done).catch(() => {});
  await Deno.remove(file).catch(() => {});
  return { requests, non200, seconds };
}
