import assert from "node:assert/strict";
import { type CronSchedule, cronScheduleString } from "./cron_schedule_object.ts";

Deno.test("Deno.cron's object schedules become the cron strings Deno makes of them", () => {
  const cases: [CronSchedule, string][] = [
    [{ minute: { every: 5 } }, "*/5 * * * *"],
    [{ hour: { every: 6 } }, "0 */6 * * *"],
    [{ dayOfWeek: 1 }, "0 0 * * 1"],
    [{ dayOfMonth: { exact: [1, 15] } }, "0 0 1,15 * *"],
    [{ month: { exact: 6 } }, "0 0 1 6 *"],
    [{ minute: { start: 5 } }, "5/1 * * * *"],
    [{ minute: 30, hour: { start: 1, end: 5, every: 2 } }, "30 1-5/2 * * *"],
    [{ hour: { start: 9, end: 17 } }, "0 9-17 * * *"],
    [{ minute: { start: 10, every: 20 } }, "10/20 * * * *"],
    [{}, "* * * * *"],
  ];
  for (const [schedule, expected] of cases) {
    assert.equal(cronScheduleString(schedule), expected, JSON.stringify(schedule));
  }
  assert.equal(cronScheduleString("0 3 * * *"), "0 3 * * *");
});

Deno.test("an object schedule Deno cannot read throws its TypeError", () => {
  assert.throws(
    () => cronScheduleString({ minute: { end: 5 } }),
    new TypeError("Invalid cron schedule: start=undefined, end=5, every=undefined"),
  );
});
