/**
 * `Deno.serve` in app code: instead of listening, the call registers the
 * app's handler, which the server then calls for every request of the app
 * (a Deno Deploy-style app: `Deno.serve(handler)` at the top level). Every
 * call form works (a handler; options and a handler; `{ handler, … }`), and
 * `onListen` hears a plausible address. An app has one handler: a second
 * call throws, and so does a call once the module has loaded (the app is
 * serving by then, with its default export).
 * @module
 */

/** What Deno gives a `Deno.serve` handler besides the request. */
export interface ServeInfo {
  remoteAddr: { transport: "tcp"; hostname: string; port: number };
  completed: Promise<void>;
}

export type ServeHandler = (req: Request, info: ServeInfo) => unknown;

interface ServeOptions {
  port?: number;
  hostname?: string;
  handler?: ServeHandler;
  onListen?: (addr: { transport: "tcp"; hostname: string; port: number }) => void;
  onError?: (err: unknown) => Response | Promise<Response>;
  signal?: AbortSignal;
}

export const LATE_SERVE =
  "Deno.serve must be called while the app's module loads (at its top level): the app is " +
  "already serving, and apps on fazt never listen";

export const SECOND_SERVE =
  "Deno.serve was called a second time: an app on fazt has one handler, the first call's " +
  "(route inside that handler instead)";

/** The handler the app's `Deno.serve` registered, if it called it. */
export class ServeRegistry {
  handler: ServeHandler | undefined;
  onError: ServeOptions["onError"];
  #loaded = false;

  /** The app's `Deno.serve`. */
  readonly serve = (a?: unknown, b?: unknown): unknown => {
    let opts: ServeOptions;
    let handler: unknown;
    if (typeof a === "function") {
      handler = a;
      opts = {};
    } else {
      opts = (a ?? {}) as ServeOptions;
      handler = typeof b === "function" ? b : opts.handler;
    }
    if (typeof handler !== "function") {
      throw new TypeError("Deno.serve needs a handler: Deno.serve((req) => new Response(...))");
    }
    if (this.handler) throw new Error(SECOND_SERVE);
    if (this.#loaded) throw new Error(LATE_SERVE);
    this.handler = handler as ServeHandler;
    this.onError = opts.onError;
    const addr = {
      transport: "tcp" as const,
      hostname: opts.hostname ?? "0.0.0.0",
      port: opts.port ?? 8000,
    };
    let finish = () => {};
    const finished = new Promise<void>((resolve) => (finish = resolve));
    opts.signal?.addEventListener("abort", () => finish());
    opts.onListen?.(addr);
    return {
      addr,
      finished,
      ref() {},
      unref() {},
      // The node decides when the app stops; shutting down only settles `finished`.
      shutdown: () => {
        finish();
        return Promise.resolve();
      },
      [Symbol.asyncDispose]: () => {
        finish();
        return Promise.resolve();
      },
    };
  };

  /**
   * The handler as the bootstrap calls it (`null` when the app never called
   * `Deno.serve`). Asked once the module has loaded: later calls are refused.
   */
  fetch(): ((req: Request) => unknown) | null {
    this.#loaded = true;
    const handler = this.handler;
    if (!handler) return null;
    const onError = this.onError;
    return async (req: Request) => {
      // The node holds the client's connection; the app sees the node.
      const hostname = "127.0.0.1";
      const info: ServeInfo = {
        remoteAddr: { transport: "tcp", hostname, port: 0 },
        completed: Promise.resolve(),
      };
      if (!onError) return await handler(req, info);
      try {
        return await handler(req, info);
      } catch (err) {
        return await onError(err);
      }
    };
  }
}
