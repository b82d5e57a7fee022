import assert from "node:assert/strict";
import * as zipJs from "@zip.js/zip.js";

// zip.js (an independent reader) checks the writer; no Web Workers in tests.
zipJs.configure({ useWebWorkers: false });
const loadZip = () => Promise.resolve(zipJs);
import { writeZip, ZIP_MAX_ENTRIES } from "./zip_writer.ts";

const text = (s: string) => new TextEncoder().encode(s);

Deno.test("writeZip makes archives zip.js reads back byte for byte, CRCs checked", async () => {
  const random = crypto.getRandomValues(new Uint8Array(50_000));
  const inputs = [
    { path: "index.html", data: text("<h1>hi</h1>".repeat(500)), compress: true },
    { path: "img/noise.bin", data: random, compress: true }, // deflate would grow it
    { path: "empty.txt", data: new Uint8Array(), compress: true },
    { path: "stored/readme.md", data: text("# stored\n"), compress: false },
    { path: "naïve/日本.txt", data: text("unicode name"), compress: true },
  ];
  const zip = await writeZip(inputs);
  const { ZipReader, Uint8ArrayReader, Uint8ArrayWriter } = await loadZip();
  const reader = new ZipReader(new Uint8ArrayReader(zip));
  const entries = await reader.getEntries();
  assert.deepEqual(entries.map((e) => e.filename), inputs.map((i) => i.path));
  for (const [i, e] of entries.entries()) {
    assert.ok(!e.directory, e.filename);
    const data = await e.getData(new Uint8ArrayWriter(), { checkSignature: true });
    assert.deepEqual(data, inputs[i].data, e.filename);
  }
  const byName = new Map(entries.map((e) => [e.filename, e]));
  assert.ok(byName.get("index.html")!.compressedSize < 5500 / 4, "text is deflated");
  assert.equal(byName.get("img/noise.bin")!.compressedSize, random.byteLength, "kept stored");
  assert.equal(byName.get("stored/readme.md")!.compressedSize, 9);
  await reader.close();
});

Deno.test("writeZip: the same files make the same bytes", async () => {
  const files = () => [{ path: "a.txt", data: text("a"), compress: true }];
  assert.deepEqual(await writeZip(files()), await writeZip(files()));
});

Deno.test("writeZip refuses more entries than a ZIP without ZIP64 holds", async () => {
  const many = Array.from({ length: ZIP_MAX_ENTRIES + 1 }, (_, i) => ({
    path: `f${i}`,
    data: new Uint8Array(),
    compress: false,
  }));
  await assert.rejects(writeZip(many), RangeError);
  const longName = [{ path: "a".repeat(70_000), data: new Uint8Array(), compress: false }];
  await assert.rejects(writeZip(longName), /at most 65535 bytes/);
});

Deno.test("the CRC written is the one readers check (a changed byte is caught)", async () => {
  const zip = await writeZip([{ path: "a.txt", data: text("hello"), compress: false }]);
  zip[30 + "a.txt".length] ^= 1; // first byte of the stored data
  const { ZipReader, Uint8ArrayReader, Uint8ArrayWriter } = await loadZip();
  const reader = new ZipReader(new Uint8ArrayReader(zip));
  const [entry] = await reader.getEntries();
  assert.ok(!entry.directory);
  await assert.rejects(entry.getData(new Uint8ArrayWriter(), { checkSignature: true }));
  await reader.close();
});
