/**
 * Cron schedules: five fields (minute hour day month weekday) or six with
 * seconds first, read by croner; in UTC unless the job names a time zone.
 * One parser for the manifest's `crons` and for `Deno.cron` in app code.
 * @module
 */
import { Cron } from "croner";

/** One scheduled job of an app, wherever it was declared. */
export interface CronSpec {
  name: string;
  schedule: string;
  /** An IANA time zone (`Europe/Oslo`); absent: UTC. */
  tz?: string;
  /**
   * `Deno.cron`'s `backoffSchedule`: after a failed run, the waits (ms)
   * before each retry; absent: a failed run waits for the next time.
   */
  backoff?: number[];
}

/** Deno Deploy's bounds on a backoff schedule: at most 5 retries, each within an hour. */
export const MAX_RETRIES = 5;
export const MAX_BACKOFF_MS = 3_600_000;

/** Whether two specs describe the same job: name, schedule, zone and retries. */
export function sameCronSpec(a: CronSpec, b: CronSpec): boolean {
  return a.name === b.name && a.schedule === b.schedule && a.tz === b.tz &&
    String(a.backoff ?? "") === String(b.backoff ?? "");
}

/** Why a schedule was refused; `field` names the part at fault. */
export class CronSpecError extends Error {
  constructor(readonly field: "name" | "schedule" | "tz" | "backoff", message: string) {
    super(message);
  }
}

const NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;

/** Checks one job; returns it tidied (fields separated by single spaces). */
export function checkCronSpec(
  spec: { name?: unknown; schedule?: unknown; tz?: unknown; backoff?: unknown },
): CronSpec {
  const { name, schedule, tz, backoff } = spec;
  if (typeof name !== "string" || !NAME.test(name)) {
    throw new CronSpecError(
      "name",
      `cron name ${JSON.stringify(String(name)).slice(0, 80)} must be 1-64 letters, digits, ` +
        "'-', '_' or '.'",
    );
  }
  if (typeof schedule !== "string" || schedule.length > 200) {
    throw new CronSpecError("schedule", `cron "${name}": schedule must be a string`);
  }
  const fields = schedule.trim().split(/\s+/);
  if (fields.length !== 5 && fields.length !== 6) {
    throw new CronSpecError(
      "schedule",
      `cron "${name}": "${schedule}" must have five fields (minute hour day month weekday) ` +
        "or six with seconds first",
    );
  }
  if (tz !== undefined && (typeof tz !== "string" || tz.length > 64)) {
    throw new CronSpecError("tz", `cron "${name}": tz must be a time zone name like "Europe/Oslo"`);
  }
  const tidy: CronSpec = { name, schedule: fields.join(" ") };
  if (tz !== undefined) tidy.tz = tz as string;
  if (backoff !== undefined) {
    if (
      !Array.isArray(backoff) || backoff.length > MAX_RETRIES ||
      !backoff.every((ms) => Number.isInteger(ms) && ms >= 0 && ms <= MAX_BACKOFF_MS)
    ) {
      throw new CronSpecError(
        "backoff",
        `cron "${name}": backoff must be at most ${MAX_RETRIES} waits of 0 to ${MAX_BACKOFF_MS} ms`,
      );
    }
    if (backoff.length) tidy.backoff = [...backoff];
  }
  try {
    // Parsing and one next run: croner checks the fields and the zone.
    cronOf(tidy).nextRun();
  } catch (err) {
    const bad = err instanceof Error ? err.message : String(err);
    const field = /timezone|toTZ/i.test(bad) ? "tz" : "schedule";
    throw new CronSpecError(
      field,
      field === "tz"
        ? `cron "${name}": "${tz}" is not a time zone name`
        : `cron "${name}": "${schedule}" is not a valid schedule (${
          bad.replace(/^CronPattern: /, "")
        })`,
    );
  }
  return tidy;
}

/** The largest value of each field: seconds (when there are six), minute, hour, day, month, weekday. */
const FIELD_MAX = [59, 59, 23, 31, 12, 6];

/**
 * The schedule as croner reads it. A step from a number (`5/10`: from 5,
 * every 10) is cron as Deno reads it, and what Deno makes of an object
 * schedule's `{ start, every }`; croner wants the range written out
 * (`5-59/10`).
 */
function cronerPattern(schedule: string): string {
  const fields = schedule.split(" ");
  const maxes = FIELD_MAX.slice(FIELD_MAX.length - fields.length);
  return fields.map((field, i) =>
    field.split(",").map((part) => part.replace(/^(\d+)\/(\d+)$/, `$1-${maxes[i]}/$2`)).join(",")
  ).join(" ");
}

/** A paused croner object for a spec: asked for next runs, never firing itself. */
function cronOf(spec: CronSpec): Cron {
  return new Cron(cronerPattern(spec.schedule), { paused: true, timezone: spec.tz ?? "UTC" });
}

/** When the job next runs after `after` (ms since the epoch), or undefined if never. */
export function nextRunOf(spec: CronSpec, after: number = Date.now()): number | undefined {
  return cronOf(spec).nextRun(new Date(after))?.getTime();
}
