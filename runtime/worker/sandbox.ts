/**
 * What the bootstrap takes away before app code runs. Permissions do most
 * of the work (the Worker has no TCP, file, env, process or FFI access);
 * this closes what permissions leave open in a shared host:
 *
 * - listening: `Deno.listen`/`listenTls`/`listenDatagram`/`serveHttp`
 *   refuse (and the Worker has no TCP permission to listen with anyway);
 *   `Deno.serve` registers the app's handler instead (`deno_serve.ts`);
 * - stdout and stderr: they belong to the host, so `Deno.stdout`,
 *   `Deno.stderr` refuse writes (use `console`, which goes to the log) and
 *   `Deno.stdin` is empty;
 * - Deno's internals (`Deno[Deno.internal]`, which reach raw resources);
 * - the Worker's `postMessage` to the host's main thread (kept by the
 *   bootstrap for the two blocking requests it relays);
 * - uncaught errors and rejections, which would otherwise end the Worker:
 *   they are logged.
 * @module
 */
import { scope } from "./scope.ts";

type PrintingConsole = new (print: (message: string, level: number) => void) => Console;

function notCapable(message: string): Error {
  const Capable = (Deno.errors as unknown as Record<string, ErrorConstructor>).NotCapable;
  return Capable ? new Capable(message) : new Error(message);
}

function refuse(what: string, why: string): () => never {
  return () => {
    throw notCapable(`${what}: ${why}`);
  };
}

function define(target: object, name: PropertyKey, value: unknown): void {
  Object.defineProperty(target, name, { value, writable: false, configurable: false });
}

const NO_OUTPUT = "apps have no stdout or stderr; console.log and ctx.log write to the app's log";

function noOutput(): object {
  const write = refuse("writing to the host's output", NO_OUTPUT);
  return Object.freeze({
    rid: -1,
    write,
    writeSync: write,
    close() {},
    isTerminal: () => false,
    get writable(): never {
      return write();
    },
  });
}

const noInput = Object.freeze({
  rid: -1,
  read: () => Promise.resolve(null),
  readSync: () => null,
  close() {},
  isTerminal: () => false,
  setRaw() {},
  get readable() {
    return new ReadableStream({ start: (c) => c.close() });
  },
});

/** Deno's console class, taken from its internals before they are removed. */
export function takeConsoleClass(): PrintingConsole | undefined {
  const denoNs = Deno as unknown as Record<symbol, Record<string, unknown> | undefined>;
  const internal = denoNs[(Deno as unknown as { internal: symbol }).internal];
  return internal?.Console as PrintingConsole | undefined;
}

export interface LockDown {
  /** What app code's `postMessage` does instead (see `mod.ts`). */
  post(message: unknown): void;
  /** What `Deno.serve` does instead of listening. */
  serve(...args: unknown[]): unknown;
  /** Where uncaught errors go. */
  uncaught(err: unknown): void;
  console: Console;
}

export function lockDown(opts: LockDown): void {
  const denoNs = Deno as unknown as Record<PropertyKey, unknown>;
  delete denoNs[(Deno as unknown as { internal: symbol }).internal];
  const listen = "apps cannot listen; the server calls the app's exported handler";
  for (const name of ["listen", "listenTls", "listenDatagram", "serveHttp"]) {
    define(Deno, name, refuse(`Deno.${name}`, listen));
  }
  define(Deno, "serve", opts.serve);
  define(Deno, "stdout", noOutput());
  define(Deno, "stderr", noOutput());
  define(Deno, "stdin", noInput);
  define(scope, "postMessage", opts.post);
  define(scope, "console", opts.console);
  scope.addEventListener("error", (e) => {
    e.preventDefault();
    opts.uncaught((e as ErrorEvent).error ?? (e as ErrorEvent).message);
  });
  scope.addEventListener("unhandledrejection", (e) => {
    e.preventDefault();
    opts.uncaught((e as PromiseRejectionEvent).reason);
  });
}
