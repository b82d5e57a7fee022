/**
 * A small request body watched for stalls without being wrapped.
 *
 * The front door must fail a body read that waits too long (a client that
 * sends a head and then nothing holds a handler and a connection). Wrapping
 * the body in a stream of its own and the request in a new `Request` does
 * that for any reader, but costs ~40 µs a request, as much as counting an
 * event. For a small declared body the door instead attaches a guard, and
 * the readers that take such bodies (`readBody`, the deploy upload's
 * `boundedBody`) wait through it: each wait is timed, and a guard the door
 * fails rejects the wait at once with the door's error.
 */
export class BodyGuard {
  /** When the pending wait started; 0 when none is pending. */
  waitingSince = 0;
  /** The whole body was read. */
  ended = false;
  #failure: Error | undefined;
  /** Rejects the pending wait, if any. */
  #reject: ((err: Error) => void) | undefined;

  /**
   * Settles with `read`, or rejects as soon as the guard fails. One promise
   * a wait, no `Promise.race` and no async frame: every small body a
   * tracking call sends goes through here.
   */
  wait<T>(read: Promise<T>): Promise<T> {
    if (this.#failure) {
      read.catch(() => {}); // nobody will read it
      return Promise.reject(this.#failure);
    }
    this.waitingSince = performance.now();
    return new Promise<T>((resolve, reject) => {
      this.#reject = reject;
      read.then((value) => {
        this.#settled();
        resolve(value);
      }, (err) => {
        this.#settled();
        reject(err);
      });
    });
  }

  #settled(): void {
    this.waitingSince = 0;
    this.#reject = undefined;
  }

  /** Ends every wait, now and later, with `err`; nothing once the body was read. */
  fail(err: Error): void {
    if (this.#failure || this.ended) return;
    this.#failure = err;
    this.waitingSince = 0;
    // A read that settles later settles nothing: this promise is already rejected.
    this.#reject?.(err);
    this.#reject = undefined;
  }
}

// A property, not a WeakMap: a WeakMap entry per request cost more than the guard.
const GUARD = Symbol("fazt.bodyGuard");

/** Attaches `guard` to `req`: its readers wait through it. */
export function guardBody(req: object, guard: BodyGuard): void {
  (req as { [GUARD]?: BodyGuard })[GUARD] = guard;
}

/** The guard the door attached to `req`, if any. */
export function bodyGuardOf(req: object): BodyGuard | undefined {
  return (req as { [GUARD]?: BodyGuard })[GUARD];
}
