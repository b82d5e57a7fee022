import assert from "node:assert/strict";
import { writeZip } from "../lib/zip_writer.ts";
import { type ArchiveFile, type ArchiveLimits, readArchive, unsafePathReason } from "./archive.ts";
import { HttpError } from "./http_error.ts";

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
async function refusal(zip: Uint8Array, limits: ArchiveLimits) {
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
