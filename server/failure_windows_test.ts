import assert from "node:assert/strict";
import { FailureWindows } from "./failure_windows.ts";

Deno.test("failures per key: max in a window, then blocked until the window ends", () => {
  const clock = { now: 1_000_000 };
  const w = new FailureWindows(3, 60_000, { now: () => clock.now });
  assert.equal(w.blockedFor("a"), 0);
  assert.equal(w.fail("a"), 1);
  assert.equal(w.fail("a"), 2);
  assert.equal(w.blockedFor("a"), 0, "under the limit");
  clock.now += 10_000;
  assert.equal(w.fail("a"), 3);
  assert.equal(w.blockedFor("a"), 50_000, "until the window that began at the first failure ends");
  assert.equal(w.blockedFor("b"), 0, "other keys are not affected");
  clock.now += 49_999;
  assert.equal(w.blockedFor("a"), 1);
  clock.now += 1;
  assert.equal(w.blockedFor("a"), 0, "the window ended");
  assert.equal(w.fail("a"), 1, "a new window starts");
});

Deno.test("failure windows hold at most `capacity` keys: expired ones go first, then the oldest", () => {
  const clock = { now: 0 };
  const w = new FailureWindows(1, 1000, { now: () => clock.now, capacity: 3 });
  w.fail("old");
  clock.now = 500;
  w.fail("b");
  w.fail("c");
  assert.equal(w.size, 3);
  clock.now = 1000; // "old" has expired
  w.fail("d");
  assert.equal(w.size, 3);
  assert.equal(w.blockedFor("old"), 0);
  assert.ok(w.blockedFor("b") > 0 && w.blockedFor("c") > 0 && w.blockedFor("d") > 0);
  w.fail("e"); // nothing expired: the oldest ("b") goes
  assert.equal(w.size, 3);
  assert.equal(w.blockedFor("b"), 0);
  assert.ok(w.blockedFor("e") > 0);
});
