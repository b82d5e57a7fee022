/**
 * Runs the real `fazt` CLI as a subprocess with exactly the permission flags
 * of deno.json's `fazt` task, in a clean environment: HOME and FAZT_DB in a
 * temp dir, no FAZT_URL/FAZT_TOKEN (the approach of cli_test.ts, shared).
 */
import assert from "node:assert/strict";
import { concatBytes } from "../lib/bytes.ts";
import { deadline } from "./deadline.ts";

export const ROOT = new URL("../", import.meta.url);
export const ROOT_PATH = ROOT.pathname;
const td = new TextDecoder();

/** The permission flags of the `fazt` task, read from deno.json at test time. */
export function taskFlags(): string[] {
  const config = JSON.parse(Deno.readTextFileSync(new URL("deno.json", ROOT)));
  const words = String(config.tasks.fazt).trim().split(/\s+/);
  assert.deepEqual(words.slice(0, 2), ["deno", "run"], "the fazt task must be 'deno run ...'");
  assert.equal(words.at(-1), "main.ts", "the fazt task must end with main.ts");
  const flags = words.slice(2, -1);
  assert.ok(!flags.includes("--allow-all") && !flags.includes("-A"), "no blanket permissions");
  return flags;
}

export const FLAGS = taskFlags();

/**
 * The permission flags of the `start` task's `deno run <flags> main.ts server
 * start` (the task may run other steps first).
 */
export function startFlags(): string[] {
  const config = JSON.parse(Deno.readTextFileSync(new URL("deno.json", ROOT)));
  const words = String(config.tasks.start).trim().split(/\s+/);
  const main = words.lastIndexOf("main.ts");
  assert.deepEqual(words.slice(main), ["main.ts", "server", "start"]);
  let run = main;
  while (run > 0 && !(words[run - 1] === "deno" && words[run] === "run")) run--;
  assert.ok(run > 0, "the start task must be 'deno run <flags> main.ts server start'");
  const flags = words.slice(run + 1, main);
  assert.ok(flags.every((f) => f.startsWith("--")) && !flags.includes("--allow-all"));
  return flags;
}

/** The child gets a fresh HOME, so it needs Deno's cache dir spelled out. */
function denoDir(): string {
  const fromEnv = Deno.env.get("DENO_DIR");
  if (fromEnv) return fromEnv;
  const out = new Deno.Command(Deno.execPath(), {
    args: ["info", "--json"],
    stdout: "piped",
    stderr: "null",
  }).outputSync();
  return JSON.parse(td.decode(out.stdout)).denoDir;
}

export const DENO_DIR = denoDir();

export interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** A temp dir with its own HOME and CLI database (`FAZT_DB`). */
export class CliSandbox {
  readonly home: string;
  readonly db: string;
  /** Servers started by `start`, for the caller to kill when done. */
  readonly servers: ServerProcess[] = [];

  private constructor(readonly dir: string) {
    this.home = `${dir}/home`;
    this.db = `${dir}/cli/fazt.db`;
    Deno.mkdirSync(this.home);
  }

  static async create(): Promise<CliSandbox> {
    return new CliSandbox(await Deno.makeTempDir({ prefix: "fazt-cli-sandbox-" }));
  }

  env(extra: Record<string, string> = {}): Record<string, string> {
    return {
      PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin",
      HOME: this.home,
      DENO_DIR,
      DENO_NO_UPDATE_CHECK: "1",
      FAZT_DB: this.db,
      ...extra,
    };
  }

  /** `fazt <args>` exactly as the `fazt` task runs it. */
  command(args: string[], extraEnv: Record<string, string> = {}, signal?: AbortSignal) {
    return new Deno.Command(Deno.execPath(), {
      args: ["run", ...FLAGS, "main.ts", ...args],
      cwd: ROOT,
      env: this.env(extraEnv),
      clearEnv: true,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
      signal,
    });
  }

  async cli(args: string[], extraEnv: Record<string, string> = {}): Promise<Run> {
    const out = await this.command(args, extraEnv, AbortSignal.timeout(30_000)).output();
    return { code: out.code, stdout: td.decode(out.stdout), stderr: td.decode(out.stderr) };
  }

  /** `fazt <args>` with `stdin` (a secret, say) written to its standard input. */
  async cliWithStdin(args: string[], stdin: string): Promise<Run> {
    const child = new Deno.Command(Deno.execPath(), {
      args: ["run", ...FLAGS, "main.ts", ...args],
      cwd: ROOT,
      env: this.env(),
      clearEnv: true,
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
      signal: AbortSignal.timeout(60_000),
    }).spawn();
    const w = child.stdin.getWriter();
    await w.write(new TextEncoder().encode(stdin + "\n"));
    await w.close();
    const out = await child.output();
    return { code: out.code, stdout: td.decode(out.stdout), stderr: td.decode(out.stderr) };
  }

  /**
   * `fazt server start` (the `fazt` task's flags) on a free loopback port;
   * resolves once it is listening (with `firstRun`, once the first-run block
   * is printed). Kept in `servers`.
   */
  async start(opts: { firstRun: boolean; args?: string[] }): Promise<ServerProcess> {
    const args = ["server", "start", "--port", "0", "--host", "127.0.0.1", ...(opts.args ?? [])];
    const server = new ServerProcess(this.command(args).spawn());
    this.servers.push(server);
    await server.ready(opts.firstRun);
    return server;
  }

  /** `GET path` to a started server with a chosen `Host` header. */
  get(server: ServerProcess, path: string, host: string): Promise<Served> {
    return httpGet(server.port, path, host);
  }

  /** Writes files (relative path → content) under `dir/rel`; returns the folder path. */
  async folder(rel: string, files: Record<string, string | Uint8Array>): Promise<string> {
    const root = `${this.dir}/${rel}`;
    for (const [path, content] of Object.entries(files)) {
      const full = `${root}/${path}`;
      await Deno.mkdir(full.slice(0, full.lastIndexOf("/")), { recursive: true });
      await Deno.writeFile(
        full,
        typeof content === "string" ? new TextEncoder().encode(content) : content,
      );
    }
    return root;
  }

  /**
   * `server start` on a free loopback port with the `start` task's flags and
   * this sandbox's database; resolves once it is listening.
   */
  async startServer(): Promise<ServerProcess> {
    const proc = new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        ...startFlags(),
        "main.ts",
        "server",
        "start",
        "--port",
        "0",
        "--host",
        "127.0.0.1",
      ],
      cwd: ROOT,
      env: this.env(),
      clearEnv: true,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const server = new ServerProcess(proc);
    await server.ready();
    return server;
  }

  async remove(): Promise<void> {
    await Deno.remove(this.dir, { recursive: true });
  }
}

export interface Served {
  status: number;
  body: Uint8Array;
  text: string;
}

/**
 * A minimal HTTP/1.1 GET (Connection: close, identity encoding) to
 * 127.0.0.1:port over a raw TCP connection, because Deno's fetch always sends
 * the URL's host and drops a `Host` header.
 */
export async function httpGet(port: number, path: string, host: string): Promise<Served> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  const chunks: Uint8Array[] = [];
  try {
    const req = `GET ${path} HTTP/1.1\r\nHost: ${host}\r\nAccept-Encoding: identity\r\n` +
      "Connection: close\r\n\r\n";
    await conn.write(new TextEncoder().encode(req));
    const timer = setTimeout(() => conn.close(), 10_000);
    try {
      const buf = new Uint8Array(64 * 1024);
      while (true) {
        const n = await conn.read(buf);
        if (n === null) break;
        chunks.push(buf.slice(0, n));
      }
    } finally {
      clearTimeout(timer);
    }
  } finally {
    try {
      conn.close();
    } catch {
      // Closed by the timer.
    }
  }
  const raw = concatBytes(chunks);
  const split = raw.findIndex((_, i) =>
    raw[i] === 13 && raw[i + 1] === 10 && raw[i + 2] === 13 && raw[i + 3] === 10
  );
  assert.ok(split > 0, `no HTTP response from port ${port}`);
  const head = td.decode(raw.subarray(0, split)).split("\r\n");
  const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(head[0])?.[1]);
  const headers = new Map(
    head.slice(1).map((l) => {
      const i = l.indexOf(":");
      return [l.slice(0, i).trim().toLowerCase(), l.slice(i + 1).trim()] as const;
    }),
  );
  let body: Uint8Array = raw.subarray(split + 4);
  if (headers.get("transfer-encoding")?.includes("chunked")) body = unchunk(body);
  else if (headers.has("content-length")) {
    assert.equal(body.length, Number(headers.get("content-length")), "truncated body");
  }
  assert.ok(!headers.has("content-encoding"), "identity was asked for");
  return { status, body, text: td.decode(body) };
}

function unchunk(data: Uint8Array): Uint8Array {
  const out: Uint8Array[] = [];
  let i = 0;
  while (i < data.length) {
    let eol = i;
    while (!(data[eol] === 13 && data[eol + 1] === 10)) eol++;
    const size = parseInt(td.decode(data.subarray(i, eol)), 16);
    if (!size) break;
    out.push(data.subarray(eol + 2, eol + 2 + size));
    i = eol + 2 + size + 2;
  }
  return concatBytes(out);
}

/** Whether something is at `path` (a file, a folder, a socket). */
export function exists(path: string): boolean {
  try {
    Deno.statSync(path);
    return true;
  } catch {
    return false;
  }
}

export function show(r: Run): string {
  return `exit ${r.code}\n--- stdout\n${r.stdout}--- stderr\n${r.stderr}`;
}

export function assertOk(r: Run): Run {
  assert.equal(r.code, 0, `expected success:\n${show(r)}`);
  return r;
}

/** A clean refusal: non-zero exit, nothing on stdout, one `error: ...` line first on stderr. */
export function assertRefused(r: Run, pattern: RegExp, opts: { stdout?: boolean } = {}): void {
  assert.notEqual(r.code, 0, `expected a refusal:\n${show(r)}`);
  if (!opts.stdout) assert.equal(r.stdout, "", `stdout must be empty on a refusal:\n${show(r)}`);
  const first = r.stderr.split("\n")[0];
  assert.match(first, /^error: \S/, `stderr must start with 'error: ':\n${show(r)}`);
  assert.match(first, pattern, show(r));
  assert.doesNotMatch(r.stderr, /Uncaught|NotCapable|\n\s+at /, `no crash:\n${show(r)}`);
}

export function parseJson<T>(r: Run): T {
  assertOk(r);
  try {
    return JSON.parse(r.stdout) as T;
  } catch {
    throw new assert.AssertionError({ message: `stdout is not JSON:\n${show(r)}` });
  }
}

/** A `fazt server start` child process, its output collected. */
export class ServerProcess {
  out = "";
  err = "";
  port = 0;
  /** Set once the process has exited. */
  status?: Deno.CommandStatus;
  readonly #pumps: Promise<unknown>;
  readonly #done: Promise<Deno.CommandStatus>;
  /** Resolved (and replaced) whenever output arrives or the process exits. */
  #changed = Promise.withResolvers<void>();

  constructor(readonly proc: Deno.ChildProcess) {
    const pump = async (stream: ReadableStream<Uint8Array>, key: "out" | "err") => {
      const dec = new TextDecoder();
      for await (const chunk of stream) {
        this[key] += dec.decode(chunk, { stream: true });
        this.#changes();
      }
    };
    this.#pumps = Promise.all([pump(proc.stdout, "out"), pump(proc.stderr, "err")]);
    this.#done = proc.status.then((s) => {
      this.status = s;
      this.#changes();
      return s;
    });
  }

  #changes(): void {
    this.#changed.resolve();
    this.#changed = Promise.withResolvers();
  }

  get base(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /**
   * Waits for the banner's last line (with `firstRun`, the first-run block's),
   * looking again each time output arrives.
   */
  async ready(firstRun = false): Promise<void> {
    const last = firstRun ? /The CLI on this machine is set up.*\n/ : /^apps: .*\n/m;
    const started = async () => {
      while (!last.test(this.out) || !/listening on/.test(this.out)) {
        if (this.status) {
          throw new Error(`server exited with ${this.status.code}:\n${this.out}\n${this.err}`);
        }
        await this.#changed.promise;
      }
    };
    await deadline(started(), "the server's banner", 20_000).catch((e) => {
      throw new Error(`${e.message}:\n${this.out}\n${this.err}`);
    });
    this.port = Number(/listening on http:\/\/127\.0\.0\.1:(\d+) /.exec(this.out)![1]);
  }

  /** SIGTERM, then the exit status once both pipes are drained. */
  stop(): Promise<Deno.CommandStatus> {
    return this.#end("SIGTERM");
  }

  /** For `finally`: makes sure the process is gone. */
  async kill(): Promise<void> {
    await this.#end("SIGKILL");
  }

  async #end(signal: Deno.Signal): Promise<Deno.CommandStatus> {
    if (!this.status) {
      try {
        this.proc.kill(signal);
      } catch {
        // Already gone.
      }
    }
    const status = await this.#done;
    await this.#pumps;
    return status;
  }
}
