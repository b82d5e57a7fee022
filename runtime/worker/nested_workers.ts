/**
 * Nested Workers: an app may start a few. They inherit its permissions (Deno
 * refuses more), so only their number needs a cap.
 * @module
 */
import type { WorkerScope } from "./scope.ts";

/** Replaces the global `Worker` with one that refuses past `max()` started. */
export function capWorkers(scope: WorkerScope, max: () => number): void {
  const RealWorker = scope.Worker;
  if (!RealWorker) return;
  let started = 0;
  scope.Worker = class extends RealWorker {
    constructor(url: string | URL, opts?: WorkerOptions) {
      if (started >= max()) {
        throw new Error(`an app may start at most ${max()} Workers`);
      }
      started++;
      super(url, opts);
    }
  };
}
