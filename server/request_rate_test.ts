import assert from "node:assert/strict";
import { RequestRate } from "./request_rate.ts";

const MINUTE = 60_000;

Deno.test("requests are counted per minute, for the last hour, by the clock", () => {
  let now = 1_700_000_000_000 - (1_700_000_000_000 % MINUTE); // the start of a minute
  const rate = new RequestRate(() => now);
  const empty = rate.snapshot();
  assert.equal(empty.per_minute.length, 60);
  assert.ok(empty.per_minute.every((m) => m.n === 0));
  assert.equal(empty.per_minute.at(-1)!.t, now - MINUTE, "the last full minute ends now");

  for (let i = 0; i < 3; i++) rate.hit();
  assert.deepEqual([rate.snapshot().this_minute, rate.snapshot().last_minute], [3, 0]);
  now += MINUTE - 1; // still the same minute
  rate.hit();
  assert.equal(rate.snapshot().this_minute, 4);
  now += 1; // the next one
  rate.hit();
  const s = rate.snapshot();
  assert.deepEqual([s.this_minute, s.last_minute], [1, 4]);

  // An hour later the slot of that minute is reused, starting from zero.
  now += 60 * MINUTE;
  rate.hit();
  const later = rate.snapshot();
  assert.equal(later.this_minute, 1);
  assert.equal(later.per_minute.reduce((n, m) => n + m.n, 0), 0, "older than an hour is gone");
  assert.ok(
    later.per_minute.every((m, i) => i === 0 || m.t - later.per_minute[i - 1].t === MINUTE),
  );
});
