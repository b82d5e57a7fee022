import assert from "node:assert/strict";
import { checkCronSpec, CronSpecError, nextRunOf, sameCronSpec } from "./cron_schedule.ts";

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
    [{ name: "x", schedule: "* * * * *", backoff: [1, 2, 3, 4, 5, 6] }, "backoff"],
    [{ name: "x", schedule: "* * * * *", backoff: [3_600_001] }, "backoff"],
    [{ name: "x", schedule: "* * * * *", backoff: [-1] }, "backoff"],
    [{ name: "x", schedule: "* * * * *", backoff: [1.5] }, "backoff"],
    [{ name: "x", schedule: "* * * * *", backoff: "1000" }, "backoff"],
  ];
  for (const [spec, field] of cases) {
    assert.throws(() => checkCronSpec(spec), (err) => {
      assert.ok(err instanceof CronSpecError);
      assert.equal(err.field, field, JSON.stringify(spec));
      return true;
    });
  }
});

Deno.test("a backoff of up to 5 waits of at most an hour is kept; an empty one is none", () => {
  assert.deepEqual(
    checkCronSpec({ name: "r", schedule: "* * * * *", backoff: [0, 1000, 3_600_000] }),
    { name: "r", schedule: "* * * * *", backoff: [0, 1000, 3_600_000] },
  );
  assert.deepEqual(checkCronSpec({ name: "r", schedule: "* * * * *", backoff: [] }), {
    name: "r",
    schedule: "* * * * *",
  });
});

Deno.test("a step from a number (Deno's `{ start, every }`) runs from it to the field's end", () => {
  const at = Date.UTC(2026, 0, 1, 10, 2, 30);
  const from10 = checkCronSpec({ name: "s", schedule: "10/20 * * * *" });
  assert.equal(from10.schedule, "10/20 * * * *", "shown as written");
  assert.equal(nextRunOf(from10, at), Date.UTC(2026, 0, 1, 10, 10));
  assert.equal(nextRunOf(from10, Date.UTC(2026, 0, 1, 10, 51)), Date.UTC(2026, 0, 1, 11, 10));
  const hours = checkCronSpec({ name: "h", schedule: "0 20/2 * * *" });
  assert.equal(nextRunOf(hours, Date.UTC(2026, 0, 1, 22, 30)), Date.UTC(2026, 0, 2, 20, 0));
  const seconds = checkCronSpec({ name: "x", schedule: "50/5 * * * * *" });
  assert.equal(nextRunOf(seconds, at), Date.UTC(2026, 0, 1, 10, 2, 50));
});

Deno.test("sameCronSpec: name, schedule, zone and retries all count", () => {
  const base = { name: "a", schedule: "* * * * *" };
  assert.ok(sameCronSpec(base, { ...base }));
  assert.ok(sameCronSpec({ ...base, backoff: [1, 2] }, { ...base, backoff: [1, 2] }));
  assert.ok(!sameCronSpec(base, { ...base, name: "b" }));
  assert.ok(!sameCronSpec(base, { ...base, schedule: "*/5 * * * *" }));
  assert.ok(!sameCronSpec(base, { ...base, tz: "Europe/Oslo" }));
  assert.ok(!sameCronSpec(base, { ...base, backoff: [1] }));
  assert.ok(!sameCronSpec({ ...base, backoff: [1, 2] }, { ...base, backoff: [12] }));
});
