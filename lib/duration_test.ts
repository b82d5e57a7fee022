import assert from "node:assert/strict";
import { formatDuration, parseDuration } from "./duration.ts";

Deno.test("durations: one whole number and one unit", () => {
  assert.equal(parseDuration("1s"), 1000);
  assert.equal(parseDuration("30m"), 1_800_000);
  assert.equal(parseDuration("24h"), 86_400_000);
  assert.equal(parseDuration("7d"), 604_800_000);
  assert.equal(parseDuration(" 2H "), 7_200_000);
  for (const bad of ["", "24", "h", "1.5h", "-1h", "1h30m", "1 h", "1w", "off", "1e3s"]) {
    assert.equal(parseDuration(bad), undefined, bad);
  }
});

Deno.test("durations: formatted in the largest exact unit", () => {
  assert.equal(formatDuration(86_400_000), "1d");
  assert.equal(formatDuration(5_400_000), "90m");
  assert.equal(formatDuration(3_600_000), "1h");
  assert.equal(formatDuration(1000), "1s");
  assert.equal(formatDuration(61_000), "61s");
});
