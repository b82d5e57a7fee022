import assert from "node:assert/strict";
import { unsafePathReason } from "./archive.ts";

Deno.test("unsafePathReason names what is wrong with an entry path", () => {
  for (const ok of ["index.html", "a/b/c.txt", "dir/", "café/ñ.txt", "..hidden", "a..b"]) {
    assert.equal(unsafePathReason(ok), undefined, ok);
  }
  for (
    const bad of [
      "../x",
      "a/../../x",
      "/etc/passwd",
      "C:/x",
      "c:x",
      "a\\b",
      "a\0b",
      "a//b",
      "./a",
      "a/./b",
      "a\nb",
    ]
  ) {
    assert.ok(unsafePathReason(bad), JSON.stringify(bad));
  }
});
