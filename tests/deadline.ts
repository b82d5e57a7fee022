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

/** How long `waitFor` pauses between two looks at its condition. */
const POLL_MS = 25;

/**
 * Looks at `check` until it gives something other than `undefined`, `null`
 * or `false`, and resolves with that; rejects naming `what` after `ms`. For
 * conditions that no event announces (a row written behind a response, a
 * process gone, a host stopped when idle): it waits for the condition, not
 * for a time that usually suffices.
 */
export function waitFor<T>(
  check: () => T | Promise<T>,
  what: string,
  ms = WAIT_MS,
): Promise<Exclude<T, undefined | null | false>> {
  let stopped = false;
  const look = async (): Promise<Exclude<T, undefined | null | false>> => {
    while (!stopped) {
      const value = await check();
      if (value !== undefined && value !== null && value !== false) {
        return value as Exclude<T, undefined | null | false>;
      }
      await new Promise((r) => setTimeout(r, POLL_MS));
    }
    return new Promise<never>(() => {});
  };
  return deadline(look(), what, ms).finally(() => stopped = true);
}
