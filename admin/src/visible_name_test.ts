/// <reference lib="deno.ns" />
// The dashboard is checked with the DOM library; its tests run under Deno.
import assert from "node:assert/strict";
import { visibleName } from "./visible_name.ts";

Deno.test("bidi controls in a name are shown escaped, so they cannot disguise an extension", () => {
  assert.equal(visibleName("invoice\u202Egpj.exe"), "invoice\\u202Egpj.exe");
  const bidi = [
    0x202a,
    0x202b,
    0x202c,
    0x202d,
    0x202e,
    0x2066,
    0x2067,
    0x2068,
    0x2069,
    0x200e,
    0x200f,
    0x061c,
  ];
  for (const cp of bidi) {
    const hex = cp.toString(16).toUpperCase().padStart(4, "0");
    assert.equal(visibleName(`a${String.fromCodePoint(cp)}b.txt`), `a\\u${hex}b.txt`, hex);
  }
});

Deno.test("control, zero-width and separator characters are shown escaped too", () => {
  assert.equal(visibleName("a\u0000b\u001Fc\u007Fd\u0085e"), "a\\u0000b\\u001Fc\\u007Fd\\u0085e");
  assert.equal(visibleName("x\u200By\uFEFFz\u00AD"), "x\\u200By\\uFEFFz\\u00AD");
  assert.equal(visibleName("line\u2028para\u2029"), "line\\u2028para\\u2029");
  assert.equal(visibleName("tag\u{E0001}"), "tag\\u{E0001}", "outside the BMP");
});

Deno.test("ordinary names, accents and scripts written right to left are left alone", () => {
  for (
    const name of [
      "index.html",
      "css/main.css",
      "café/naïve.txt",
      "日本語.md",
      "שלום.txt",
      "a b.txt",
    ]
  ) {
    assert.equal(visibleName(name), name);
  }
  assert.equal(visibleName(""), "");
});
