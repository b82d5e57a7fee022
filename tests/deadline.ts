/**
 * A bound on waiting. Tests wait for events, never for time; but an event
 * that never comes (a stream that is not ended, a frame that is not sent)
 * must fail the test, not hang the whole run.
 * @module
 */

/** How long a test waits for an event before calling it missing. */
export const WAIT_MS = 15_000;

/**
 * `promise`, or a rejection naming `what` if it has not settled after `ms`.
 * The timer is cleared either way, so it never keeps a test alive.
 */
export function deadline<T>(promise: Promise<T>, what: string, ms = WAIT_MS): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: still waiting after ${ms} ms`)), ms);
  });
  return Promise.race([promise, late]).finally(() => clearTimeout(timer));
}
