import assert from "node:assert/strict";
import { TokenBuckets } from "./token_buckets.ts";

Deno.test("token buckets: a burst, then the rate, per key", () => {
  const b = new TokenBuckets(2, 3); // 2 a second, 3 at once
  const t = 1_000_000;
  assert.deepEqual([b.take("a", t), b.take("a", t), b.take("a", t)], [0, 0, 0]);
  assert.equal(b.take("a", t), 1, "the fourth at once waits a second");
  assert.equal(b.take("b", t), 0, "another key has its own bucket");
  assert.equal(b.take("a", t + 499), 1, "half a token is not enough");
  assert.equal(b.take("a", t + 500), 0, "one token after 0.5 s at 2/s");
  assert.equal(b.take("a", t + 500), 1);
  // Idle for long: full again, never more than the burst.
  assert.deepEqual(
    [0, 0, 0, 0].map(() => b.take("a", t + 60_000)),
    [0, 0, 0, 1],
  );
});

Deno.test("token buckets: the wait is whole seconds until the next token", () => {
  const b = new TokenBuckets(0.1, 1); // one every 10 s (settings are whole, but the math is not)
  assert.equal(b.take("k", 0), 0);
  assert.equal(b.take("k", 0), 10);
  assert.equal(b.take("k", 7_500), 3);
  assert.equal(b.take("k", 10_000), 0);
});

Deno.test("token buckets: a clock going back refills nothing", () => {
  const b = new TokenBuckets(1, 1);
  assert.equal(b.take("k", 10_000), 0);
  assert.equal(b.take("k", 5_000), 1);
  assert.equal(b.take("k", 10_500), 1, "counted from the latest time seen");
  assert.equal(b.take("k", 11_000), 0);
});

Deno.test("token buckets: the number of keys stays bounded, busy keys are kept first", () => {
  const b = new TokenBuckets(1, 2, 100);
  b.take("busy", 0);
  b.take("busy", 0);
  for (let i = 0; i < 99; i++) b.take(`idle-${i}`, 0);
  assert.equal(b.size, 100);
  // Later the idle buckets are full again and are forgotten first; "busy" is
  // still empty-ish at t=1000 (1 token back of 2) and keeps its state.
  b.take("new", 1_000);
  assert.ok(b.size <= 100);
  assert.equal(b.take("busy", 1_000), 0);
  assert.equal(b.take("busy", 1_000), 1, "its bucket was kept, not reset to full");
  for (let i = 0; i < 1000; i++) b.take(`flood-${i}`, 1_000);
  assert.ok(b.size <= 100, `${b.size} buckets`);
});
