import assert from "node:assert/strict";
import { buildZip, type RawEntry, zerosEntry } from "../tests/zip_builder.ts";
import { writeZip } from "./zip_writer.ts";
import {
  bytesSource,
  dataOffset,
  readDirectory,
  readEntries,
  readEntryData,
  type ZipEntry,
  ZipFormatError,
  type ZipSource,
} from "./zip_reader.ts";

const te = new TextEncoder();
const td = new TextDecoder();

async function list(zip: Uint8Array): Promise<ZipEntry[]> {
  const source = bytesSource(zip);
  const dir = await readDirectory(source);
  const out: ZipEntry[] = [];
  for await (const e of readEntries(source, dir)) out.push(e);
  return out;
}

/** Every entry's name and content, read the way the server reads them. */
async function contents(zip: Uint8Array): Promise<Record<string, string>> {
  const source = bytesSource(zip);
  const dir = await readDirectory(source);
  const out: Record<string, string> = {};
  for await (const e of readEntries(source, dir)) {
    const parts: Uint8Array[] = [];
    for await (const c of readEntryData(source, e, await dataOffset(source, e, dir))) parts.push(c);
    out[e.name] = parts.map((p) => td.decode(p, { stream: true })).join("");
  }
  return out;
}

/** The ZipFormatError message that reading every entry of `zip` fails with. */
async function failure(zip: Uint8Array): Promise<string> {
  const err = await contents(zip).then(() => undefined, (e) => e);
  assert.ok(err instanceof ZipFormatError, `refused with a ZipFormatError, got ${err}`);
  return err.message;
}

Deno.test("zip_reader reads what fazt's writer and hand-built archives hold", async () => {
  const files = { "index.html": "<h1>hi</h1>", "a/b.txt": "b".repeat(5000), "empty.txt": "" };
  const written = await writeZip(
    Object.entries(files).map(([path, s]) => ({ path, data: te.encode(s), compress: true })),
  );
  assert.deepEqual(await contents(written), files);
  const stored = buildZip([{ name: "x.txt", data: "stored" }, {
    name: "y.txt",
    data: "deflated",
    deflate: true,
  }], { comment: "a comment after the directory" });
  assert.deepEqual(await contents(stored), { "x.txt": "stored", "y.txt": "deflated" });
  // An empty file marked deflated with no deflate stream at all, as some writers make it.
  const bare = buildZip([{ name: "e", compressed: new Uint8Array(), declaredSize: 0, crc: 0 }]);
  assert.deepEqual(await contents(bare), { e: "" });
});

Deno.test("zip_reader: ZIP64 end records and extra fields give sizes and offsets", async () => {
  const zip = buildZip([
    { name: "small.txt", data: "one", zip64: true },
    { name: "packed.txt", data: "two ".repeat(1000), deflate: true, zip64: true },
    { name: "plain.txt", data: "three" },
  ], { zip64: true });
  const entries = await list(zip);
  assert.deepEqual(entries.map((e) => [e.name, e.size]), [
    ["small.txt", 3],
    ["packed.txt", 4000],
    ["plain.txt", 5],
  ]);
  assert.deepEqual(await contents(zip), {
    "small.txt": "one",
    "packed.txt": "two ".repeat(1000),
    "plain.txt": "three",
  });
  // A 32-bit marker with no ZIP64 field behind it is refused, not read as 4 GiB.
  const broken = buildZip([{ name: "a", data: "x", zip64: true }]);
  const at = broken.findIndex((_, i) =>
    broken[i] === 0x50 && broken[i + 1] === 0x4b && broken[i + 2] === 1 && broken[i + 3] === 2
  );
  broken[at + 30] = 0; // the central extra field's length
  assert.match(await failure(broken), /ZIP64|central directory/);
});

Deno.test("zip_reader: entry kinds from names and attributes", async () => {
  const entries = await list(buildZip([
    { name: "dir/" },
    { name: "link", data: "/etc/passwd", unixMode: 0o120777 },
    { name: "unixdir", unixMode: 0o040755 },
    { name: "secret", data: "x", encrypted: true },
    { name: "file", data: "x", unixMode: 0o100644 },
  ]));
  const kinds = entries.map((e) => [e.name, e.directory, e.symlink, e.encrypted]);
  assert.deepEqual(kinds, [
    ["dir/", true, false, false],
    ["link", false, true, false],
    ["unixdir", true, false, false],
    ["secret", false, false, true],
    ["file", false, false, false],
  ]);
});

Deno.test("zip_reader: names that are not UTF-8 are read as code page 437", async () => {
  const zip = buildZip([{ name: "XX.txt", data: "x" }]);
  // Replace the name (in both headers) with CP437 bytes for "é" and "ñ", and drop the UTF-8 flag.
  for (let i = 0; i + 1 < zip.length; i++) {
    if (zip[i] === 0x58 && zip[i + 1] === 0x58) [zip[i], zip[i + 1]] = [0x82, 0xa4];
  }
  for (let i = 0; i + 4 < zip.length; i++) {
    const sig = zip[i] === 0x50 && zip[i + 1] === 0x4b;
    if (sig && zip[i + 2] === 3 && zip[i + 3] === 4) zip[i + 7] &= ~0x08;
    if (sig && zip[i + 2] === 1 && zip[i + 3] === 2) zip[i + 9] &= ~0x08;
  }
  assert.deepEqual((await list(zip)).map((e) => e.name), ["éñ.txt"]);
});

Deno.test("zip_reader refuses malformed archives with a reason", async () => {
  const good = buildZip([{ name: "a.txt", data: "hello" }, { name: "b.txt", data: "world" }]);
  const cases: [string, () => Uint8Array, RegExp][] = [
    ["too short", () => te.encode("PK"), /too short/],
    ["no end record", () => good.slice(0, good.length - 22), /end-of-archive/],
    ["bytes after the end", () => new Uint8Array([...good, 0, 0]), /end-of-archive/],
    ["fewer entries than declared", () =>
      buildZip([{ name: "a", data: "x" }], {
        declaredEntries: 2,
      }), /fewer entries/],
    [
      "more entries than declared",
      () =>
        buildZip([{ name: "a", data: "x" }, { name: "b", data: "y" }], {
          declaredEntries: 1,
        }),
      /more entries/,
    ],
    ["bytes prepended", () => new Uint8Array([0, ...good]), /central directory is not where/],
    ["bad CRC", () => buildZip([{ name: "a", data: "x", crc: 1 }]), /checksum/],
    [
      "bad CRC, deflated",
      () => buildZip([{ name: "a", data: "xyz", deflate: true, crc: 1 }]),
      /checksum/,
    ],
    [
      "stored sizes disagree",
      () => buildZip([{ name: "a", data: "xyz", declaredSize: 2 }]),
      /sizes disagree/,
    ],
    [
      "deflated larger than declared",
      () => buildZip([{ name: "a", data: "x".repeat(100), deflate: true, declaredSize: 10 }]),
      /larger than/,
    ],
    [
      "deflated smaller than declared",
      () => buildZip([{ name: "a", data: "x".repeat(100), deflate: true, declaredSize: 200 }]),
      /smaller than/,
    ],
    ["unsupported method", () => buildZip([{ name: "a", data: "x", method: 12 }]), /method 12/],
    [
      "local header names another file",
      () => buildZip([{ name: "a.txt", data: "x", localName: "b.txt" }]),
      /names another file/,
    ],
    ["local header method differs", () => {
      const zip = buildZip([{ name: "a", data: "x" }]);
      zip[8] = 8;
      return zip;
    }, /disagrees/],
    ["deflate data cut", () => {
      const entry: RawEntry = { name: "a", data: "z".repeat(5000), deflate: true };
      const zip = buildZip([entry]);
      const v = new DataView(zip.buffer);
      // Claim one byte fewer than the deflate stream needs (both headers).
      const cut = v.getUint32(18, true) - 1;
      v.setUint32(18, cut, true);
      const central = zip.length - 22 - 46 - 1;
      v.setUint32(central + 20, cut, true);
      return zip;
    }, /cut short|corrupt|smaller/],
    [
      "garbage deflate data",
      () =>
        buildZip([{ name: "a", compressed: new Uint8Array([0xff, 0xff, 0xff]), declaredSize: 3 }]),
      /corrupt/,
    ],
  ];
  for (const [label, make, reason] of cases) {
    assert.match(await failure(make()), reason, label);
  }
});

Deno.test("zip_reader: a bomb is stopped at its declared size, having produced barely more", async () => {
  // 256 MiB of zeros that claims to be 1,000 bytes.
  const bomb = buildZip([await zerosEntry("bomb.bin", 256 * 1024 * 1024, { declaredSize: 1000 })]);
  const source = bytesSource(bomb);
  const dir = await readDirectory(source);
  const [entry] = await list(bomb);
  let produced = 0;
  const err = await (async () => {
    for await (const c of readEntryData(source, entry, await dataOffset(source, entry, dir))) {
      produced += c.byteLength;
    }
  })().then(() => undefined, (e) => e);
  assert.ok(err instanceof ZipFormatError && /larger than/.test(err.message), String(err));
  assert.ok(produced <= 1000, `produced ${produced} bytes`);
});

Deno.test("zip_reader reads the central directory only as far as it is asked", async () => {
  const zip = buildZip(Array.from({ length: 20_000 }, (_, i) => ({ name: `d${i}/` })));
  let read = 0;
  const inner = bytesSource(zip);
  const counting: ZipSource = {
    size: inner.size,
    read: (offset, length) => {
      read += length;
      return inner.read(offset, length);
    },
  };
  const dir = await readDirectory(counting);
  let n = 0;
  for await (const _ of readEntries(counting, dir)) if (++n === 100) break;
  assert.ok(read < 200 * 1024, `read ${read} bytes of a ${dir.centralSize}-byte directory`);
  assert.ok(dir.centralSize > 1_000_000);
});
