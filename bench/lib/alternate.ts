import { treeCpuSeconds } from "./cpu.ts";
import { cpuSnapshot, foreignCores, waitForQuiet } from "./machine.ts";

/** Alternating runs (A B C … A B C …) and their medians and ratios. */

export function median(xs: number[]): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

/** `a / b`, rounded to 3 decimals (NaN when either is missing). */
export function ratio(a: number, b: number): number {
  if (!Number.isFinite(a) || !Number.isFinite(b) || b === 0) return NaN;
  return Math.round((a / b) * 1000) / 1000;
}

export interface Subject<T> {
  name: string;
  run: (round: number) => Promise<T>;
  /** Processes of this subject that outlive one run (their CPU is not someone else's). */
  pids?: () => number[];
}

/**
 * Repeats a run that other programs disturbed: if they kept more than
 * `maxForeignCores` busy during it, wait for quiet and run it again (at most
 * `retries` times). What happened is counted in `stats`.
 */
export interface Guard {
  maxForeignCores: number;
  retries: number;
  log: (m: string) => void;
  stats: { runs: number; repeated: number; still_disturbed: number; foreign_cores: number[] };
}

export function newGuard(log: (m: string) => void, maxForeignCores = 0.2, retries = 2): Guard {
  return {
    maxForeignCores,
    retries,
    log,
    stats: { runs: 0, repeated: 0, still_disturbed: 0, foreign_cores: [] },
  };
}

async function guarded<T>(s: Subject<T>, round: number, guard?: Guard): Promise<T> {
  if (!guard) return await s.run(round);
  for (let attempt = 0;; attempt++) {
    const pids = s.pids?.() ?? [];
    const own0 = pids.reduce((t, p) => t + treeCpuSeconds(p), 0);
    const a = cpuSnapshot();
    const value = await s.run(round);
    const b = cpuSnapshot();
    const own = (pids.reduce((t, p) => t + treeCpuSeconds(p), 0) - own0) * 100;
    const foreign = Math.round(foreignCores(a, b, own) * 100) / 100;
    guard.stats.runs++;
    if (foreign <= guard.maxForeignCores) {
      guard.stats.foreign_cores.push(foreign);
      return value;
    }
    if (attempt >= guard.retries) {
      guard.stats.still_disturbed++;
      guard.stats.foreign_cores.push(foreign);
      guard.log(`${s.name}: other programs used ${foreign} cores again; keeping this run`);
      return value;
    }
    guard.stats.repeated++;
    guard.log(`${s.name}: other programs used ${foreign} cores during the run: repeating it`);
    await waitForQuiet(guard.log);
  }
}

/**
 * Runs every subject once per round, in the same order, for `rounds` rounds,
 * so slow drift of the machine hits all of them alike. Returns the samples of
 * each subject in round order.
 */
export async function alternate<T>(
  subjects: Subject<T>[],
  rounds: number,
  onSample?: (name: string, round: number, sample: T) => void,
  guard?: Guard,
): Promise<Map<string, T[]>> {
  const samples = new Map<string, T[]>(subjects.map((s) => [s.name, []]));
  for (let round = 0; round < rounds; round++) {
    for (const s of subjects) {
      const sample = await guarded(s, round, guard);
      samples.get(s.name)!.push(sample);
      onSample?.(s.name, round, sample);
    }
  }
  return samples;
}

/** Per-round ratios of `a` to `b` (same round), to show how much the ratio itself moves. */
export function roundRatios(a: number[], b: number[]): number[] {
  return a.map((x, i) => ratio(x, b[i]));
}

export function round(x: number, digits = 2): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

/** What a guard saw, for the results. */
export function summariseGuard(g: Guard): Record<string, number> {
  const f = g.stats.foreign_cores;
  return {
    runs: g.stats.runs,
    repeated: g.stats.repeated,
    still_disturbed: g.stats.still_disturbed,
    max_foreign_cores_kept: f.length ? Math.max(...f) : 0,
    median_foreign_cores_kept: median(f),
  };
}
