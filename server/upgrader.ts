import type { Program } from "../lib/program.ts";

/**
 * What lets a node replace its own program: given by the process that owns
 * it (`fazt server start`); a node embedded in another program has none.
 */
export interface Upgrader {
  program: Program;
  /** Swaps in the checked program at `staged` and restarts, after this response. */
  apply(staged: string, version: string): void;
  /**
   * Stops the node and runs the same program again, after this response, so
   * settings saved since the start apply (absent: the node cannot restart itself).
   */
  restart?(): void;
}
