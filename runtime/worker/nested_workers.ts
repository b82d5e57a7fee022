/**
 * Nested Workers: an app may start a few. They inherit its permissions (Deno
 * refuses more), so only their number needs a cap, and the server keeps it:
 * each start first takes a ticket from the server (blocking, through the
 * host's main thread), which also makes room for the Worker under the host's
 * memory limit. A Worker started any other way (`node:worker_threads`,
 * a nested Worker's own `Worker`) finds no room and no ticket: the server
 * counts each host's Worker threads and stops a host that has more than it
 * granted.
 * @module
 */
import type { WorkerScope } from "./scope.ts";

/**
 * Replaces the global `Worker` with a plain function (so neither
 * `Object.getPrototypeOf(Worker)` nor `Worker.prototype.constructor` leads
 * back to the real class) that starts a Worker only with a ticket.
 */
export function capWorkers(
  scope: WorkerScope,
  ticket: () => boolean,
  max: () => number,
): void {
  const RealWorker = scope.Worker;
  if (!RealWorker) return;
  const construct = Reflect.construct;
  function Worker(this: unknown, url: string | URL, opts?: WorkerOptions): Worker {
    if (new.target === undefined) throw new TypeError("Worker must be called with new");
    if (!ticket()) throw new Error(`an app may start at most ${max()} Workers`);
    return construct(RealWorker!, [url, opts]) as Worker;
  }
  Object.defineProperty(RealWorker.prototype, "constructor", {
    value: Worker,
    writable: false,
    configurable: false,
  });
  Worker.prototype = RealWorker.prototype;
  Object.defineProperty(scope, "Worker", { value: Worker, writable: false, configurable: false });
}
