import assert from "node:assert/strict";
import { APP_GATE_FLOOR, AppGate } from "./app_gate.ts";

Deno.test("an app is never refused below the floor", () => {
  const gate = new AppGate(500, () => 0);
  for (let i = 0; i < APP_GATE_FLOOR; i++) assert.ok(gate.enter("a"));
  // No throughput yet: past the floor, refused.
  assert.equal(gate.enter("a"), false);
  // Another app has its own lane.
  assert.ok(gate.enter("b"));
});

Deno.test("the limit is what the app clears within the target", () => {
  let now = 0;
  const gate = new AppGate(500, () => now);
  // 200 answers a second for two seconds: it clears 100 in 500 ms.
  for (let t = 0; t < 2000; t += 5) {
    now = t;
    assert.ok(gate.enter("a"));
    gate.leave("a");
  }
  let admitted = 0;
  while (gate.enter("a")) admitted++;
  assert.equal(admitted, 100);
  // Answers come back: room again.
  gate.leave("a");
  assert.ok(gate.enter("a"));
  // Two quiet seconds later the rate has gone, the floor stays.
  now += 2500;
  for (let i = 0; i < 100; i++) gate.leave("a");
  assert.ok(gate.enter("a"));
});

Deno.test("target 0 never refuses", () => {
  const gate = new AppGate(0, () => 0);
  for (let i = 0; i < 1000; i++) assert.ok(gate.enter("a"));
});
