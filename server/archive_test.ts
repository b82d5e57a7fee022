import assert from "node:assert/strict";
import { concatBytes } from "../lib/bytes.ts";
import { sha256Hex } from "../lib/secrets.ts";
import { bytesSource, type ZipSource } from "../lib/zip_reader.ts";
import { writeZip } from "../lib/zip_writer.ts";
import { buildZip, zerosEntry } from "../tests/zip_builder.ts";
import {
  type ArchiveFile,
  type ArchiveLimits,
  maxEntries,
  openArchive,
  readArchive,
  unsafePathReason,
} from "./archive.ts";
import { HttpError } from "./http_error.ts";

const te = new TextEncoder();

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
  // The reason is shown to whoever deployed: it names the first thing wrong.
  const reasons: [string, string][] = [
    ["/etc/passwd", "is absolute"],
    ["/x", "is absolute"],
    ["C:/x", "is absolute"],
    ["a/../x", "has a '..' segment"],
    ["a//b", "has an empty or '.' segment"],
    ["./a", "has an empty or '.' segment"],
    ["a\\b", "contains a backslash"],
    ["a\0b", "contains a NUL byte"],
    ["a\tb", "contains a control character"],
  ];
  for (const [name, reason] of reasons) {
    assert.equal(unsafePathReason(name), reason, JSON.stringify(name));
  }
});

/** A deflated ZIP of `files` (path → text or bytes), written by fazt's own writer. */
function makeZip(files: Record<string, string | Uint8Array>) {
  return writeZip(
    Object.entries(files).map(([path, data]) => ({
      path,
      data: typeof data === "string" ? new TextEncoder().encode(data) : data,
      compress: true,
    })),
  );
}

const LIMITS: ArchiveLimits = { maxFiles: 100, maxUnpackedBytes: 10_000_000, maxRatio: 200 };
const text = (files: ArchiveFile[]) =>
  Object.fromEntries(files.map((f) => [f.path, new TextDecoder().decode(f.data)]));

/** The HttpError `readArchive` refuses with: its status and constraint. */
async function refusal(zip: Uint8Array | ZipSource, limits: ArchiveLimits) {
  const err = await readArchive(zip, limits).then(() => undefined, (e) => e);
  assert.ok(err instanceof HttpError, `refused with an HttpError, got ${err}`);
  return { status: err.status, constraint: (err.details as { constraint: string }).constraint };
}

Deno.test("readArchive strips one shared top folder, never api/, never a mere prefix", async () => {
  assert.deepEqual(
    text(await readArchive(await makeZip({ "site/index.html": "i", "site/a/b.txt": "b" }), LIMITS)),
    { "index.html": "i", "a/b.txt": "b" },
  );
  // A server-only app: everything under api/, which is where its code must stay.
  assert.deepEqual(
    Object.keys(text(await readArchive(await makeZip({ "api/main.ts": "x" }), LIMITS))),
    ["api/main.ts"],
  );
  // `app/` and `app2/` share a prefix, not a folder.
  assert.deepEqual(
    Object.keys(text(await readArchive(await makeZip({ "app/a": "1", "app2/b": "2" }), LIMITS))),
    ["app/a", "app2/b"],
  );
  assert.deepEqual(
    Object.keys(text(await readArchive(await makeZip({ "index.html": "x", "a/b": "y" }), LIMITS))),
    ["index.html", "a/b"],
  );
});

Deno.test("readArchive: the unpacked-size limit holds to the byte", async () => {
  const zip = await makeZip({ "a.bin": new Uint8Array(600), "b.bin": new Uint8Array(400) });
  const exact = { ...LIMITS, maxUnpackedBytes: 1000 };
  assert.equal((await readArchive(zip, exact)).length, 2, "exactly at the limit is fine");
  assert.deepEqual(await refusal(zip, { ...exact, maxUnpackedBytes: 999 }), {
    status: 413,
    constraint: "max_unpacked_bytes",
  });
});

Deno.test("readArchive: the file-count limit holds to the file; junk does not count", async () => {
  const files = Object.fromEntries(Array.from({ length: 5 }, (_, i) => [`f${i}`, "x"]));
  const zip = await makeZip({ ...files, ".DS_Store": "junk", "__MACOSX/._f0": "junk" });
  assert.equal((await readArchive(zip, { ...LIMITS, maxFiles: 5 })).length, 5);
  assert.deepEqual(await refusal(zip, { ...LIMITS, maxFiles: 4 }), {
    status: 413,
    constraint: "max_files",
  });
});

Deno.test("readArchive: small files may compress well; the ratio limit starts at 1 MiB", async () => {
  // 512 KiB of zeros deflates more than 200 times, but is too small to be a bomb.
  const zeros = new Uint8Array(512 * 1024);
  const zip = await makeZip({ "zeros.bin": zeros, "index.html": "x" });
  const files = await readArchive(zip, LIMITS);
  assert.deepEqual(files.find((f) => f.path === "zeros.bin")?.data, zeros);
  const bomb = await makeZip({ "bomb.bin": new Uint8Array(2 * 1024 * 1024) });
  assert.deepEqual(await refusal(bomb, LIMITS), { status: 400, constraint: "zip_bomb" });
  assert.equal((await readArchive(bomb, { ...LIMITS, maxRatio: 100_000 })).length, 1);
});

/** A source that counts the bytes read from it. */
function counted(zip: Uint8Array): ZipSource & { read_bytes: number } {
  const inner = bytesSource(zip);
  const source = {
    size: inner.size,
    read_bytes: 0,
    read(offset: number, length: number) {
      source.read_bytes += length;
      return inner.read(offset, length);
    },
  };
  return source;
}

Deno.test("readArchive: entries of every kind are counted, folders included, as they are parsed", async () => {
  const limits = { ...LIMITS, maxFiles: 10 };
  const most = maxEntries(limits);
  assert.equal(most, 10 * 4 + 1024);
  const folders = (n: number) => Array.from({ length: n }, (_, i) => ({ name: `d${i}/` }));
  const atLimit = buildZip([...folders(most - 1), { name: "index.html", data: "x" }]);
  assert.equal((await readArchive(atLimit, limits)).length, 1, "exactly at the limit is fine");
  // An honest end record is refused before the central directory is read.
  const flood = counted(buildZip(folders(20_000)));
  assert.deepEqual(await refusal(flood, limits), { status: 413, constraint: "max_entries" });
  assert.ok(flood.read_bytes < 128 * 1024, `read ${flood.read_bytes} of ${flood.size} bytes`);
  // One that understates its count is refused at the first entry past the limit…
  const liar = counted(buildZip(folders(20_000), { declaredEntries: 100 }));
  assert.deepEqual(await refusal(liar, limits), { status: 400, constraint: "zip" });
  assert.ok(liar.read_bytes < 256 * 1024, `read ${liar.read_bytes} of ${liar.size} bytes`);
  // …and one that overstates it at the first entry past the limit too.
  const past = counted(buildZip(folders(20_000), { declaredEntries: most }));
  assert.deepEqual(await refusal(past, limits), { status: 400, constraint: "zip" });
  assert.ok(past.read_bytes < 256 * 1024, `read ${past.read_bytes} of ${past.size} bytes`);
});

Deno.test("readArchive: declared sizes are limits before anything is inflated", async () => {
  // A bomb whose header tells the truth: refused from the directory alone.
  const honest = counted(buildZip([await zerosEntry("bomb.bin", 64 * 1024 * 1024)]));
  assert.deepEqual(await refusal(honest, { ...LIMITS, maxUnpackedBytes: 4096 * 1024 * 1024 }), {
    status: 400,
    constraint: "zip_bomb",
  });
  assert.ok(honest.read_bytes < 128 * 1024, "no data was read");
  const big = buildZip([await zerosEntry("big.bin", 20 * 1024 * 1024)]);
  assert.deepEqual(await refusal(big, { ...LIMITS, maxRatio: 100_000 }), {
    status: 413,
    constraint: "max_unpacked_bytes",
  });
  // One that lies is stopped at its declared size.
  const liar = buildZip([
    await zerosEntry("bomb.bin", 16 * 1024 * 1024, { declaredSize: 100 }),
  ]);
  assert.deepEqual(await refusal(liar, LIMITS), { status: 400, constraint: "zip" });
});

/** The central record of the one entry of a `buildZip` archive. */
function centralOf(zip: Uint8Array): Uint8Array {
  const at = zip.findIndex((_, i) =>
    zip[i] === 0x50 && zip[i + 1] === 0x4b && zip[i + 2] === 1 && zip[i + 3] === 2
  );
  return zip.slice(at, zip.length - 22);
}

/** `outer`'s archive with one more central record appended (counts and sizes fixed). */
function withCentral(outer: Uint8Array, extra: Uint8Array): Uint8Array {
  const end = outer.length - 22;
  const out = new Uint8Array([...outer.slice(0, end), ...extra, ...outer.slice(end)]);
  const v = new DataView(out.buffer);
  const eocd = out.length - 22;
  v.setUint16(eocd + 8, v.getUint16(eocd + 8, true) + 1, true);
  v.setUint16(eocd + 10, v.getUint16(eocd + 10, true) + 1, true);
  v.setUint32(eocd + 12, v.getUint32(eocd + 12, true) + extra.length, true);
  return out;
}

Deno.test("readArchive refuses overlapping entries and methods it cannot read", async () => {
  // Entry b's local header and data lie inside entry a's data: two files
  // out of one set of bytes, as bombs that reuse one kernel are built.
  const inner = buildZip([{ name: "b", data: "inner" }]);
  const outer = buildZip([{ name: "a", data: inner.slice(0, 30 + 1 + 5) }]);
  const b = centralOf(inner);
  new DataView(b.buffer).setUint32(42, 30 + 1, true); // b's local header: a's data
  const overlapping = withCentral(outer, b);
  const err = await readArchive(overlapping, LIMITS).then(() => undefined, (e) => e);
  assert.ok(err instanceof HttpError, String(err));
  assert.equal((err.details as { constraint: string }).constraint, "zip");
  assert.match(err.message, /overlap/);
  // A method it cannot read is refused from the directory, before any entry is read.
  const lzma = counted(buildZip([
    { name: "big.bin", data: new Uint8Array(2 * 1024 * 1024) },
    { name: "a", data: "x", method: 14 },
  ]));
  assert.deepEqual(await refusal(lzma, { ...LIMITS, maxRatio: 100_000 }), {
    status: 400,
    constraint: "zip",
  });
  assert.ok(lzma.read_bytes < 128 * 1024, `read ${lzma.read_bytes} bytes`);
});

Deno.test("openArchive keeps small files in memory and reads the rest again, checked", async () => {
  const big = new Uint8Array(3 * 1024 * 1024).map((_, i) => (i * 31) % 251);
  const zip = await makeZip({
    "site/index.html": "home",
    "site/big.bin": big,
    "site/api/main.ts": "export default () => new Response('x');",
  });
  const archive = await openArchive(zip, LIMITS, {
    keepBytes: 0,
    mustKeep: (path) => path.startsWith("api/"),
  });
  const byPath = Object.fromEntries(archive.files.map((f) => [f.path, f]));
  assert.deepEqual(Object.keys(byPath), ["index.html", "big.bin", "api/main.ts"]);
  assert.equal(byPath["index.html"].data, undefined, "nothing kept with no budget");
  assert.equal(byPath["big.bin"].data, undefined);
  assert.ok(byPath["api/main.ts"].data, "server code is always kept");
  const again: Uint8Array[] = [];
  for await (const c of archive.read(byPath["big.bin"])) again.push(c);
  assert.deepEqual(concatBytes(again), big);
  assert.equal(byPath["big.bin"].hash, sha256Hex(big));
  assert.equal(byPath["big.bin"].size, big.length);
  const kept = await openArchive(zip, LIMITS);
  assert.deepEqual(kept.files.find((f) => f.path === "index.html")?.data, te.encode("home"));
  assert.equal(kept.files.find((f) => f.path === "big.bin")?.data, undefined, "over 1 MiB");
});
