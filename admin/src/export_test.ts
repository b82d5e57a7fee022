/// <reference lib="deno.ns" />
// The dashboard is checked with the DOM library; its tests run under Deno.
import assert from "node:assert/strict";
import { columnsOf, toCsv } from "./export.ts";

Deno.test("CSV: a header of every key, quoting, nested values as JSON", () => {
  const rows = [
    { id: "a", n: 1, text: 'say "hi", then\nleave' },
    { id: "b", nested: { x: [1, 2] }, empty: null },
  ];
  assert.deepEqual(columnsOf(rows), ["id", "n", "text", "nested", "empty"]);
  assert.equal(
    toCsv(rows),
    'id,n,text,nested,empty\r\na,1,"say ""hi"", then\nleave",,\r\nb,,,"{""x"":[1,2]}",\r\n',
  );
});

Deno.test("CSV: text a spreadsheet would run as a formula is defused, numbers are not", () => {
  const csv = toCsv([{ a: "=HYPERLINK(1)", b: "+1+1", c: "-5", d: -5, e: "@x" }]);
  assert.equal(csv.split("\r\n")[1], "'=HYPERLINK(1),'+1+1,-5,-5,'@x");
});
