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
