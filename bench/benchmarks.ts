/**
 * Every benchmark `deno task bench` knows, in the order it runs them. To add
 * one, write `bench/NAME.ts` exporting a `Benchmark` and list it here.
 */
import { analyticsBench } from "./analytics.ts";
import { deployBench } from "./deploy.ts";
import { doorBench } from "./door.ts";
import { httpsBench } from "./https.ts";
import type { Benchmark } from "./lib/types.ts";
import { runtimeBench } from "./runtime.ts";
import { soakBench } from "./soak.ts";
import { startupBench } from "./startup.ts";
import { staticBench } from "./static.ts";

export const BENCHMARKS: readonly Benchmark[] = [
  staticBench,
  deployBench,
  startupBench,
  analyticsBench,
  runtimeBench,
  doorBench,
  httpsBench,
  soakBench,
];
