/**
 * Archive fuzzing: a seeded generator of hostile and broken archives (random
 * names and nesting, ZIP64 fields, directory floods, bombs, lying headers,
 * then byte-level mutations of headers, sizes and lengths, truncation)
 * deployed to a real server process. Every answer is a 201 or a 4xx
 * envelope, never a 5xx; a refused deploy writes nothing (every table is
 * counted before and after); an accepted one writes exactly its files; the
 * server's peak memory stays bounded (400 MB; it idles near 60 MB). A few hundred cases run with the
 * tests; `FAZT_FUZZ_CASES=10000` runs more, `FAZT_FUZZ_SEED=N` another
 * sequence (a failure names its seed and case, so it can be replayed).
 */
import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import { concatBytes } from "../lib/bytes.ts";
import { writeZip } from "../lib/zip_writer.ts";
import { Storage } from "../storage/mod.ts";
import { CliSandbox, type ServerProcess } from "./cli_runner.ts";
import { buildZip, type RawEntry, zerosEntry } from "./zip_builder.ts";

const CASES = Number(Deno.env.get("FAZT_FUZZ_CASES") ?? 300);
const SEED = Number(Deno.env.get("FAZT_FUZZ_SEED") ?? 20261129);
/**
 * The server's peak over the whole run. One hostile archive stays under
 * 150 MB (intake_memory_test.ts); over 10,000 varied deploys the peak moves
 * between 250 and 340 MB and comes back down (two compression workers,
 * V8's heap, the allocator's fragmentation), where a leak would only climb:
 * before the compressor replaced its workers, brotli's ~10 KB per call had
 * it climbing steadily.
 */
const BOUND_KB = 400 * 1000;
const TABLES = ["apps", "versions", "files", "contents", "content_chunks", "builds", "doc_indexes"];
const te = new TextEncoder();

/** mulberry32: small, seeded, good enough to pick mutations. */
function prng(seed: number) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return {
    next,
    int: (lo: number, hi: number) => lo + Math.floor(next() * (hi - lo + 1)),
    chance: (p: number) => next() < p,
    pick: <T>(xs: readonly T[]): T => xs[Math.floor(next() * xs.length)],
    bytes(n: number): Uint8Array {
      const words = new Uint32Array(Math.ceil(n / 4));
      for (let i = 0; i < words.length; i++) words[i] = next() * 4294967296;
      return new Uint8Array(words.buffer, 0, n);
    },
  };
}
type Rng = ReturnType<typeof prng>;

const HOSTILE_NAMES = [
  "../escape.txt",
  "a/../../etc/passwd",
  "/etc/passwd",
  "C:/win.ini",
  "a\\b.txt",
  "nul\0byte.html",
  "",
  "a//b.txt",
  "./dot.txt",
  "tab\there.txt",
  "__MACOSX/._index.html",
  ".DS_Store",
  "deep/.DS_Store",
  "x".repeat(1000),
  "é/ñ/日本語.html",
  "\u202Egnp.exe",
  "api",
  "api/",
  "manifest.json",
];

function randomName(r: Rng, i: number): string {
  if (r.chance(0.15)) return r.pick(HOSTILE_NAMES);
  const depth = r.chance(0.05) ? r.int(20, 200) : r.int(0, 3);
  const dirs = Array.from({ length: depth }, (_, d) => `d${d % 7}`);
  const ext = r.pick(["html", "js", "css", "txt", "bin", "json", "svg", ""]);
  return [...dirs, `f${i}${ext ? "." + ext : ""}`].join("/");
}

function randomData(r: Rng): Uint8Array {
  const size = r.pick([0, 1, 10, 100, 3000, 40_000, 70_000, 1_200_000]);
  if (r.chance(0.4)) return te.encode("<p>fuzz</p>".repeat(Math.ceil(size / 11)).slice(0, size));
  if (r.chance(0.2)) return new Uint8Array(size);
  return r.bytes(Math.min(size, 100_000));
}

/** A structurally varied archive: names, nesting, kinds, lies in the headers. */
async function randomArchive(r: Rng, bombs: RawEntry[]): Promise<Uint8Array> {
  if (r.chance(0.08)) {
    // A directory flood, sometimes with a count that lies.
    const n = r.int(500, 5000);
    const entries: RawEntry[] = Array.from({ length: n }, (_, i) => ({ name: `dir${i}/` }));
    if (r.chance(0.5)) entries.push({ name: "index.html", data: "x" });
    return buildZip(entries, r.chance(0.3) ? { declaredEntries: r.int(0, n * 2) } : {});
  }
  if (r.chance(0.05)) {
    // Many files, around the file limit (200 here).
    const n = r.int(150, 260);
    const entries: RawEntry[] = Array.from({ length: n }, (_, i) => ({
      name: `many/f${i}.txt`,
      data: `file ${i}`,
      deflate: r.chance(0.5),
    }));
    return buildZip(entries);
  }
  if (r.chance(0.06)) {
    // Large files: stored as chunks, or past the unpacked limit (8 MiB here).
    const n = r.int(1, 4);
    return buildZip(Array.from({ length: n }, (_, i) => ({
      name: `big${i}.bin`,
      data: r.bytes(r.int(1_000_000, 3_200_000)),
      deflate: r.chance(0.3),
    })));
  }
  if (r.chance(0.1)) {
    // A fazt-written site, then mutated below.
    const files = Array.from({ length: r.int(1, 6) }, (_, i) => ({
      path: randomName(r, i).replace(/^\/+/, "") || "index.html",
      data: randomData(r),
      compress: r.chance(0.7),
    }));
    const unique = [...new Map(files.map((f) => [f.path, f])).values()];
    try {
      return await writeZip(unique);
    } catch {
      return te.encode("PK\x05\x06");
    }
  }
  const entries: RawEntry[] = [];
  const n = r.int(0, 10);
  for (let i = 0; i < n; i++) {
    if (r.chance(0.04)) {
      entries.push({ ...r.pick(bombs), name: `bomb${i}.bin` });
      continue;
    }
    const e: RawEntry = { name: randomName(r, i), data: randomData(r) };
    if (r.chance(0.6)) e.deflate = true;
    if (r.chance(0.15)) e.zip64 = true;
    if (r.chance(0.03)) e.encrypted = true;
    if (r.chance(0.03)) e.unixMode = r.pick([0o120777, 0o040755, 0o100644]);
    if (r.chance(0.04)) e.declaredSize = r.pick([0, 1, 10, 0xfffffffe, r.int(0, 2_000_000)]);
    if (r.chance(0.04)) e.crc = r.int(0, 0xffffffff);
    if (r.chance(0.03)) e.method = r.pick([1, 9, 12, 14, 93, 99]);
    if (r.chance(0.03)) e.localName = randomName(r, i + 1000);
    if (r.chance(0.05) && entries.length) e.name = r.pick(entries).name; // duplicate
    if (r.chance(0.05)) e.name += "/"; // a folder with data
    entries.push(e);
  }
  if (r.chance(0.15)) {
    entries.push({
      name: "manifest.json",
      data: JSON.stringify({
        indexes: { c: Array.from({ length: r.int(0, 40) }, (_, i) => `f${i}`) },
      }),
    });
  }
  return buildZip(entries, {
    zip64: r.chance(0.15),
    comment: r.chance(0.1) ? "c".repeat(r.int(0, 300)) : undefined,
    declaredEntries: r.chance(0.05) ? r.int(0, 70_000) : undefined,
  });
}

/** Offsets of ZIP signatures in `zip`: where header fields worth mutating are. */
function signatures(zip: Uint8Array): number[] {
  const out: number[] = [];
  for (let i = 0; i + 3 < zip.length; i++) {
    if (zip[i] === 0x50 && zip[i + 1] === 0x4b && zip[i + 2] <= 7 && zip[i + 3] <= 8) out.push(i);
  }
  return out;
}

const BOUNDARY_VALUES = [0, 1, 0x7f, 0xff, 0xffff, 0xfffe, 0x10000, 0x7fffffff, 0xffffffff];

/** Byte-level damage: header fields set to edge values, flips, cuts, insertions. */
function mutate(r: Rng, input: Uint8Array): Uint8Array {
  let zip = new Uint8Array(input);
  const count = r.int(1, 3);
  for (let m = 0; m < count && zip.length > 0; m++) {
    const sigs = signatures(zip);
    switch (r.int(0, 5)) {
      case 0: { // a header field (sizes, counts, lengths, offsets, methods, flags)
        if (!sigs.length) break;
        const at = r.pick(sigs) +
          r.pick([4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30, 32, 34, 42, 48]);
        const width = r.pick([2, 4]);
        if (at + width > zip.length) break;
        const v = new DataView(zip.buffer, zip.byteOffset, zip.byteLength);
        const value = r.chance(0.7) ? r.pick(BOUNDARY_VALUES) : r.int(0, 0xffffffff);
        if (width === 2) v.setUint16(at, value & 0xffff, true);
        else v.setUint32(at, value >>> 0, true);
        break;
      }
      case 1: // flip bytes
        for (let k = r.int(1, 8); k > 0; k--) zip[r.int(0, zip.length - 1)] ^= 1 << r.int(0, 7);
        break;
      case 2: // truncate
        zip = zip.slice(0, r.int(0, zip.length - 1));
        break;
      case 3: { // insert bytes
        const at = r.int(0, zip.length);
        zip = concatBytes([zip.subarray(0, at), r.bytes(r.int(1, 64)), zip.subarray(at)]);
        break;
      }
      case 4: { // delete a range
        const at = r.int(0, zip.length - 1);
        zip = concatBytes([zip.subarray(0, at), zip.subarray(at + r.int(1, 64))]);
        break;
      }
      case 5: { // append or prepend junk
        const junk = r.bytes(r.int(1, 200));
        zip = r.chance(0.5) ? concatBytes([zip, junk]) : concatBytes([junk, zip]);
        break;
      }
    }
  }
  return zip;
}

function peakKb(pid: number): number {
  const status = Deno.readTextFileSync(`/proc/${pid}/status`);
  return Number(/^VmHWM:\s+(\d+) kB/m.exec(status)![1]);
}

Deno.test(`archive fuzzing: ${CASES} generated archives (seed ${SEED})`, async () => {
  const sandbox = await CliSandbox.create();
  let server: ServerProcess | undefined;
  let db: DatabaseSync | undefined;
  try {
    const storage = Storage.open(sandbox.db);
    // Small limits, so floods and bombs meet them fast.
    for (
      const [k, v] of Object.entries({
        max_files: 200,
        max_unpacked_bytes: 8 * 1024 * 1024,
        max_upload_bytes: 16 * 1024 * 1024,
        app_max_indexes: 16,
      })
    ) storage.settings.set(k, v);
    const token = storage.tokens.create("fuzz", "admin").token;
    storage.close();
    const node = server = await sandbox.startServer();
    db = new DatabaseSync(sandbox.db, { readOnly: true });
    const counts = () =>
      TABLES.map((t) =>
        Number((db!.prepare(`SELECT COUNT(*) AS n FROM ${t}`).get() as { n: number }).n)
      );
    const bombs = [
      await zerosEntry("b", 32 * 1024 * 1024),
      await zerosEntry("b", 32 * 1024 * 1024, { declaredSize: 5000 }),
      await zerosEntry("b", 4 * 1024 * 1024, { crc: 7 }),
    ];
    const r = prng(SEED);
    const tally = { accepted: 0, refused: 0 } as Record<string, number>;
    for (let i = 0; i < CASES; i++) {
      const label = `seed ${SEED} case ${i}`;
      let zip = await randomArchive(r, bombs);
      if (r.chance(0.5)) zip = mutate(r, zip);
      const before = counts();
      const res: Response = await fetch(`${node.base}/api/deploy?name=fuzz${i}`, {
        method: "POST",
        body: zip as Uint8Array<ArrayBuffer>,
        headers: { "content-type": "application/zip", authorization: `Bearer ${token}` },
        signal: AbortSignal.timeout(60_000),
      });
      const text: string = await res.text();
      assert.ok(res.status < 500, `${label}: ${res.status} ${text}`);
      const body = JSON.parse(text);
      const after = counts();
      if (res.status === 201) {
        tally.accepted++;
        const [apps, versions, files] = after;
        assert.deepEqual(
          [apps - before[0], versions - before[1], files - before[2]],
          [1, 1, body.data.files],
          `${label}: an accepted deploy writes one version with its files`,
        );
      } else {
        tally.refused++;
        assert.match(body.error.code, /^[A-Z_]+$/, `${label}: ${text}`);
        assert.deepEqual(
          after,
          before,
          `${label}: refused with ${text}, yet something was written`,
        );
        const c = String(body.error.details?.constraint ?? body.error.code);
        tally[c] = (tally[c] ?? 0) + 1;
      }
    }
    const spool = sandbox.db.replace(/\/[^/]*$/, "/tmp");
    assert.deepEqual([...Deno.readDirSync(spool)], [], "no spool file is left");
    assert.ok(peakKb(node.proc.pid) < BOUND_KB, `peak ${peakKb(node.proc.pid)} kB`);
    assert.equal((await fetch(`${node.base}/health`)).status, 200);
    assert.ok(tally.accepted > 0 && tally.refused > 0, JSON.stringify(tally));
  } finally {
    db?.close();
    await server?.kill();
    await sandbox.remove();
  }
});
