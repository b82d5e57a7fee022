import type { ProcessGroup } from "./proc.ts";
import type { ToolSet } from "./tools.ts";

/** Options shared by every benchmark (from the command line). */
export interface BenchOptions {
  /** Seconds per measured wrk run. */
  duration: number;
  /** Rounds of alternation (each round runs every server once). */
  pairs: number;
  /** wrk connections and threads. */
  connections: number;
  threads: number;
  /** Also record a CPU profile of fazt under load (static only). */
  profile: boolean;
  /** Keep the temp folder for inspection. */
  keep: boolean;
  /** Extra `deno run` flags for fazt (experiments, e.g. `--v8-flags=…`); empty normally. */
  faztDenoFlags: string[];
  /**
   * A smoke run (the test suite's check that every benchmark still runs):
   * one-second runs, one round, fixed workloads cut down by `sized`, no
   * results written to the checkout.
   */
  smoke: boolean;
  /**
   * The machine is shared and busy anyway: no waiting for quiet, no repeated
   * runs (figures are noisier; CPU per request is the steadier one).
   */
  busy: boolean;
}

export interface BenchContext {
  readonly opts: BenchOptions;
  /** The fazt checkout (where deno.json is). */
  readonly root: string;
  /** A temp folder of this benchmark's own, removed afterwards unless --keep. */
  readonly tmp: string;
  readonly tools: ToolSet;
  /** Every process started here, stopped when the benchmark ends. */
  readonly procs: ProcessGroup;
  log(message: string): void;
}

export interface Table {
  title: string;
  columns: string[];
  rows: (string | number)[][];
}

/** One target of an issue: `pass` is null when it could not be measured. */
export interface TargetCheck {
  name: string;
  target: string;
  actual: string;
  pass: boolean | null;
  note?: string;
}

export interface BenchResult {
  /** Every figure and ratio, as plain JSON. */
  figures: Record<string, unknown>;
  tables: Table[];
  targets: TargetCheck[];
  notes: string[];
}

/** A benchmark: one file exports one of these, and `benchmarks.ts` lists it. */
export interface Benchmark {
  name: string;
  description: string;
  /** Programs this benchmark needs; `optional` ones are skipped with a note when missing. */
  tools: { required: string[]; optional: string[] };
  run(ctx: BenchContext): Promise<BenchResult>;
}
