import assert from "node:assert/strict";
import { accepts, ifRangeHolds, isNotModified, parseRange } from "./static_site.ts";

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

const FILE = {
  etags: { identity: '"abc"', gzip: '"abc-gz"', br: '"abc-br"' },
  lastModified: "Tue, 10 Mar 2026 12:00:00 GMT",
};
const EARLIER = "Mon, 09 Mar 2026 12:00:00 GMT";
const LATER = "Wed, 11 Mar 2026 12:00:00 GMT";

const notModified = (headers: Record<string, string>) => isNotModified(new Headers(headers), FILE);

Deno.test("isNotModified: If-None-Match, weak or strong, of any encoding; `*`", () => {
  assert.equal(notModified({}), false);
  assert.equal(notModified({ "if-none-match": '"abc"' }), true);
  assert.equal(notModified({ "if-none-match": 'W/"abc"' }), true, "weak comparison");
  assert.equal(notModified({ "if-none-match": '"abc-gz"' }), true, "the gzip body's tag");
  assert.equal(notModified({ "if-none-match": 'W/"abc-br"' }), true, "the br body's, weak");
  assert.equal(notModified({ "if-none-match": '"x", "y" , "abc"' }), true, "one of a list");
  assert.equal(notModified({ "if-none-match": "*" }), true);
  assert.equal(notModified({ "if-none-match": " * " }), true);
  assert.equal(notModified({ "if-none-match": '"abcd"' }), false);
  assert.equal(notModified({ "if-none-match": "abc" }), false, "a tag is quoted");
  assert.equal(notModified({ "if-none-match": '"x", W/"y"' }), false);
});

Deno.test("isNotModified: If-Modified-Since counts only without If-None-Match", () => {
  assert.equal(notModified({ "if-modified-since": FILE.lastModified }), true);
  assert.equal(notModified({ "if-modified-since": LATER }), true);
  assert.equal(notModified({ "if-modified-since": EARLIER }), false);
  assert.equal(notModified({ "if-modified-since": "not a date" }), false);
  // A tag that does not match wins over a date that would (a rollback's older file).
  assert.equal(notModified({ "if-none-match": '"old"', "if-modified-since": LATER }), false);
  assert.equal(
    notModified({ "if-none-match": '"old"', "if-modified-since": FILE.lastModified }),
    false,
  );
  // And a tag that matches wins over a date that would not.
  assert.equal(notModified({ "if-none-match": '"abc"', "if-modified-since": EARLIER }), true);
});

Deno.test("ifRangeHolds: the identity body's strong ETag, or exactly the date", () => {
  assert.equal(ifRangeHolds(null, FILE), true, "no If-Range: the range applies");
  assert.equal(ifRangeHolds('"abc"', FILE), true);
  assert.equal(ifRangeHolds(' "abc" ', FILE), true);
  assert.equal(ifRangeHolds('W/"abc"', FILE), false, "a weak tag never matches");
  assert.equal(ifRangeHolds('"abc-gz"', FILE), false, "ranges are of the identity body");
  assert.equal(ifRangeHolds('"other"', FILE), false);
  assert.equal(ifRangeHolds(FILE.lastModified, FILE), true);
  assert.equal(ifRangeHolds(LATER, FILE), false, "only the exact date");
  assert.equal(ifRangeHolds(EARLIER, FILE), false);
  assert.equal(ifRangeHolds("garbage", FILE), false);
});
