/** fazt as a real subprocess, started the way `deno task start` starts it. */
import { waitFor200 } from "./http.ts";
import { type ProfileSummary, readNewestProfile, summarise } from "./profile.ts";
import { freePort, type Proc, run } from "./proc.ts";
import type { BenchContext } from "./types.ts";

function startTask(root: string): string {
  const config = JSON.parse(Deno.readTextFileSync(`${root}/deno.json`));
  return config.tasks?.start ?? "";
}

/** The `deno run` flags of deno.json's `start` task (everything between `run` and `main.ts`). */
export function faztDenoFlags(root: string): string[] {
  const task = startTask(root);
  const last = task.split("&&").pop()!;
  const words = last.trim().split(/\s+/);
  const from = words.indexOf("run");
  const to = words.indexOf("main.ts");
  if (from < 0 || to < from) throw new Error(`cannot read the flags of the start task: '${task}'`);
  return words.slice(from + 1, to);
}

let prepared: Promise<void> | undefined;

/**
 * Runs what the `start` task runs before `deno run` (e.g. building the admin
 * UI), once per bench run, so fazt starts as `deno task start` would start it.
 */
export function prepareFazt(ctx: BenchContext): Promise<void> {
  prepared ??= (async () => {
    const steps = startTask(ctx.root).split("&&").slice(0, -1).map((x) => x.trim()).filter(Boolean);
    for (const step of steps) {
      ctx.log(`start task step: ${step}`);
      await run("sh", ["-c", step], { cwd: ctx.root, env: faztEnv() });
    }
  })();
  return prepared;
}

/** The environment for fazt children: this one without FAZT_* (the flags say everything). */
export function faztEnv(): Record<string, string> {
  const env = Deno.env.toObject();
  for (const k of Object.keys(env)) if (k.startsWith("FAZT_")) delete env[k];
  return env;
}

/** Runs a one-off fazt CLI command (`deno run <start flags> main.ts …`). */
export async function faztCli(
  ctx: BenchContext,
  args: string[],
): Promise<{ stdout: string; stderr: string }> {
  await prepareFazt(ctx);
  const flags = [...ctx.opts.faztDenoFlags, ...faztDenoFlags(ctx.root)];
  return await run(Deno.execPath(), ["run", ...flags, "main.ts", ...args], {
    cwd: ctx.root,
    env: faztEnv(),
  });
}

/** Creates an admin token in `db` (before the server starts) and returns it. */
export async function createToken(ctx: BenchContext, db: string): Promise<string> {
  const out = await faztCli(ctx, [
    "token",
    "create",
    "--name",
    "bench",
    "--scope",
    "admin",
    "--db",
    db,
  ]);
  const token = out.stdout.trim().split("\n").pop()?.trim() ?? "";
  if (!token) throw new Error(`token create printed nothing:\n${out.stderr}`);
  return token;
}

/** `fazt server config KEY VALUE` on `db` (before the server starts). */
export async function configure(
  ctx: BenchContext,
  db: string,
  key: string,
  value: string,
): Promise<void> {
  await faztCli(ctx, ["server", "config", key, value, "--db", db]);
}

/**
 * wrk opens all its connections from one address, which fazt caps at 64
 * (`max_connections_per_ip`): benchmarks that open more, or open new ones
 * all the time, lift the cap.
 */
export function liftPerAddressCap(ctx: BenchContext, db: string): Promise<void> {
  return configure(ctx, db, "max_connections_per_ip", "1000000");
}

export interface FaztServer {
  proc: Proc;
  port: number;
  url: string;
  /** The lines fazt printed up to its listening line (later ones arrive in `proc.lines`). */
  banner: string[];
  /** ms from spawn to the first 200 on /health. */
  healthMs: number;
  /** ms from spawn to the "listening on" line. */
  listeningMs: number;
}

/** Starts `main.ts server start` on 127.0.0.1 and waits for /health. */
export async function startFazt(
  ctx: BenchContext,
  db: string,
  opts: { port?: number; extraDenoFlags?: string[]; name?: string; args?: string[] } = {},
): Promise<FaztServer> {
  await prepareFazt(ctx);
  const port = opts.port ?? freePort();
  const args = [
    "run",
    ...(opts.extraDenoFlags ?? []),
    ...ctx.opts.faztDenoFlags,
    ...faztDenoFlags(ctx.root),
    "main.ts",
    "server",
    "start",
    "--port",
    String(port),
    "--host",
    "127.0.0.1",
    "--db",
    db,
    ...(opts.args ?? []),
  ];
  const proc = ctx.procs.spawn(opts.name ?? "fazt", Deno.execPath(), args, {
    cwd: ctx.root,
    env: faztEnv(),
  });
  const healthMs = await waitFor200(port, "/health", {
    since: proc.spawnedAt,
    alive: () => !proc.exited,
  }).catch((err) => {
    throw new Error(`${err.message}\nfazt output:\n${proc.tail()}`);
  });
  await proc.waitForLine(/listening on/, 5000);
  const listeningMs = proc.msToLine(/listening on/);
  return {
    proc,
    port,
    url: `http://127.0.0.1:${port}`,
    banner: [...proc.lines],
    healthMs,
    listeningMs,
  };
}

/** `POST /api/deploy?name=` with a ZIP body; returns the JSON answer and the ms it took. */
export async function deployZip(
  server: { port: number },
  token: string,
  name: string,
  zip: Uint8Array,
): Promise<{ ms: number; body: Record<string, unknown> }> {
  const t0 = performance.now();
  const res = await fetch(`http://127.0.0.1:${server.port}/api/deploy?name=${name}`, {
    method: "POST",
    headers: { "content-type": "application/zip", authorization: `Bearer ${token}` },
    body: zip as Uint8Array<ArrayBuffer>,
  });
  const text = await res.text();
  const ms = performance.now() - t0;
  if (res.status !== 201) throw new Error(`deploy ${name}: HTTP ${res.status}: ${text}`);
  const body = JSON.parse(text);
  return { ms, body: body.data ?? body };
}

/**
 * Runs `work` against a fazt started with `--cpu-prof`, stops it (SIGTERM, so
 * the profile is written) and summarises where its CPU time went.
 */
export async function profileFazt<T>(
  ctx: BenchContext,
  db: string,
  work: (server: FaztServer) => Promise<T>,
): Promise<{ result: T; summary: ProfileSummary; file: string }> {
  const dir = await Deno.makeTempDir({ dir: ctx.tmp, prefix: "profile-" });
  const server = await startFazt(ctx, db, {
    extraDenoFlags: ["--cpu-prof", `--cpu-prof-dir=${dir}`],
    name: "fazt-profiled",
  });
  let result: T;
  try {
    result = await work(server);
  } finally {
    await server.proc.stop("SIGTERM", 15_000);
  }
  const { profile, file } = await readNewestProfile(dir);
  return { result, summary: summarise(profile, ctx.root), file };
}
