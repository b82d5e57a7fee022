import assert from "node:assert/strict";
import { brotliDecompressSync, gunzipSync } from "node:zlib";
import { waitFor } from "../tests/deadline.ts";
import { Compressor } from "./compress.ts";

const text = new TextEncoder().encode("<p>hello, compressible world</p>\n".repeat(2000));

Deno.test("Compressor makes gzip and brotli variants that decompress to the input", async () => {
  const c = new Compressor(2, 50);
  try {
    const results = await Promise.all(
      [text, text.slice(1), text.slice(2)].map((d) => c.compress(d)),
    );
    assert.ok(c.workers <= 2, "never more workers than its size");
    for (const [i, v] of results.entries()) {
      assert.deepEqual(new Uint8Array(gunzipSync(v.gzip!)), text.slice(i));
      assert.deepEqual(new Uint8Array(brotliDecompressSync(v.br!)), text.slice(i));
    }
  } finally {
    c.close();
  }
});

Deno.test("Compressor keeps no variant that does not save 10 %, and skips tiny files", async () => {
  const c = new Compressor(1, 50);
  try {
    const noise = crypto.getRandomValues(new Uint8Array(20_000));
    assert.deepEqual(await c.compress(noise), { gzip: undefined, br: undefined });
    assert.deepEqual(await c.compress(new Uint8Array(100)), {});
  } finally {
    c.close();
  }
});

Deno.test("Compressor stops its workers when idle and refuses work once closed", async () => {
  const c = new Compressor(1, 30);
  await c.compress(text);
  assert.equal(c.workers, 1);
  await waitFor(() => c.workers === 0, "the idle worker to stop");
  assert.equal(c.workers, 0, "idle workers stopped");
  const again = await c.compress(text);
  assert.ok(again.gzip, "starts a worker again on demand");
  const pending = c.compress(text);
  c.close();
  await assert.rejects(pending, /closed/);
  await assert.rejects(c.compress(text), /closed/);
  assert.equal(c.workers, 0);
});

Deno.test("Compressor drops a worker that hangs past the timeout and goes on with a new one", async () => {
  const c = new Compressor(1, 1000, 5);
  try {
    const big = new TextEncoder().encode("lorem ipsum dolor sit amet ".repeat(400_000));
    await assert.rejects(c.compress(big), /timed out/);
    assert.equal(c.workers, 0, "the hung worker is gone");
    c.jobTimeoutMs = 60_000;
    assert.ok((await c.compress(text)).gzip, "the next job gets a new worker");
  } finally {
    c.close();
  }
});

Deno.test("Compressor starts a job only within its byte budget (one always may run)", async () => {
  const c = new Compressor(2, 1000, 60_000, text.byteLength + 1);
  try {
    const jobs = [c.compress(text), c.compress(text.slice(1))];
    assert.equal(c.workers, 1, "the second job waits: two would pass the budget");
    const [a, b] = await Promise.all(jobs);
    assert.ok(a.gzip && b.gzip, "both done, one after the other");
    const wide = new Compressor(2, 1000, 60_000, 2 * text.byteLength);
    try {
      const both = [wide.compress(text), wide.compress(text.slice(1))];
      assert.equal(wide.workers, 2, "within the budget both run at once");
      await Promise.all(both);
    } finally {
      wide.close();
    }
  } finally {
    c.close();
  }
});

Deno.test("Compressor replaces a worker after jobsPerWorker jobs", async () => {
  const c = new Compressor(1, 1000, 60_000, 16 * 1024 * 1024, 2);
  try {
    await c.compress(text);
    assert.equal(c.workers, 1);
    await c.compress(text.slice(1));
    assert.equal(c.workers, 0, "retired after its second job");
    const third = await c.compress(text.slice(2));
    assert.deepEqual(new Uint8Array(gunzipSync(third.gzip!)), text.slice(2), "a new one took over");
    assert.equal(c.workers, 1);
  } finally {
    c.close();
  }
});
