/**
 * The Worker's global scope, as far as the bootstrap uses it. The tree is
 * type-checked with the rest of fazt under Deno's window types, so the
 * Worker's own globals are declared here and reached through `scope`.
 * @module
 */
import type { WorkerMessage } from "./messages.ts";

export interface WorkerScope {
  postMessage(message: unknown, transfer?: Transferable[]): void;
  onmessage: ((e: MessageEvent) => unknown) | null;
  console: Console;
  /** Absent if the runtime gives Workers no nested Workers. */
  Worker?: typeof Worker;
  addEventListener(type: string, fn: (e: Event) => void): void;
  dispatchEvent(e: Event): boolean;
}

// The one cast: what a Deno Worker's globalThis is.
export const scope = globalThis as unknown as WorkerScope;

/** The Worker's own `postMessage`, taken before app code runs (see `sandbox.ts`). */
const realPost: (message: unknown) => void = typeof scope.postMessage === "function"
  ? scope.postMessage.bind(scope)
  : () => {};

/** Posts a message to the app host's main thread; app code cannot (see `messages.ts`). */
export function postToHost(message: WorkerMessage): void {
  realPost(message);
}
