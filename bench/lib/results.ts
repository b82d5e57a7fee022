/**
 * bench/results/latest.json: the latest result of every benchmark. Running
 * some benchmarks replaces their entries and keeps the others, each entry
 * with the machine, tools and options it was measured with.
 */
import type { MachineFacts } from "./machine.ts";
import type { BenchOptions, BenchResult } from "./types.ts";

export interface BenchEntry extends Omit<BenchResult, "tables"> {
  ran_at: string;
  seconds: number;
  machine: MachineFacts & { busy_before_start?: number };
  tools: Record<string, string>;
  options: BenchOptions;
  error?: string;
}

export interface ResultsFile {
  schema: 1;
  updated_at: string;
  benchmarks: Record<string, BenchEntry>;
}

export async function readResults(path: string): Promise<ResultsFile> {
  try {
    const old = JSON.parse(await Deno.readTextFile(path));
    if (old?.schema === 1 && old.benchmarks) return old as ResultsFile;
  } catch {
    // none yet, or unreadable: start over
  }
  return { schema: 1, updated_at: "", benchmarks: {} };
}

export async function writeResults(
  path: string,
  entries: Record<string, BenchEntry>,
): Promise<ResultsFile> {
  const file = await readResults(path);
  file.updated_at = new Date().toISOString();
  Object.assign(file.benchmarks, entries);
  const sorted = Object.fromEntries(
    Object.entries(file.benchmarks).sort(([a], [b]) => a.localeCompare(b)),
  );
  file.benchmarks = sorted;
  await Deno.mkdir(path.slice(0, path.lastIndexOf("/")), { recursive: true });
  await Deno.writeTextFile(path, JSON.stringify(file, null, 2) + "\n");
  return file;
}
