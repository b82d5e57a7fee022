/** Facts about the machine a result was measured on. */

function read(path: string): string {
  try {
    return Deno.readTextFileSync(path);
  } catch {
    return "";
  }
}

export interface MachineFacts {
  cpu_model: string;
  cores: number;
  memory_total_mb: number;
  kernel: string;
  os: string;
  arch: string;
  load_average: number[];
  cpu_governor?: string;
}

export function machineFacts(): MachineFacts {
  const cpuinfo = read("/proc/cpuinfo");
  const meminfo = read("/proc/meminfo");
  const osRelease = read("/etc/os-release");
  const governor = read("/sys/devices/system/cpu/cpu0/cpufreq/scaling_governor").trim();
  return {
    cpu_model: /^model name\s*:\s*(.+)$/m.exec(cpuinfo)?.[1].trim() ?? "unknown",
    cores: navigator.hardwareConcurrency,
    memory_total_mb: Math.round(Number(/^MemTotal:\s+(\d+)/m.exec(meminfo)?.[1] ?? 0) / 1024),
    kernel: Deno.osRelease(),
    os: /^PRETTY_NAME="?([^"\n]+)"?/m.exec(osRelease)?.[1] ?? Deno.build.os,
    arch: Deno.build.arch,
    load_average: Deno.loadavg().map((x) => Math.round(x * 100) / 100),
    ...(governor ? { cpu_governor: governor } : {}),
  };
}

function cpuTimes(): { busy: number; total: number } {
  const line = read("/proc/stat").split("\n")[0].trim().split(/\s+/).slice(1).map(Number);
  const idle = line[3] + (line[4] ?? 0);
  const total = line.reduce((a, b) => a + b, 0);
  return { busy: total - idle, total };
}

/** Fraction of all cores busy over `ms` (while this harness runs nothing). */
export async function busyFraction(ms = 1000): Promise<number> {
  const a = cpuTimes();
  await new Promise((r) => setTimeout(r, ms));
  const b = cpuTimes();
  return b.total > a.total ? (b.busy - a.busy) / (b.total - a.total) : 0;
}

/**
 * Waits (up to `maxWaitS`) for the machine to go quiet: other programs' load
 * skews every figure. Returns the last busy fraction seen.
 */
export async function waitForQuiet(
  log: (m: string) => void,
  threshold = 0.15,
  maxWaitS = 60,
): Promise<number> {
  let busy = await busyFraction();
  const deadline = Date.now() + maxWaitS * 1000;
  if (busy > threshold) log(`the machine is busy (${Math.round(busy * 100)}% CPU): waiting`);
  while (busy > threshold && Date.now() < deadline) busy = await busyFraction(2000);
  return busy;
}

/** CPU ticks (USER_HZ) so far: the whole machine, and this process with its reaped children. */
export function cpuSnapshot(): { busy: number; total: number; self: number } {
  const { busy, total } = cpuTimes();
  const s = read("/proc/self/stat");
  const f = s.slice(s.lastIndexOf(")") + 2).split(" ");
  // utime, stime, cutime, cstime (fields 14-17 of stat(5))
  const self = Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14]);
  return { busy, total, self };
}

/**
 * Cores that programs other than this harness (and `ownTicks`, the CPU ticks
 * of its still-running servers) kept busy between two snapshots.
 */
export function foreignCores(
  a: ReturnType<typeof cpuSnapshot>,
  b: ReturnType<typeof cpuSnapshot>,
  ownTicks: number,
): number {
  const perCore = (b.total - a.total) / navigator.hardwareConcurrency;
  if (perCore <= 0) return 0;
  const foreign = (b.busy - a.busy) - (b.self - a.self) - ownTicks;
  return Math.max(0, foreign / perCore);
}
