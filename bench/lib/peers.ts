/**
 * The peers fazt is compared with, each configured here (in a temp folder)
 * and bound to 127.0.0.1 only.
 */
import { waitFor200 } from "./http.ts";
import { freePort, type Proc } from "./proc.ts";
import type { BenchContext } from "./types.ts";

export interface Peer {
  name: string;
  port: number;
  proc: Proc;
  /** ms from spawn to its first 200. */
  readyMs: number;
  /** The config file written for it, kept in the results for reference. */
  config?: string;
}

/**
 * nginx: 2 worker processes, sendfile on, gzip_static on (serves `x.gz`
 * beside `x`), access log off, everything under a temp prefix, in the
 * foreground as the current user.
 */
export async function startNginx(ctx: BenchContext, www: string, probe: string): Promise<Peer> {
  const dir = `${ctx.tmp}/nginx`;
  await Deno.mkdir(`${dir}/logs`, { recursive: true });
  const port = freePort();
  const user = Deno.uid() === 0 ? "user root root;\n" : "";
  const config = `# written by fazt's bench
${user}worker_processes 2;
daemon off;
master_process on;
pid ${dir}/nginx.pid;
error_log ${dir}/logs/error.log warn;
events { worker_connections 1024; }
http {
  types { text/html html; text/javascript js; text/css css; }
  default_type application/octet-stream;
  charset utf-8;
  charset_types text/html text/javascript text/css;
  access_log off;
  sendfile on;
  tcp_nopush on;
  keepalive_timeout 75s;
  # Keep-alive for the whole run, as the other servers do (the default closes
  # a connection after 1,000 requests).
  keepalive_requests 1000000;
  gzip off;
  gzip_static on;
  gzip_vary on;
  client_body_temp_path ${dir}/client_body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
  server {
    listen 127.0.0.1:${port} default_server;
    server_name _;
    root ${www};
  }
}
`;
  await Deno.writeTextFile(`${dir}/nginx.conf`, config);
  const proc = ctx.procs.spawn("nginx", ctx.tools.paths.nginx, [
    "-p",
    dir,
    "-e",
    `${dir}/logs/error.log`,
    "-c",
    `${dir}/nginx.conf`,
  ]);
  const readyMs = await waitFor200(port, probe, {
    since: proc.spawnedAt,
    alive: () => !proc.exited,
    timeoutMs: 10_000,
  }).catch((e) => {
    throw new Error(`nginx did not start: ${e.message}\n${proc.tail()}`);
  });
  return { name: "nginx", port, proc, readyMs, config };
}

/**
 * Caddy: `file_server` with `precompressed gzip` (serves `x.gz` beside `x`),
 * admin endpoint off, automatic HTTPS off, bound to 127.0.0.1.
 */
export async function startCaddy(ctx: BenchContext, www: string, probe: string): Promise<Peer> {
  const dir = `${ctx.tmp}/caddy`;
  await Deno.mkdir(dir, { recursive: true });
  const port = freePort();
  const config = `# written by fazt's bench
{
\tadmin off
\tauto_https off
\tstorage file_system ${dir}/data
}

:${port} {
\tbind 127.0.0.1
\troot * ${www}
\tfile_server {
\t\tprecompressed gzip
\t}
}
`;
  await Deno.writeTextFile(`${dir}/Caddyfile`, config);
  const env = {
    ...Deno.env.toObject(),
    HOME: dir,
    XDG_CONFIG_HOME: `${dir}/config`,
    XDG_DATA_HOME: `${dir}/data`,
  };
  const proc = ctx.procs.spawn("caddy", ctx.tools.paths.caddy, [
    "run",
    "--config",
    `${dir}/Caddyfile`,
    "--adapter",
    "caddyfile",
  ], { env });
  const readyMs = await waitFor200(port, probe, {
    since: proc.spawnedAt,
    alive: () => !proc.exited,
    timeoutMs: 10_000,
  }).catch((e) => {
    throw new Error(`caddy did not start: ${e.message}\n${proc.tail()}`);
  });
  return { name: "caddy", port, proc, readyMs, config };
}

/**
 * The bare Deno.serve ceiling (bench/ceiling_server.ts) over a spec file;
 * with `door`, the same answers through fazt's front door.
 */
export async function startCeiling(
  ctx: BenchContext,
  spec: string,
  probe: string,
  door = false,
): Promise<Peer> {
  const port = freePort();
  const name = door ? "deno-door" : "deno-ceiling";
  const proc = ctx.procs.spawn(name, Deno.execPath(), [
    "run",
    "--no-prompt",
    "--allow-net=127.0.0.1",
    `--allow-read=${ctx.tmp}`,
    `${ctx.root}/bench/ceiling_server.ts`,
    spec,
    String(port),
    ...(door ? ["door"] : []),
  ], { cwd: ctx.root });
  const readyMs = await waitFor200(port, probe, {
    since: proc.spawnedAt,
    alive: () => !proc.exited,
    timeoutMs: 20_000,
  }).catch((e) => {
    throw new Error(`the ceiling server did not start: ${e.message}\n${proc.tail()}`);
  });
  return { name, port, proc, readyMs };
}
