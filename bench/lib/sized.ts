import type { BenchOptions } from "./types.ts";

/** `full` normally; `smokeSize` in a smoke run (`--smoke`). */
export function sized(opts: BenchOptions, full: number, smokeSize: number): number {
  return opts.smoke ? smokeSize : full;
}

/** How often a disturbed run is repeated: never in a smoke run or with `--busy`. */
export function repeats(opts: BenchOptions): number {
  return opts.smoke || opts.busy ? 0 : 2;
}
