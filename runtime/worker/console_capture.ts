/**
 * The app's log: `ctx.log` and the captured `console` queue lines and send
 * them to the host in one message per turn of the event loop.
 * @module
 */
import type { Log } from "../app_types.ts";
import type { LogLine } from "../protocol.ts";
import { post, type WorkerScope } from "./scope.ts";

/** Lines beyond this many in one turn of the event loop are dropped. */
const MAX_QUEUED = 1000;

function format(args: unknown[]): string {
  return args.map((a) => {
    if (typeof a === "string") return a;
    if (a instanceof Error) return a.stack ?? String(a);
    try {
      return JSON.stringify(a);
    } catch {
      return String(a);
    }
  }).join(" ");
}

export class AppLog {
  #queue: LogLine[] = [];

  /** `ctx.log`. */
  readonly logger: Log = {
    debug: (...a: unknown[]) => this.write("debug", a),
    info: (...a: unknown[]) => this.write("info", a),
    warn: (...a: unknown[]) => this.write("warn", a),
    error: (...a: unknown[]) => this.write("error", a),
  };

  write(level: LogLine["level"], args: unknown[]): void {
    if (this.#queue.length === 0) setTimeout(() => this.#flush(), 0);
    if (this.#queue.length < MAX_QUEUED) {
      this.#queue.push({ level, message: format(args), at: Date.now() });
    }
  }

  #flush(): void {
    if (this.#queue.length) post({ t: "log", entries: this.#queue });
    this.#queue = [];
  }
}

/** Sends `console.log` and friends to the app's log; the rest of `console` is as it was. */
export function captureConsole(scope: WorkerScope, logger: Log): void {
  const captured = { ...logger, log: logger.info, trace: logger.debug };
  scope.console = new Proxy(scope.console, {
    get: (
      target,
      prop,
    ) => (prop in captured ? Reflect.get(captured, prop) : Reflect.get(target, prop)),
  });
}
