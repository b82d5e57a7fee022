/**
 * Reads `/proc` for the server. Deno lets a process read `/proc` only with
 * `--allow-all`, which the server does not have; a small shell (one for the
 * server's life, all builtins, no process per read) reads for it and
 * answers one line per process and thread.
 * @module
 */

export interface ThreadSample {
  tid: number;
  name: string;
  /** CPU time (user + system) in clock ticks. */
  ticks: number;
  /**
   * Time on a CPU or waiting for one, in nanoseconds (schedstat), when the
   * kernel tells: a thread in a loop is runnable all the time however busy
   * the machine is, while its CPU time shrinks with the machine's load.
   */
  runnableNs?: number;
}

export interface ProcessSample {
  rssKb: number;
  /** What RLIMIT_DATA counts. */
  dataKb: number;
  threads: ThreadSample[];
}

const SCRIPT = `
while read -r cmd pids; do
  for p in $pids; do
    if [ -r /proc/$p/status ]; then
      rss=0; data=0
      while read -r k v rest; do
        case "$k" in VmRSS:) rss=$v;; VmData:) data=$v;; esac
      done < /proc/$p/status
      echo "P $p $rss $data"
      if [ "$cmd" = T ]; then
        for t in /proc/$p/task/*; do
          q=""
          { read -r c < $t/comm && read -r s < $t/stat && { read -r q < $t/schedstat || :; } &&
            echo "T $p $c|$q|$s"; } 2>/dev/null
        done
      fi
    fi
  done
  echo .
done
`;

/** Clock ticks per second (`getconf CLK_TCK`): 100 on Linux everywhere fazt runs. */
export const TICKS_PER_SECOND = 100;

export function parseSamples(text: string): Map<number, ProcessSample> {
  const out = new Map<number, ProcessSample>();
  for (const line of text.split("\n")) {
    if (line.startsWith("P ")) {
      const [, pid, rss, data] = line.split(" ");
      out.set(Number(pid), { rssKb: Number(rss), dataKb: Number(data), threads: [] });
    } else if (line.startsWith("T ")) {
      const space = line.indexOf(" ", 2);
      const bar = line.indexOf("|", space);
      const bar2 = line.indexOf("|", bar + 1);
      const proc = out.get(Number(line.slice(2, space)));
      const stat = line.slice(bar2 + 1);
      const close = stat.lastIndexOf(")");
      if (!proc || bar < 0 || bar2 < 0 || close < 0) continue;
      const fields = stat.slice(close + 2).split(" ");
      const [run, wait] = line.slice(bar + 1, bar2).split(" ").map(Number);
      proc.threads.push({
        tid: Number(stat.slice(0, stat.indexOf(" "))),
        name: line.slice(space + 1, bar),
        // Fields 14 and 15 of stat (utime, stime), counted after "(comm)".
        ticks: Number(fields[11]) + Number(fields[12]),
        runnableNs: Number.isFinite(run) && Number.isFinite(wait) ? run + wait : undefined,
      });
    }
  }
  return out;
}

/** One long-lived reader; `sample` calls queue behind each other. */
export class ProcWatch {
  #child: Deno.ChildProcess | undefined;
  #writer: WritableStreamDefaultWriter<Uint8Array> | undefined;
  #reader: ReadableStreamDefaultReader<string> | undefined;
  #pending = "";
  #queue: Promise<unknown> = Promise.resolve();
  #closed = false;

  #start(): void {
    this.#child = new Deno.Command("/bin/sh", {
      args: ["-c", SCRIPT],
      stdin: "piped",
      stdout: "piped",
      stderr: "null",
      clearEnv: true,
    }).spawn();
    this.#writer = this.#child.stdin.getWriter();
    this.#reader = this.#child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  }

  /**
   * Memory of each process, and with `threads` each one's threads. A
   * process that is gone is absent from the answer.
   */
  sample(pids: number[], threads = false): Promise<Map<number, ProcessSample>> {
    const run = async () => {
      if (this.#closed || pids.length === 0) return new Map<number, ProcessSample>();
      if (!this.#child) this.#start();
      await this.#writer!.write(
        new TextEncoder().encode(`${threads ? "T" : "P"} ${pids.join(" ")}\n`),
      );
      let text = "";
      for (;;) {
        const end = this.#pending.indexOf("\n.\n");
        const start = this.#pending.startsWith(".\n") ? 0 : -1;
        if (start === 0) {
          this.#pending = this.#pending.slice(2);
          break;
        }
        if (end >= 0) {
          text = this.#pending.slice(0, end);
          this.#pending = this.#pending.slice(end + 3);
          break;
        }
        const { value, done } = await this.#reader!.read();
        if (done) throw new Error("the /proc reader ended");
        this.#pending += value;
      }
      return parseSamples(text);
    };
    const next = this.#queue.then(run, run);
    this.#queue = next.catch(() => {});
    return next;
  }

  close(): void {
    this.#closed = true;
    try {
      this.#child?.kill("SIGKILL");
    } catch {
      // Gone already.
    }
    this.#child?.status.catch(() => {});
    this.#reader?.cancel().catch(() => {});
    this.#writer?.close().catch(() => {});
    this.#child = undefined;
  }
}

/** Sets a process's RLIMIT_DATA soft limit (the hard limit stays as it is). */
export async function setDataLimit(pid: number, bytes: number): Promise<boolean> {
  try {
    const out = await new Deno.Command("prlimit", {
      args: ["--pid", String(pid), `--data=${Math.ceil(bytes)}:`],
      stdout: "null",
      stderr: "null",
      clearEnv: true,
      env: { PATH: "/usr/bin:/bin:/usr/sbin:/sbin" },
    }).output();
    return out.success;
  } catch {
    return false;
  }
}
