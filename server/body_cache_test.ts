import assert from "node:assert/strict";
import { BodyCache, CachedBody } from "./body_cache.ts";

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
  const huge = cache.set("huge", body(101));
  assert.equal(huge.bytes.byteLength, 101, "an item over 1/8 of the cache is still answered");
  assert.equal(cache.get("huge"), undefined, "but not kept");
});

Deno.test("BodyCache counts every response template's copy of a body", async () => {
  const cache = new BodyCache(1000);
  const entry = cache.set("a", new Uint8Array(100));
  assert.equal(cache.size, 100);
  const owners = [{}, {}, {}];
  for (const o of owners) await entry.response(o, 200, () => []).arrayBuffer();
  await entry.response(owners[0], 404, () => []).arrayBuffer();
  await entry.response(owners[0], 200, () => []).arrayBuffer(); // reused, not counted again
  assert.equal(entry.templates, 4);
  assert.equal(cache.size, 500);
  for (let i = 0; i < 6; i++) cache.set(`x${i}`, new Uint8Array(100));
  assert.equal(cache.get("a"), undefined, "evicted with its templates");
  assert.ok(cache.size <= 1000);
  const big = cache.set("big", new Uint8Array(200));
  await big.response({}, 200, () => []).arrayBuffer();
  assert.equal(big.templates, 0, "a body not kept builds no templates");
});

Deno.test("CachedBody answers every request with the whole body and its own headers", async () => {
  const bytes = new Uint8Array(200_000).map((_, i) => i % 251);
  const entry = new CachedBody(bytes, () => {});
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
