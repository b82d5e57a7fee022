/**
 * How many file descriptors this process may open, and how many of them the
 * front door may use for connections. Deno already lifts the soft limit to
 * the hard one at start; raising the hard limit needs CAP_SYS_RESOURCE, so
 * that is the service unit's job (`LimitNOFILE=`), not the program's.
 * @module
 */

/**
 * The soft `RLIMIT_NOFILE` of this process, or undefined when it cannot be
 * read. `/proc/self/limits` needs `--allow-all` in Deno 2.9, so it asks
 * `prlimit` (util-linux), then the shell's `ulimit -n`.
 */
export async function descriptorLimit(): Promise<number | undefined> {
  if (Deno.build.os === "windows") return undefined;
  const tries: [string, string[]][] = [
    ["prlimit", ["--pid", String(Deno.pid), "--nofile", "--raw", "--noheadings", "--output=SOFT"]],
    ["sh", ["-c", "ulimit -n"]],
  ];
  for (const [command, args] of tries) {
    try {
      const out = await new Deno.Command(command, {
        args,
        stdin: "null",
        stdout: "piped",
        stderr: "null",
        signal: AbortSignal.timeout(5000),
      }).output();
      const text = new TextDecoder().decode(out.stdout).trim();
      if (out.success && /^\d+$/.test(text)) return Number(text);
      if (out.success && text === "unlimited") return Number.MAX_SAFE_INTEGER;
    } catch {
      // Not installed or not allowed: try the next way.
    }
  }
  return undefined;
}

/**
 * Descriptors kept out of the connections' reach: the database and its WAL,
 * app hosts' pipes, outgoing requests, log files. A quarter of a small limit.
 */
export function descriptorReserve(limit: number): number {
  return Math.min(256, Math.floor(limit / 4));
}

/** `max_connections` clamped below the descriptor limit (at least 16). */
export function connectionCap(setting: number, limit: number | undefined): number {
  if (limit === undefined) return setting;
  return Math.max(16, Math.min(setting, limit - descriptorReserve(limit)));
}
