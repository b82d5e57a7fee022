import assert from "node:assert/strict";
import { checkCronSpec, CronSpecError, nextRunOf } from "./cron_schedule.ts";

Deno.test("five fields run in UTC by default, six have seconds first", () => {
  const at = Date.UTC(2026, 0, 1, 10, 2, 30);
  assert.equal(
    nextRunOf(checkCronSpec({ name: "a", schedule: "*/5 * * * *" }), at),
    Date.UTC(2026, 0, 1, 10, 5),
  );
  assert.equal(
    nextRunOf(checkCronSpec({ name: "b", schedule: "*/10 * * * * *" }), at),
    Date.UTC(2026, 0, 1, 10, 2, 40),
  );
  const oslo = checkCronSpec({ name: "c", schedule: "0 9 * * *", tz: "Europe/Oslo" });
  assert.equal(
    nextRunOf(oslo, at),
    Date.UTC(2026, 0, 2, 8, 0),
    "09:00 in Oslo is 08:00 UTC in winter",
  );
});

Deno.test("bad names, schedules and zones are refused with the field at fault", () => {
  const cases: [Record<string, unknown>, string][] = [
    [{ name: "", schedule: "* * * * *" }, "name"],
    [{ name: "a b", schedule: "* * * * *" }, "name"],
    [{ name: "x", schedule: "*/5 * * *" }, "schedule"],
    [{ name: "x", schedule: "* * * * * * *" }, "schedule"],
    [{ name: "x", schedule: "61 * * * *" }, "schedule"],
    [{ name: "x", schedule: 5 }, "schedule"],
    [{ name: "x", schedule: "* * * * *", tz: "Mars/Base" }, "tz"],
  ];
  for (const [spec, field] of cases) {
    assert.throws(() => checkCronSpec(spec), (err) => {
      assert.ok(err instanceof CronSpecError);
      assert.equal(err.field, field, JSON.stringify(spec));
      return true;
    });
  }
});
