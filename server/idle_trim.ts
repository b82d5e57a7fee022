/**
 * Gives memory back to the system when a busy node goes quiet.
 *
 * glibc's malloc keeps what is freed in its arenas (one per thread that
 * allocates) instead of returning it: after 100k static requests a node
 * held 5-6 MiB of free pages that `malloc_trim(0)` handed back
 * (bench/README.md, "Idle memory"). Nothing in Deno calls it, so the node
 * does, through FFI on libc, once requests stop for `quietMs`: never on the
 * path of a request, and on a thread of FFI's pool, not the serving thread.
 * Without `--allow-ffi`, off glibc (musl has no `malloc_trim`) or off Linux
 * the node runs as before, keeping the pages.
 * @module
 */

/** Quiet this long after a request: the node trims. */
export const QUIET_MS = 250;
/** At most one trim this often (a node with a request every second trims every few seconds). */
export const TRIM_GAP_MS = 5_000;

export interface IdleTrimOptions {
  /** Gives free memory back; resolves when done (a rejection counts no trim). */
  trim: () => Promise<unknown>;
  quietMs?: number;
  gapMs?: number;
  now?: () => number;
  /** Timers (tests drive their own); default `setTimeout`, unref'd. */
  timers?: Timers;
}

/** What `IdleTrim` needs of timers. */
export interface Timers {
  set(fn: () => void, ms: number): unknown;
  clear(id: unknown): void;
}

const REAL_TIMERS: Timers = {
  set(fn, ms) {
    const id = setTimeout(fn, ms);
    // A quiet node's pending trim must not keep the process alive.
    Deno.unrefTimer(id);
    return id;
  },
  clear: (id) => clearTimeout(id as number),
};

/**
 * Watches for activity (`touch`, once a request) and trims once the node
 * has been quiet for `quietMs`, at most once every `gapMs`. Idle, it holds
 * no timer.
 */
export class IdleTrim {
  /** Trims done since start. */
  trims = 0;
  #seen = 0;
  #checked = 0;
  #timer: unknown;
  #lastTrim = -Infinity;
  #running: Promise<void> | undefined;
  #closed = false;
  readonly #trim: () => Promise<unknown>;
  readonly #quietMs: number;
  readonly #gapMs: number;
  readonly #now: () => number;
  readonly #timers: Timers;

  constructor(options: IdleTrimOptions) {
    this.#trim = options.trim;
    this.#quietMs = options.quietMs ?? QUIET_MS;
    this.#gapMs = options.gapMs ?? TRIM_GAP_MS;
    this.#now = options.now ?? (() => performance.now());
    this.#timers = options.timers ?? REAL_TIMERS;
  }

  /**
   * Something happened (a request, the analytics thread ending): a trim
   * follows once it has been quiet a while.
   */
  touch(): void {
    this.#seen++;
    if (this.#timer === undefined && !this.#closed) this.#arm(this.#quietMs);
  }

  /** Settles once the trim under way, if any, has ended. */
  settled(): Promise<void> {
    return this.#running ?? Promise.resolve();
  }

  /** Whether a trim is waiting for quiet. */
  get armed(): boolean {
    return this.#timer !== undefined;
  }

  close(): void {
    this.#closed = true;
    if (this.#timer !== undefined) this.#timers.clear(this.#timer);
    this.#timer = undefined;
  }

  #arm(ms: number): void {
    this.#checked = this.#seen;
    this.#timer = this.#timers.set(() => this.#check(), ms);
  }

  #check(): void {
    this.#timer = undefined;
    if (this.#closed) return;
    if (this.#seen !== this.#checked || this.#running) return this.#arm(this.#quietMs);
    const wait = this.#lastTrim + this.#gapMs - this.#now();
    if (wait > 0) return this.#arm(wait);
    this.#lastTrim = this.#now();
    this.#running = this.#trim().then(() => {
      this.trims++;
    }, () => {}).finally(() => this.#running = undefined);
  }
}

const LIBC_NAMES = ["libc.so.6"];

/**
 * `malloc_trim(0)` of glibc, run on FFI's thread pool, or why it is not
 * available. Opening libc costs ~10 ms, so it happens on the first call,
 * not at start-up.
 */
export function mallocTrim(): (() => Promise<number>) | string {
  if (Deno.build.os !== "linux") return "only on Linux";
  if (typeof Deno.dlopen !== "function") return "no FFI in this runtime";
  if (Deno.permissions.querySync({ name: "ffi" }).state !== "granted") return "no --allow-ffi";
  let fn: ((pad: bigint) => Promise<number>) | null | undefined;
  return () => {
    if (fn === undefined) fn = openMallocTrim();
    return fn ? fn(0n) : Promise.reject(new Error("no malloc_trim in this libc"));
  };
}

function openMallocTrim(): ((pad: bigint) => Promise<number>) | null {
  for (const name of LIBC_NAMES) {
    try {
      return Deno.dlopen(name, {
        malloc_trim: { parameters: ["usize"], result: "i32", nonblocking: true },
      }).symbols.malloc_trim;
    } catch {
      // Not glibc (musl has no malloc_trim), or no such library.
    }
  }
  return null;
}
