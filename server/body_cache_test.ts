import assert from "node:assert/strict";
import { BodyCache, CachedBody } from "./body_cache.ts";

Deno.test("BodyCache evicts the least recently used and stays within its bytes", () => {
  const cache = new BodyCache(1600);
  const body = (n: number) => new Uint8Array(n);
  cache.set("a", body(100));
  cache.set("b", body(100));
  cache.set("c", body(100));
  assert.ok(cache.get("a"), "a is now the most recent");
  for (let i = 0; i < 6; i++) cache.set(`x${i}`, body(100));
  assert.ok(cache.size <= 1600);
  assert.equal(cache.get("b"), undefined, "b was the oldest");
  assert.ok(cache.get("a"));
  const huge = cache.set("huge", body(101));
  assert.equal(huge.bytes.byteLength, 101, "an item over 1/8 of the cache is still answered");
  assert.equal(cache.get("huge"), undefined, "but not kept");
});

Deno.test("CachedBody answers every request with the whole body and its own headers", async () => {
  const bytes = new Uint8Array(200_000).map((_, i) => i % 251);
  const entry = new CachedBody(bytes);
  const a = {}, b = {};
  for (let i = 0; i < 3; i++) {
    const res = entry.response(a, 200, () => [["content-type", "text/a"]]);
    assert.equal(res.status, 200);
    assert.equal(res.headers.get("content-type"), "text/a");
    assert.deepEqual(new Uint8Array(await res.arrayBuffer()), bytes);
  }
  const other = entry.response(b, 404, () => ({ "content-type": "text/b" }));
  assert.equal(other.status, 404);
  assert.equal(other.headers.get("content-type"), "text/b");
  assert.equal((await other.arrayBuffer()).byteLength, bytes.byteLength);
  // A consumer changing its copy of the headers must not reach the next one.
  const first = entry.response(a, 200, () => []);
  first.headers.set("x-changed", "1");
  assert.equal(entry.response(a, 200, () => []).headers.get("x-changed"), null);
  await first.body?.cancel();
});
