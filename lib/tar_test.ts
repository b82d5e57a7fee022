import assert from "node:assert/strict";
import { findInTar, tarBytes, TarError } from "./tar.ts";

const enc = new TextEncoder();

function streamOf(bytes: Uint8Array, chunk = 700): ReadableStream<Uint8Array> {
  let at = 0;
  return new ReadableStream({
    pull(c) {
      if (at >= bytes.byteLength) return c.close();
      c.enqueue(bytes.slice(at, at + chunk));
      at += chunk;
    },
  });
}

async function run(cmd: string, args: string[], cwd: string): Promise<string> {
  const out = await new Deno.Command(cmd, { args, cwd, stdout: "piped", stderr: "piped" }).output();
  assert.ok(out.success, new TextDecoder().decode(out.stderr));
  return new TextDecoder().decode(out.stdout);
}

Deno.test("tarBytes writes what tar unpacks, with modes; findInTar reads it back", async () => {
  const dir = await Deno.makeTempDir({ prefix: "fazt-tar-" });
  try {
    const big = crypto.getRandomValues(new Uint8Array(5000));
    const long = `d/${"n".repeat(90)}/${"m".repeat(40)}.txt`;
    const tar = tarBytes([
      { path: "d/", mode: 0o755 },
      { path: "d/run", data: enc.encode("#!/bin/sh\necho hi\n"), mode: 0o755 },
      { path: "d/big.bin", data: big, mode: 0o644 },
      { path: "d/empty", data: new Uint8Array(), mode: 0o600 },
      { path: long, data: enc.encode("long"), mode: 0o644 },
    ], 1_700_000_000);
    await Deno.writeFile(`${dir}/a.tar`, tar);
    const listing = await run("tar", ["-tvf", "a.tar"], dir);
    assert.match(listing, /^-rwxr-xr-x .* d\/run$/m);
    assert.match(listing, /^-rw------- .* d\/empty$/m);
    await Deno.mkdir(`${dir}/x`);
    await run("tar", ["-xf", "../a.tar"], `${dir}/x`);
    assert.equal(await Deno.readTextFile(`${dir}/x/d/run`), "#!/bin/sh\necho hi\n");
    assert.equal((await Deno.stat(`${dir}/x/d/run`)).mode! & 0o777, 0o755);
    assert.deepEqual(await Deno.readFile(`${dir}/x/d/big.bin`), big);
    assert.equal(await Deno.readTextFile(`${dir}/x/${long}`), "long");

    assert.deepEqual(await findInTar(streamOf(tar), "d/big.bin", 10_000), big);
    assert.deepEqual(await findInTar(streamOf(tar, 1), "d/empty", 10), new Uint8Array());
    assert.equal(new TextDecoder().decode(await findInTar(streamOf(tar), long, 10)), "long");
    assert.equal(await findInTar(streamOf(tar), "d/none", 10), undefined);
    await assert.rejects(findInTar(streamOf(tar), "d/big.bin", 4999), TarError);
    await assert.rejects(findInTar(streamOf(tar.slice(0, 1200)), "d/none", 10), TarError);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("findInTar reads archives made by tar itself: gzip, pax long names", async () => {
  const dir = await Deno.makeTempDir({ prefix: "fazt-tar-" });
  try {
    const long = `package/${"p".repeat(120)}`;
    await Deno.mkdir(`${dir}/package`);
    await Deno.writeTextFile(`${dir}/package/deno`, "runtime");
    await Deno.writeTextFile(`${dir}/${long}`, "deep");
    await run("tar", ["--format=pax", "-czf", "p.tgz", "package"], dir);
    const open = async () =>
      (await Deno.open(`${dir}/p.tgz`)).readable.pipeThrough(new DecompressionStream("gzip"));
    assert.equal(
      new TextDecoder().decode(await findInTar(await open(), "package/deno", 100)),
      "runtime",
    );
    assert.equal(new TextDecoder().decode(await findInTar(await open(), long, 100)), "deep");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
