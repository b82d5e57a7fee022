/**
 * The Worker's global scope, as far as the bootstrap uses it. The tree is
 * type-checked with the rest of fazt under Deno's window types, so the
 * Worker's own globals are declared here and reached through `scope`.
 * @module
 */
import type { HostMessage, WorkerMessage } from "./messages.ts";

export interface WorkerScope {
  postMessage(message: WorkerMessage, transfer: Transferable[]): void;
  onmessage: ((e: MessageEvent<HostMessage>) => unknown) | null;
  console: Console;
  /** Absent if the runtime gives Workers no nested Workers. */
  Worker?: typeof Worker;
}

// The one cast: what a Deno Worker's globalThis is.
export const scope = globalThis as unknown as WorkerScope;

/** Posts a message to the app host's main thread. */
export function post(message: WorkerMessage, transfer: Transferable[] = []): void {
  scope.postMessage(message, transfer);
}
