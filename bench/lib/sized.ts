import type { BenchOptions } from "./types.ts";

/** `full` normally; `smokeSize` in a smoke run (`--smoke`). */
export function sized(opts: BenchOptions, full: number, smokeSize: number): number {
  return opts.smoke ? smokeSize : full;
}
