/**
 * `Deno.cron`'s object form of a schedule (`{ minute: { every: 5 } }`) as
 * the cron string Deno makes of it (its `parseScheduleToString` in
 * `ext/cron/01_cron.ts`, 2.9): the fields left out before the first one
 * given are 0 (a day of the month, 1), the rest `*`. The string is then
 * checked like any other schedule.
 * @module
 */

/** One field: a value, `{ exact }` values, or a range with a step. */
export type CronScheduleExpression =
  | number
  | { exact: number | number[] }
  | { start?: number; end?: number; every?: number };

/** Deno's `Deno.CronSchedule`. */
export interface CronSchedule {
  minute?: CronScheduleExpression;
  hour?: CronScheduleExpression;
  dayOfMonth?: CronScheduleExpression;
  month?: CronScheduleExpression;
  dayOfWeek?: CronScheduleExpression;
}

function field(value: CronScheduleExpression | undefined): string {
  if (value === undefined) return "*";
  if (typeof value === "number") return String(value);
  if ("exact" in value && value.exact !== undefined) {
    return Array.isArray(value.exact) ? value.exact.join(",") : String(value.exact);
  }
  const { start, end, every } = value as { start?: number; end?: number; every?: number };
  if (start !== undefined && end !== undefined && every !== undefined) {
    return `${start}-${end}/${every}`;
  }
  if (start !== undefined && end !== undefined) return `${start}-${end}`;
  if (start !== undefined && every !== undefined) return `${start}/${every}`;
  if (start !== undefined) return `${start}/1`;
  if (end === undefined && every !== undefined) return `*/${every}`;
  throw new TypeError(`Invalid cron schedule: start=${start}, end=${end}, every=${every}`);
}

/** The cron string for `schedule` (a string is returned as it is). */
export function cronScheduleString(schedule: string | CronSchedule): string {
  if (typeof schedule === "string") return schedule;
  let { minute, hour, dayOfMonth } = schedule;
  const { month, dayOfWeek } = schedule;
  // As Deno: `{ hour: { every: 2 } }` means at minute 0, not every minute.
  if (minute !== undefined) {
    // Nothing left out before the first field given.
  } else if (hour !== undefined) {
    minute = 0;
  } else if (dayOfMonth !== undefined || dayOfWeek !== undefined) {
    minute = 0;
    hour = 0;
  } else if (month !== undefined) {
    minute = 0;
    hour = 0;
    dayOfMonth = 1;
  }
  return [minute, hour, dayOfMonth, month, dayOfWeek].map(field).join(" ");
}
