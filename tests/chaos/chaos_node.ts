/**
 * What the chaos suites share: a node in a process of its own (optionally
 * under a descriptor limit), deploys to it, and the suite's size: CI-sized
 * by default, full-sized with `FAZT_CHAOS=full` (longer runs, more load,
 * the deadlines without a CI margin).
 * @module
 */
import assert from "node:assert/strict";
import http from "node:http";
import https from "node:https";
import type { Buffer } from "node:buffer";
import { Storage } from "../../storage/mod.ts";
import { DENO_DIR, ROOT, ServerProcess, startFlags } from "../cli_runner.ts";
import { makeZip } from "../helpers.ts";
import { waitFor } from "../deadline.ts";

/** Whether this is the full-sized run (`FAZT_CHAOS=full`). */
export const FULL = Deno.env.get("FAZT_CHAOS") === "full";

/** `ci` in a CI-sized run, `full` in a full one. */
export function sized<T>(ci: T, full: T): T {
  return FULL ? full : ci;
}

export interface ChaosNode {
  server: ServerProcess;
  port: number;
  /** The HTTPS port, when the node was started with `--tls-cert`. */
  httpsPort?: number;
  token: string;
  dir: string;
  deploy(name: string, files: Record<string, string>): Promise<void>;
  /** A deploy whose answer is the caller's to judge. */
  tryDeploy(name: string, files: Record<string, string | Uint8Array>): Promise<Answer>;
  stop(): Promise<void>;
}

/** An answer read whole: status, text, and the error envelope's code if any. */
export interface Answer {
  status: number;
  text: string;
  code?: string;
}

/** Reads a response whole into an `Answer`. */
export async function answerOf(res: Response): Promise<Answer> {
  const text = await res.text();
  let code: string | undefined;
  try {
    code = res.status >= 400 ? JSON.parse(text).error?.code : undefined;
  } catch {
    // Not an envelope.
  }
  return { status: res.status, text, code };
}

/** Starts `fazt server start` (the start task's flags) with these stored settings. */
export async function startChaosNode(
  opts: {
    settings?: Record<string, string | number>;
    fdLimit?: number;
    args?: string[];
    /** The folder of a node started before (a restart on its database). */
    dir?: string;
  } = {},
): Promise<ChaosNode> {
  const dir = opts.dir ?? await Deno.makeTempDir({ prefix: "fazt-chaos-" });
  const db = `${dir}/data.db`;
  const setup = Storage.open(db);
  for (const [k, v] of Object.entries(opts.settings ?? {})) setup.settings.set(k, v);
  const token = setup.tokens.create("chaos", "admin").token;
  setup.close();
  const run = [
    Deno.execPath(),
    "run",
    ...startFlags(),
    "main.ts",
    "server",
    "start",
    "--port",
    "0",
    "--host",
    "127.0.0.1",
    "--db",
    db,
    ...(opts.args ?? []),
  ];
  const [command, ...args] = opts.fdLimit
    ? ["prlimit", `--nofile=${opts.fdLimit}:${opts.fdLimit}`, ...run]
    : run;
  const server = new ServerProcess(
    new Deno.Command(command, {
      args,
      cwd: ROOT,
      env: { HOME: dir, DENO_DIR, NO_COLOR: "1" },
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn(),
  );
  try {
    await server.ready();
  } catch (err) {
    await server.kill();
    throw err;
  }
  const port = server.port;
  const https = opts.args?.includes("--tls-cert")
    ? Number((await waitFor(() => /^https: +port (\d+)$/m.exec(server.out), "the HTTPS port"))[1])
    : undefined;
  const tryDeploy = async (name: string, files: Record<string, string | Uint8Array>) =>
    answerOf(
      await fetch(`http://127.0.0.1:${port}/api/deploy?name=${name}`, {
        method: "POST",
        body: await makeZip(files, 0),
        headers: { authorization: `Bearer ${token}`, "content-type": "application/zip" },
      }),
    );
  return {
    server,
    port,
    httpsPort: https,
    token,
    dir,
    tryDeploy,
    async deploy(name, files) {
      const body = await makeZip(files);
      const res = await fetch(`http://127.0.0.1:${port}/api/deploy?name=${name}`, {
        method: "POST",
        body,
        headers: { authorization: `Bearer ${token}`, "content-type": "application/zip" },
      });
      const text = await res.text();
      assert.equal(res.status, 201, text);
    },
    async stop() {
      await server.kill();
      await Deno.remove(dir, { recursive: true });
    },
  };
}

export interface Timed {
  /** 0 when no answer came. */
  status: number;
  ms: number;
  error?: string;
  retryAfter?: string;
  /** The error envelope's code, for an error answer. */
  code?: string;
}

/**
 * One GET with a `Host` on a new connection (from `localAddress`), timed;
 * never rejects: a failure is status 0 with its error. Gives up after
 * `timeoutMs`.
 */
export function timedGet(
  port: number,
  path: string,
  host: string,
  o: { timeoutMs: number; localAddress?: string; agent?: http.Agent; ca?: string },
): Promise<Timed> {
  const t0 = performance.now();
  return new Promise((resolve) => {
    let settled = false;
    const done = (r: Omit<Timed, "ms">) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve({ ...r, ms: performance.now() - t0 });
    };
    const options = {
      host: "127.0.0.1",
      port,
      path,
      headers: { host },
      agent: o.agent ?? false,
      localAddress: o.localAddress,
    };
    const onResponse = (res: http.IncomingMessage) => {
      const chunks: Buffer[] = [];
      const status = res.statusCode ?? 0;
      res.on("data", (c: Buffer) => status >= 400 && chunks.push(c));
      res.on("error", (e) => done({ status: 0, error: String(e) }));
      res.on("end", () => {
        let code: string | undefined;
        try {
          code = status >= 400 ? JSON.parse(chunks.join("")).error?.code : undefined;
        } catch {
          // Not an error envelope.
        }
        done({ status, code, retryAfter: res.headers["retry-after"] as string | undefined });
      });
    };
    const req = o.ca
      ? https.request({ ...options, ca: o.ca, servername: host }, onResponse)
      : http.request(options, onResponse);
    const timer = setTimeout(() => {
      done({ status: 0, error: "timeout" });
      req.destroy();
    }, o.timeoutMs);
    req.on("error", (e) => done({ status: 0, error: String(e) }));
    req.end();
  });
}

/** The value at quantile `q` (0–1) of `xs`. */
export function quantile(xs: number[], q: number): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))];
}
