import assert from "node:assert/strict";
import { BodyCache } from "./body_cache.ts";

Deno.test("BodyCache evicts the least recently used and stays within its bytes", () => {
  const cache = new BodyCache(800);
  const body = (n: number) => new Uint8Array(n);
  cache.set("a", body(100));
  cache.set("b", body(100));
  cache.set("c", body(100));
  assert.ok(cache.get("a"), "a is now the most recent");
  for (let i = 0; i < 6; i++) cache.set(`x${i}`, body(100));
  assert.ok(cache.size <= 800);
  assert.equal(cache.get("b"), undefined, "b was the oldest");
  assert.ok(cache.get("a"));
  cache.set("huge", body(200));
  assert.equal(cache.get("huge"), undefined, "an item over 1/8 of the cache is not kept");
});
