import assert from "node:assert/strict";
import { decodeCursor, encodeCursor } from "./cursor.ts";
import { refused } from "./testing.ts";

Deno.test("cursor: text round-trips as unpadded base64url", () => {
  for (const text of ["a", "ab", "abc", "key/with+slash?", "ключ \u{1f600}", '{"after":"x"}']) {
    const cursor = encodeCursor(text);
    assert.match(cursor, /^[A-Za-z0-9_-]+$/, text);
    assert.equal(decodeCursor(cursor), text);
  }
  // Bytes 0xfb 0xff encode to '+' and '/' in plain base64.
  assert.equal(encodeCursor("\u{fbff}"), "76-_");
});

Deno.test("cursor: absent is undefined; anything not made here is refused", () => {
  assert.equal(decodeCursor(undefined), undefined);
  assert.equal(decodeCursor(null), undefined);
  for (const bad of ["", "a", "ab=", "a+b/", 42, {}, "gA"]) {
    refused(() => decodeCursor(bad), "VALIDATION_FAILED", "cursor");
  }
});
