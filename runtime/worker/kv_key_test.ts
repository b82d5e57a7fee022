import assert from "node:assert/strict";
import { decodeKey, encodeKey, KvU64 } from "./kv_key.ts";

Deno.test("kv keys decode to what was encoded, every part type", () => {
  const keys = [
    ["a", "", "a\0b", "é😀"],
    [0n, 1n, -1n, 255n, 256n, -256n, 2n ** 63n, -(2n ** 63n), 2n ** 100n, -(2n ** 100n)],
    [0, 1.5, -1.5, Infinity, -Infinity, Number.MAX_VALUE, Number.MIN_VALUE],
    [true, false],
    [new Uint8Array([]), new Uint8Array([0, 0, 255]), new Uint8Array([1])],
  ];
  for (const key of keys) assert.deepEqual(decodeKey(encodeKey(key)), key);
  assert.ok(Number.isNaN(decodeKey(encodeKey([NaN]))[0]));
});

Deno.test("kv keys refuse other part types, and KvU64 its range", () => {
  for (const bad of [[{}], [null], [undefined], [Symbol("s")]]) {
    assert.throws(() => encodeKey(bad as never), TypeError);
  }
  assert.throws(() => encodeKey("a" as never), TypeError);
  assert.throws(() => new KvU64(-1n), RangeError);
  assert.throws(() => new KvU64(2n ** 64n), RangeError);
  assert.throws(() => new KvU64(1 as never), TypeError);
  assert.equal(new KvU64(2n ** 64n - 1n).value, 2n ** 64n - 1n);
  assert.throws(() => decodeKey(new Uint8Array([0x02, 0x61])), TypeError, "unterminated");
  assert.throws(() => decodeKey(new Uint8Array([0x99])), TypeError);
});
