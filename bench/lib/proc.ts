/** Starting, watching and stopping the processes a benchmark needs. */

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export interface SpawnOptions {
  cwd?: string;
  env?: Record<string, string>;
  /** Keep at most this many output lines (oldest dropped). */
  maxLines?: number;
}

/** A child process whose stdout and stderr are collected line by line. */
export class Proc {
  readonly child: Deno.ChildProcess;
  readonly pid: number;
  /** performance.now() just before the spawn call. */
  readonly spawnedAt: number;
  readonly lines: string[] = [];
  /** performance.now() when each line of `lines` arrived. */
  readonly times: number[] = [];
  readonly status: Promise<Deno.CommandStatus>;
  #waiters: { re: RegExp; resolve: (line: string) => void }[] = [];
  #exited = false;
  #maxLines: number;

  constructor(readonly name: string, cmd: string, args: string[], opts: SpawnOptions = {}) {
    this.#maxLines = opts.maxLines ?? 2000;
    this.spawnedAt = performance.now();
    this.child = new Deno.Command(cmd, {
      args,
      cwd: opts.cwd,
      env: opts.env,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    this.pid = this.child.pid;
    this.#pump(this.child.stdout);
    this.#pump(this.child.stderr);
    this.status = this.child.status.then((s) => {
      this.#exited = true;
      return s;
    });
  }

  get exited(): boolean {
    return this.#exited;
  }

  async #pump(stream: ReadableStream<Uint8Array>) {
    let rest = "";
    try {
      for await (const chunk of stream.pipeThrough(new TextDecoderStream())) {
        const parts = (rest + chunk).split("\n");
        rest = parts.pop() ?? "";
        for (const line of parts) this.#line(line);
      }
    } catch {
      // the stream ends with the process
    }
    if (rest) this.#line(rest);
  }

  #line(line: string) {
    this.lines.push(line);
    this.times.push(performance.now());
    if (this.lines.length > this.#maxLines) {
      this.lines.shift();
      this.times.shift();
    }
    this.#waiters = this.#waiters.filter((w) => {
      if (!w.re.test(line)) return true;
      w.resolve(line);
      return false;
    });
  }

  /** The first output line (already seen or still to come) matching `re`. */
  waitForLine(re: RegExp, timeoutMs = 30_000): Promise<string> {
    const seen = this.lines.find((l) => re.test(l));
    if (seen !== undefined) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        reject(new Error(`${this.name}: no line matching ${re} within ${timeoutMs} ms`));
      }, timeoutMs);
      this.#waiters.push({
        re,
        resolve: (l) => {
          clearTimeout(timer);
          resolve(l);
        },
      });
      this.status.then(() => {
        clearTimeout(timer);
        reject(new Error(`${this.name} exited before printing ${re}:\n${this.tail()}`));
      });
    });
  }

  /** ms from spawn to the first line matching `re`, if it has arrived. */
  msToLine(re: RegExp): number {
    const i = this.lines.findIndex((l) => re.test(l));
    return i < 0 ? NaN : this.times[i] - this.spawnedAt;
  }

  tail(n = 20): string {
    return this.lines.slice(-n).join("\n");
  }

  /** Signals this process (by its id), then kills it if it has not exited in time. */
  async stop(signal: Deno.Signal = "SIGTERM", graceMs = 5000): Promise<Deno.CommandStatus> {
    if (!this.#exited) {
      try {
        this.child.kill(signal);
      } catch {
        // already gone
      }
      const timer = setTimeout(() => {
        try {
          if (!this.#exited) this.child.kill("SIGKILL");
        } catch {
          // already gone
        }
      }, graceMs);
      await this.status;
      clearTimeout(timer);
    }
    return this.status;
  }

  /** Resident memory of this process, from /proc. */
  memory(): { rss_kb: number; hwm_kb: number } {
    return readMemory(this.pid);
  }
}

export function readMemory(pid: number): { rss_kb: number; hwm_kb: number } {
  const status = Deno.readTextFileSync(`/proc/${pid}/status`);
  const field = (name: string) =>
    Number(new RegExp(`^${name}:\\s+(\\d+) kB`, "m").exec(status)?.[1]);
  return { rss_kb: field("VmRSS"), hwm_kb: field("VmHWM") };
}

/** Bytes this process has passed to write(2) and friends so far (`wchar` in /proc/PID/io). */
export function writtenBytes(pid: number): number {
  const io = Deno.readTextFileSync(`/proc/${pid}/io`);
  return Number(/^wchar:\s+(\d+)/m.exec(io)?.[1] ?? NaN);
}

/** Every process a benchmark started; `stopAll` ends them one by one, by id. */
export class ProcessGroup {
  #procs = new Set<Proc>();

  spawn(name: string, cmd: string, args: string[], opts: SpawnOptions = {}): Proc {
    const p = new Proc(name, cmd, args, opts);
    this.#procs.add(p);
    p.status.then(() => this.#procs.delete(p));
    return p;
  }

  async stopAll(): Promise<void> {
    for (const p of [...this.#procs]) await p.stop();
  }
}

/** A port free on 127.0.0.1 right now. */
export function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

/** Runs a program to completion and returns its output (throws on failure unless `allowFail`). */
export async function run(
  cmd: string,
  args: string[],
  opts: { cwd?: string; env?: Record<string, string>; allowFail?: boolean } = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  const out = await new Deno.Command(cmd, {
    args,
    cwd: opts.cwd,
    env: opts.env,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const r = {
    code: out.code,
    stdout: new TextDecoder().decode(out.stdout),
    stderr: new TextDecoder().decode(out.stderr),
  };
  if (r.code !== 0 && !opts.allowFail) {
    throw new Error(`${cmd} ${args.join(" ")} exited ${r.code}:\n${r.stderr || r.stdout}`);
  }
  return r;
}
