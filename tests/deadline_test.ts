import assert from "node:assert/strict";
import { deadline, waitFor } from "./deadline.ts";

Deno.test("deadline passes a settled promise through and names what never came", async () => {
  assert.equal(await deadline(Promise.resolve(7), "seven"), 7);
  await assert.rejects(deadline(new Promise(() => {}), "the answer", 20), /the answer: still/);
});

Deno.test("waitFor looks again until the condition holds, and gives up naming it", async () => {
  let looks = 0;
  assert.equal(await waitFor(() => ++looks === 3 && "third", "the third look"), "third");
  assert.equal(looks, 3);
  await assert.rejects(waitFor(() => false, "a condition that never holds", 60), /never holds/);
});
