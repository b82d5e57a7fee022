import assert from "node:assert/strict";
import { sparkline } from "./stats.ts";

Deno.test("sparkline: scales to the largest value and fits the width", () => {
  assert.equal(sparkline([]), "");
  assert.equal(sparkline([0, 0, 0]), "▁▁▁");
  assert.equal(sparkline([0, 1, 2, 3, 4, 5, 6, 7]), "▁▂▃▄▅▆▇█");
  assert.equal(sparkline([5, 10]), "▅█");
  const long = sparkline(Array.from({ length: 90 }, (_, i) => i), 30);
  assert.equal(long.length, 30);
  assert.equal(long.at(-1), "█");
});
