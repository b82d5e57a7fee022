import assert from "node:assert/strict";
import { accepts, parseRange } from "./static_site.ts";

Deno.test("parseRange: single ranges, suffixes, and what is ignored", () => {
  assert.deepEqual(parseRange("bytes=0-4", 10), { start: 0, end: 4 });
  assert.deepEqual(parseRange("bytes=5-", 10), { start: 5, end: 9 });
  assert.deepEqual(parseRange("bytes=-3", 10), { start: 7, end: 9 });
  assert.deepEqual(parseRange("bytes=-30", 10), { start: 0, end: 9 });
  assert.deepEqual(parseRange("bytes=8-99", 10), { start: 8, end: 9 });
  assert.equal(parseRange("bytes=10-", 10), "unsatisfiable");
  assert.equal(parseRange("bytes=-0", 10), "unsatisfiable");
  assert.equal(parseRange("bytes=0-0", 0), "unsatisfiable");
  assert.equal(parseRange("bytes=5-2", 10), null);
  assert.equal(parseRange("bytes=0-1,3-4", 10), null);
  assert.equal(parseRange("items=0-1", 10), null);
  assert.equal(parseRange("bytes=-", 10), null);
  // One byte, the last byte, surrounding spaces, numbers past the file.
  assert.deepEqual(parseRange("bytes=5-5", 10), { start: 5, end: 5 });
  assert.deepEqual(parseRange("bytes=9-9", 10), { start: 9, end: 9 });
  assert.deepEqual(parseRange("bytes=-1", 10), { start: 9, end: 9 });
  assert.deepEqual(parseRange("  bytes=1-2 ", 10), { start: 1, end: 2 });
  assert.deepEqual(parseRange("bytes=0-99999999999999999999", 10), { start: 0, end: 9 });
  assert.equal(parseRange("bytes=99999999999999999999-", 10), "unsatisfiable");
  assert.equal(parseRange("bytes=-5", 0), "unsatisfiable");
  for (const bad of ["bytes=a-b", "bytes=1-2-3", "bytes= 1-2", "bytes=+1-2", "Bytes=0-1", ""]) {
    assert.equal(parseRange(bad, 10), null, JSON.stringify(bad));
  }
});

Deno.test("accepts: q-values, wildcards and refusals", () => {
  assert.ok(accepts("gzip, deflate, br", "br"));
  assert.ok(accepts("br;q=0.5", "br"));
  assert.ok(!accepts("br;q=0", "br"));
  assert.ok(!accepts("gzip", "br"));
  assert.ok(accepts("*", "gzip"));
  assert.ok(!accepts("*, gzip;q=0", "gzip"));
  assert.ok(accepts(" GZIP ", "gzip"));
});
