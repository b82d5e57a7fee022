import assert from "node:assert/strict";
import { textLines } from "./text_lines.ts";

function stream(...chunks: string[]): ReadableStream<Uint8Array> {
  const enc = new TextEncoder();
  return ReadableStream.from(chunks.map((c) => enc.encode(c)));
}

async function all(s: ReadableStream<Uint8Array>, max?: number): Promise<string[]> {
  const out: string[] = [];
  for await (const line of textLines(s, max)) out.push(line);
  return out;
}

Deno.test("lines split across chunks come out whole; a last line without newline too", async () => {
  assert.deepEqual(await all(stream("a\nb", "c\r\n", "", "d")), ["a", "bc", "d"]);
  assert.deepEqual(await all(stream("é".repeat(3).slice(0, 2), "é\n")), ["ééé"]);
});

Deno.test("an overlong line is cut at the bound, the rest of it dropped", async () => {
  assert.deepEqual(await all(stream("x".repeat(10), "yyyy", "zz\nok\n"), 8), ["xxxxxxxx", "ok"]);
  assert.deepEqual(await all(stream("abcdefghij\n"), 4), ["abcd"]);
});
