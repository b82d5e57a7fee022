/**
 * The app's log: `ctx.log` and the whole `console` (`log` to `table`, `dir`,
 * `group`, `time`, `assert`…) become lines queued and sent to the server as
 * one LOG frame per turn of the event loop. Nothing the app prints reaches
 * the host's stdout, let alone the protocol.
 * @module
 */
import type { Log } from "../app_types.ts";
import type { LogLine } from "../protocol.ts";
import { encodeUp } from "./frame_meta.ts";
import { FRAME } from "./frames.ts";
import { link } from "./link.ts";

/** Lines beyond this many in one turn of the event loop are dropped. */
const MAX_QUEUED = 1000;
/** A longer line is cut (the store keeps at most this much anyway). */
const MAX_LINE = 16 * 1024;

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

const LEVELS: LogLine["level"][] = ["debug", "info", "warn", "error", "error"];

export class AppLog {
  #queue: LogLine[] = [];
  #dropped = 0;

  /** `ctx.log`. */
  readonly logger: Log = {
    debug: (...a: unknown[]) => this.write("debug", format(a)),
    info: (...a: unknown[]) => this.write("info", format(a)),
    warn: (...a: unknown[]) => this.write("warn", format(a)),
    error: (...a: unknown[]) => this.write("error", format(a)),
  };

  write(level: LogLine["level"], message: string): void {
    if (this.#queue.length === 0 && this.#dropped === 0) setTimeout(() => this.#flush(), 0);
    if (this.#queue.length < MAX_QUEUED) {
      this.#queue.push({ level, message: message.slice(0, MAX_LINE), at: Date.now() });
    } else this.#dropped++;
  }

  /** Sends what is queued now (before a frame that must follow the lines: JOBDONE). */
  flush(): void {
    this.#flush();
  }

  #flush(): void {
    if (this.#dropped) {
      this.#queue.push({
        level: "warn",
        message: `${this.#dropped} more log lines in one turn were dropped`,
        at: Date.now(),
      });
      this.#dropped = 0;
    }
    if (this.#queue.length && link) link.out.frame(0, FRAME.LOG, encodeUp(FRAME.LOG, this.#queue));
    this.#queue = [];
  }
}

type PrintingConsole = new (print: (message: string, level: number) => void) => Console;

/**
 * Replaces `console` with Deno's own console class printing into the log,
 * so every method formats as usual and none writes to stdout.
 */
export function captureConsole(log: AppLog, ConsoleClass: PrintingConsole | undefined): Console {
  if (!ConsoleClass) {
    const line = (level: LogLine["level"]) => (...a: unknown[]) => log.write(level, format(a));
    return {
      log: line("info"),
      info: line("info"),
      debug: line("debug"),
      warn: line("warn"),
      error: line("error"),
      dir: line("info"),
      table: line("info"),
      trace: line("debug"),
    } as unknown as Console;
  }
  return new ConsoleClass((message, level) => {
    const text = message.endsWith("\n") ? message.slice(0, -1) : message;
    if (text) log.write(LEVELS[level] ?? "info", text);
  });
}
