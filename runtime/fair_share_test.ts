import assert from "node:assert/strict";
import { FairShare } from "./fair_share.ts";

const clock = () => {
  let t = 1000;
  return { now: () => t, advance: (ms: number) => (t += ms) };
};

Deno.test("an app served alone is never held back", () => {
  const c = clock();
  const fair = new FairShare({ floor: 2, budget: 4, now: c.now });
  for (let i = 0; i < 100; i++) assert.equal(fair.enter(1), undefined);
  assert.equal(fair.dispatched(1), 100);
});

Deno.test("beside another app, a flooding app waits past the budget; a modest one keeps its floor", async () => {
  const c = clock();
  const fair = new FairShare({ floor: 2, budget: 4, now: c.now });
  assert.equal(fair.enter(2), undefined, "the reader's first request");
  const flood: (Promise<void> | undefined)[] = [];
  for (let i = 0; i < 10; i++) flood.push(fair.enter(1));
  // Three places left in the budget of four; the rest wait.
  assert.equal(flood.filter((p) => p === undefined).length, 3);
  assert.equal(fair.waiting(1), 7);
  // The reader's second request is within its floor: it goes at once.
  assert.equal(fair.enter(2), undefined);
  // Its third is past the floor and the budget: it waits.
  const third = fair.enter(2);
  assert.ok(third);
  // A place the flooder frees goes to the flooder's next (two each is even) …
  fair.leave(1);
  fair.leave(1);
  assert.equal(fair.waiting(1), 6);
  assert.equal(fair.dispatched(1), 2);
  // … but one the reader frees goes to the reader, though the flooder waited longer.
  fair.leave(2);
  await third;
  assert.equal(fair.dispatched(2), 2);
  assert.equal(fair.waiting(1), 6);
});

Deno.test("waiting requests go in order as answers come back, and all once the other app is idle", async () => {
  const c = clock();
  const fair = new FairShare({ floor: 1, budget: 2, windowMs: 250, now: c.now });
  assert.equal(fair.enter(2), undefined);
  assert.equal(fair.enter(1), undefined);
  const order: number[] = [];
  const waits = [0, 1, 2, 3].map((i) => fair.enter(1)!.then(() => order.push(i)));
  fair.leave(1);
  await waits[0];
  assert.deepEqual(order, [0]);
  // The other app answers and goes quiet: past the window nothing is shared.
  fair.leave(2);
  c.advance(300);
  fair.leave(1);
  await Promise.all(waits);
  assert.deepEqual(order, [0, 1, 2, 3]);
  assert.equal(fair.dispatched(1), 3);
  assert.equal(fair.enter(1), undefined, "alone again: no wait");
});

Deno.test("leaving more than entered changes nothing", () => {
  const fair = new FairShare({ floor: 1, budget: 1 });
  fair.leave(7);
  assert.equal(fair.enter(7), undefined);
  fair.leave(7);
  fair.leave(7);
  assert.equal(fair.dispatched(7), 0);
});

/** A flooder (app 1) past its place beside a modest app (app 2) with one request at its code. */
function flooded(pace: number) {
  const c = clock();
  const fair = new FairShare({ floor: 2, budget: 4, pace, maxRestMs: 1000, now: c.now });
  assert.equal(fair.enter(2), undefined, "the modest app's request");
  const flood = Array.from({ length: 10 }, () => fair.enter(1));
  // Its floor, then the budget's last place; the rest wait.
  assert.equal(flood.filter((p) => p === undefined).length, 3);
  return { c, fair, waiting: flood.filter((p) => p !== undefined) as Promise<void>[] };
}

Deno.test("paced: beside a modest app, a flooding app sends one request at a time and rests pace times its last", async () => {
  const { c, fair, waiting } = flooded(3);
  c.advance(10);
  fair.leave(1);
  fair.leave(1);
  assert.equal(fair.dispatched(1), 1, "past one at a time, nothing more goes");
  c.advance(10);
  fair.leave(1);
  // Its last request took 20 ms (sent at 1000, answered at 1020): it rests 60.
  assert.equal(fair.dispatched(1), 0);
  assert.equal(fair.waiting(1), 7);
  c.advance(59);
  fair.enter(2);
  fair.leave(2);
  assert.equal(fair.dispatched(1), 0, "still resting");
  c.advance(1);
  await waiting[0];
  assert.equal(fair.dispatched(1), 1, "one, after the rest");
  assert.equal(fair.waiting(1), 6);
  // Answered at once: it rests 3 × 0 and the next goes.
  fair.leave(1);
  await waiting[1];
  assert.equal(fair.dispatched(1), 1);
  // The modest app never waited.
  assert.equal(fair.waiting(2), 0);
  fair.leave(2);
  for (let i = 0; i < 10; i++) fair.leave(1);
  await Promise.all(waiting);
});

Deno.test("paced: once the modest app has had nothing in flight for busyGapMs, the flooder's places come back", async () => {
  const { c, fair, waiting } = flooded(3);
  c.advance(10);
  for (let i = 0; i < 3; i++) fair.leave(1);
  assert.equal(fair.dispatched(1), 0, "resting");
  fair.leave(2);
  // For busyGapMs the modest app's next request may be on its way; after it:
  c.advance(20);
  // No rest and no single file any more: its floor and the budget, at once.
  await Promise.all(waiting.slice(0, 4));
  assert.equal(fair.dispatched(1), 4);
  assert.equal(fair.waiting(1), 3);
  for (let i = 0; i < 7; i++) fair.leave(1);
  await Promise.all(waiting);
});

Deno.test("paced: a request given up while it waits on I/O costs no rest", async () => {
  const { c, fair, waiting } = flooded(3);
  c.advance(40);
  for (let i = 0; i < 3; i++) fair.leave(1, false);
  await waiting[0];
  assert.equal(fair.dispatched(1), 1);
  fair.leave(2);
  for (let i = 0; i < 7; i++) fair.leave(1);
  await Promise.all(waiting);
});

Deno.test("paced: two flooding apps are not paced, they share places as before", async () => {
  const c = clock();
  const fair = new FairShare({ floor: 2, budget: 4, pace: 3, now: c.now });
  const a = Array.from({ length: 3 }, () => fair.enter(1));
  assert.ok(a.every((p) => p === undefined), "alone, the first app is not held");
  const b = Array.from({ length: 4 }, () => fair.enter(2));
  assert.equal(b.filter((p) => p === undefined).length, 2, "the second gets its floor");
  const more = [fair.enter(1)!, fair.enter(1)!];
  c.advance(50);
  // Both have requests waiting: no one rests, and freed places go at once
  // to the app with the fewest dispatched, as before.
  fair.leave(1);
  fair.leave(1);
  await more[0];
  assert.equal(fair.dispatched(1), 2);
  fair.leave(2);
  await b[2];
  assert.equal(fair.dispatched(2), 2);
  for (let i = 0; i < 5; i++) fair.leave(1);
  for (let i = 0; i < 5; i++) fair.leave(2);
  await Promise.all([...more, ...b]);
});

Deno.test("paced: a rest is never longer than maxRestMs", async () => {
  const c = clock();
  const fair = new FairShare({ floor: 1, budget: 2, pace: 100, maxRestMs: 5, now: c.now });
  fair.enter(2);
  assert.equal(fair.enter(1), undefined);
  const next = fair.enter(1)!;
  c.advance(1000);
  // It took 1000 ms: a rest of 100 times that is cut to 5.
  fair.leave(1);
  c.advance(5);
  await next;
  assert.equal(fair.dispatched(1), 1);
  fair.leave(1);
  fair.leave(2);
});

Deno.test("a place unanswered for holdMs is given back by itself, without a rest; one answered goes back once", async () => {
  const c = clock();
  const fair = new FairShare({ floor: 1, budget: 1, pace: 3, holdMs: 50, now: c.now });
  assert.equal(fair.enter(2), undefined);
  const modest = fair.placed(2);
  assert.equal(fair.enter(1), undefined, "its floor");
  const slow = fair.placed(1);
  const next = fair.enter(1)!;
  c.advance(50);
  // The sweep finds the flooder's request past holdMs (the modest app's
  // too): both places go back and the next request goes with no rest.
  await next;
  assert.equal(fair.dispatched(1), 1);
  assert.equal(fair.dispatched(2), 0);
  // Answered later: nothing is given back twice.
  fair.done(slow);
  fair.done(modest);
  assert.equal(fair.dispatched(1), 1);
  fair.leave(1);
});
