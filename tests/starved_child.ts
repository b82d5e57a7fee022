/**
 * A Deno script run in a process of its own under a small descriptor limit
 * (`prlimit`), talked to by lines: the script prints, the test reads with
 * `line()` and answers with `say()`. For code that must survive running
 * out of descriptors; `STARVE` is the script's code that takes them all.
 */

/** Script code: takes every descriptor left into `files` (close them to free). */
export const STARVE = `const files = [];
try {
  for (;;) files.push(Deno.openSync("/dev/null"));
} catch {
  // Every descriptor is taken.
}`;

export interface StarvedChild {
  /** The next line the script prints (throws if it ends first). */
  line(): Promise<string>;
  /** The next line, or `fallback` after `ms`. */
  lineWithin(ms: number, fallback: string): Promise<string>;
  say(text: string): Promise<void>;
  /** Ends stdin, waits for the exit, removes the script. */
  close(): Promise<Deno.CommandStatus>;
}

export async function startStarved(script: string, limit = 256): Promise<StarvedChild> {
  const dir = await Deno.makeTempDir({ prefix: "fazt-starved-" });
  const file = `${dir}/child.ts`;
  await Deno.writeTextFile(file, script);
  const child = new Deno.Command("prlimit", {
    args: [`--nofile=${limit}:${limit}`, Deno.execPath(), "run", "-A", "--quiet", file],
    stdin: "piped",
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const lines = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  const stdin = child.stdin.getWriter();
  let buffered = "";
  const line = async (): Promise<string> => {
    while (!buffered.includes("\n")) {
      const { value, done } = await lines.read();
      if (done) throw new Error(`the script ended; it said: ${buffered}`);
      buffered += value;
    }
    const i = buffered.indexOf("\n");
    const text = buffered.slice(0, i);
    buffered = buffered.slice(i + 1);
    return text;
  };
  return {
    line,
    lineWithin(ms, fallback) {
      let timer: ReturnType<typeof setTimeout> | undefined;
      return Promise.race([
        line(),
        new Promise<string>((r) => timer = setTimeout(() => r(fallback), ms)),
      ]).finally(() => clearTimeout(timer));
    },
    say: (text) => stdin.write(new TextEncoder().encode(`${text}\n`)),
    async close() {
      await stdin.close().catch(() => {});
      await lines.cancel().catch(() => {});
      const status = await child.status;
      await Deno.remove(dir, { recursive: true });
      return status;
    },
  };
}
