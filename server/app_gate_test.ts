import assert from "node:assert/strict";
import { APP_GATE_FLOOR, AppGate } from "./app_gate.ts";

Deno.test("a burst to an app that answers within the target is never refused", () => {
  let now = 0;
  const gate = new AppGate(500, () => now);
  const arrived: number[] = [];
  for (let i = 0; i < 300; i++) arrived.push(gate.enter("a")!);
  assert.equal(arrived.length, 300);
  assert.ok(arrived.every((t) => t !== undefined));
  // It answers them quickly.
  now = 50;
  for (const t of arrived) gate.leave("a", t);
  now = 600;
  for (let i = 0; i < 300; i++) assert.notEqual(gate.enter("a"), undefined);
});

Deno.test("an app falling behind is refused past the floor until it catches up", () => {
  let now = 0;
  const gate = new AppGate(500, () => now);
  // Every answer takes 800 ms (queueing): the app is behind.
  const queue: number[] = [];
  for (let i = 0; i < 100; i++) queue.push(gate.enter("a")!);
  for (now = 800; now <= 2000; now += 100) gate.leave("a", queue.shift()!);
  now = 2100;
  gate.leave("a", queue.shift()!); // ends an interval whose quickest answer took > 500 ms
  // 86 still in flight (past the floor): refused.
  assert.equal(gate.enter("a"), undefined);
  // Another app has its own lane.
  assert.notEqual(gate.enter("b"), undefined);
  // Below the floor it is let in even while behind.
  while (queue.length > APP_GATE_FLOOR - 1) gate.leave("a", queue.shift()!);
  assert.notEqual(gate.enter("a"), undefined);
  // Quick answers again: no longer behind.
  now = 3000;
  const t = gate.enter("a")!;
  now = 3010;
  gate.leave("a", t);
  now = 3600;
  for (let i = 0; i < 100; i++) assert.notEqual(gate.enter("a"), undefined);
});

Deno.test("an app behind is not refused while the server itself holds its requests back", () => {
  let now = 0;
  const gate = new AppGate(500, () => now);
  const queue: number[] = [];
  for (let i = 0; i < 100; i++) queue.push(gate.enter("a")!);
  for (now = 800; now <= 2100; now += 100) gate.leave("a", queue.shift()!);
  assert.equal(gate.enter("a"), undefined, "behind, past the floor");
  // The fair share paces it beside another app: its waits are the server's.
  assert.notEqual(gate.enter("a", true), undefined);
});

Deno.test("target 0 never refuses", () => {
  let now = 0;
  const gate = new AppGate(0, () => now);
  const t = gate.enter("a")!;
  now = 10_000;
  gate.leave("a", t);
  for (let i = 0; i < 1000; i++) assert.notEqual(gate.enter("a"), undefined);
});
