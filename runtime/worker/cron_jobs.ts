/**
 * Scheduled jobs inside the Worker. The server decides when a job runs and
 * sends JOB; this module finds its code and answers JOBDONE (empty, or why
 * it failed). Jobs come from two places: the manifest's `crons`, run by the
 * default export's `scheduled(event, ctx)`, and `Deno.cron(name, schedule,
 * handler)` called while the module loads (as on Deno Deploy), reported to
 * the server with READY so it schedules them like manifest entries (an
 * object schedule as its cron string, `backoffSchedule` as the job's
 * retries: the server retries a failed run).
 * @module
 */
import type { AppScheduled } from "./app_module.ts";
import type { Fazt } from "./context.ts";
import { type CronSchedule, cronScheduleString } from "./cron_schedule_object.ts";
import type { CodeCron, JobMeta } from "../protocol.ts";
import { parseDown } from "./frame_meta.ts";
import { FRAME } from "./frames.ts";
import { link } from "./link.ts";

type Handler = () => unknown;

/** Deno Deploy's bounds on `backoffSchedule`: at most 5 retries, each at most an hour later. */
const MAX_RETRIES = 5;
const MAX_BACKOFF_MS = 3_600_000;

const registered = new Map<
  string,
  { schedule: string; backoff: number[] | undefined; handler: Handler }
>();
let loading = false;

/** Installs `Deno.cron`; it registers only while the module loads (its top level). */
export function installDenoCron(): void {
  Object.defineProperty(Deno, "cron", {
    value: denoCron,
    writable: false,
    configurable: false,
  });
}

/** The retries of `options.backoffSchedule` (ms), checked as Deno checks them. */
function backoffOf(options: unknown): number[] | undefined {
  if (typeof options !== "object" || options === null) return undefined;
  const backoff = (options as { backoffSchedule?: unknown }).backoffSchedule;
  if (backoff === undefined) return undefined;
  if (
    !Array.isArray(backoff) || backoff.length > MAX_RETRIES ||
    !backoff.every((ms) => Number.isInteger(ms) && ms >= 0 && ms <= MAX_BACKOFF_MS)
  ) {
    throw new TypeError("Invalid backoff schedule");
  }
  return backoff.length ? [...backoff] : undefined;
}

function denoCron(name: unknown, schedule: unknown, a: unknown, b?: unknown): Promise<void> {
  const handler = typeof a === "function" ? a : b;
  if (typeof name !== "string" || name === "") {
    throw new TypeError("Deno.cron: the name must be a non-empty string");
  }
  if (typeof schedule !== "string" && (typeof schedule !== "object" || schedule === null)) {
    throw new TypeError(
      `Deno.cron("${name}"): the schedule is a cron string ("*/5 * * * *") or an object ` +
        "({ minute: { every: 5 } })",
    );
  }
  if (typeof handler !== "function") {
    throw new TypeError(`Deno.cron("${name}"): the handler must be a function`);
  }
  if (typeof a === "function" && b !== undefined) {
    throw new TypeError(
      "Cannot create cron job, a single handler is required: two handlers were specified",
    );
  }
  const cron = cronScheduleString(schedule as string | CronSchedule);
  const backoff = typeof a === "function" ? undefined : backoffOf(a);
  if (!loading) {
    throw new TypeError(
      `Deno.cron("${name}") must be called at the top level of the module, while it loads`,
    );
  }
  if (registered.has(name)) throw new TypeError(`Deno.cron("${name}") is registered twice`);
  registered.set(name, { schedule: cron, backoff, handler: handler as Handler });
  // Deno's promise settles when the cron is stopped: here, never.
  return new Promise<void>(() => {});
}

/** Runs `load` with registration open; returns what it loaded. */
export async function registering<T>(load: () => Promise<T>): Promise<T> {
  loading = true;
  try {
    return await load();
  } finally {
    loading = false;
  }
}

/** Whether the code registered any job. */
export function hasCodeCrons(): boolean {
  return registered.size > 0;
}

/** The jobs the code registered, for READY (`backoff`: the retries of a failed run, in ms). */
export function codeCrons(): CodeCron[] {
  return [...registered].map(([name, r]) => ({
    name,
    schedule: r.schedule,
    ...(r.backoff ? { backoff: r.backoff } : {}),
  }));
}

/** JOB: runs the job and answers JOBDONE with an empty meta or why it failed. */
export function onJob(
  id: number,
  meta: string,
  scheduled: AppScheduled | undefined,
  ctx: Fazt,
  log: { error(err: unknown): void; flush(): void },
): void {
  let job: JobMeta;
  try {
    job = parseDown(FRAME.JOB, meta);
  } catch {
    return link.out.frame(id, FRAME.JOBDONE, "a malformed job");
  }
  const done = (err?: unknown) => {
    if (err !== undefined) log.error(err);
    // The run's log lines reach the server before it hears the run ended.
    log.flush();
    const why = err === undefined
      ? ""
      : (err instanceof Error ? `${err.name}: ${err.message}` : String(err)).slice(0, 2000) ||
        "the job failed";
    link.out.frame(id, FRAME.JOBDONE, why);
  };
  let run: () => unknown;
  const code = job.source === "code" ? registered.get(job.name) : undefined;
  if (code) run = () => code.handler();
  else if (job.source === "manifest" && scheduled) {
    run = () =>
      scheduled(
        { type: "scheduled", name: job.name, cron: job.cron, scheduledTime: job.scheduledTime },
        ctx,
      );
  } else {
    return done(
      new Error(
        job.source === "code"
          ? `no Deno.cron("${job.name}") was registered`
          : "the app's default export has no scheduled(event, ctx)",
      ),
    );
  }
  try {
    Promise.resolve(run()).then(() => done(), (err) => done(err ?? "rejected"));
  } catch (err) {
    done(err ?? "thrown");
  }
}
