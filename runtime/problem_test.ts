import assert from "node:assert/strict";
import { problem } from "./problem.ts";

Deno.test("problem: the envelope, its headers, never cached", async () => {
  const res = problem(503, "APP_BUSY", "The app is busy", { "retry-after": "1" });
  assert.equal(res.status, 503);
  assert.equal(res.headers.get("content-type"), "application/json; charset=utf-8");
  assert.equal(res.headers.get("cache-control"), "no-store");
  assert.equal(res.headers.get("retry-after"), "1");
  assert.deepEqual(await res.json(), { error: { code: "APP_BUSY", message: "The app is busy" } });
});

Deno.test("problem: a code outside RuntimeErrorCode does not compile", async () => {
  // @ts-expect-error -- not a runtime error code (checked by `deno task check`)
  const res = problem(500, "APP_OOPS", "no such code");
  await res.body?.cancel();
});
