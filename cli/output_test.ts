import assert from "node:assert/strict";
import { visible } from "./output.ts";

Deno.test("visible: control characters and bidi overrides are shown, newlines and tabs kept", () => {
  assert.equal(visible("a\x1b[31mred\x1b[0m"), "a\\u001b[31mred\\u001b[0m");
  assert.equal(visible("line\nnext\tcol"), "line\nnext\tcol");
  assert.equal(visible("\x07\x7f\x9b\u202e\u2066"), "\\u0007\\u007f\\u009b\\u202e\\u2066");
  assert.equal(visible("plain café ñ"), "plain café ñ");
});
