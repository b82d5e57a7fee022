import assert from "node:assert/strict";
import { BodyTooLargeError, readBody } from "./read_body.ts";

/** A body of `chunks` chunks of `size` bytes that records what was pulled and whether it was cancelled. */
function source(chunks: number, size: number) {
  const seen = { pulled: 0, cancelled: false };
  const body = new ReadableStream<Uint8Array>({
    pull(c) {
      if (seen.pulled === chunks) return c.close();
      seen.pulled++;
      c.enqueue(new Uint8Array(size).fill(seen.pulled));
    },
    cancel() {
      seen.cancelled = true;
    },
  }, { highWaterMark: 0 });
  return { body, seen };
}

Deno.test("readBody: the whole body up to the limit", async () => {
  const { body } = source(4, 256);
  const bytes = await readBody({ headers: new Headers(), body }, 1024);
  assert.equal(bytes.byteLength, 1024);
  assert.deepEqual([bytes[0], bytes[256], bytes[1023]], [1, 2, 4]);
  assert.equal((await readBody(new Request("http://x/"), 0)).byteLength, 0);
  assert.deepEqual(
    await readBody(new Response("hello"), 5),
    new TextEncoder().encode("hello"),
  );
});

Deno.test("readBody: a stream past the limit is cancelled there, not read to its end", async () => {
  const { body, seen } = source(1_000_000, 1024);
  await assert.rejects(
    readBody({ headers: new Headers(), body }, 4096),
    (err) => err instanceof BodyTooLargeError && err.max === 4096,
  );
  assert.equal(seen.pulled, 5);
  assert.ok(seen.cancelled);
});

Deno.test("readBody: a declared length over the limit is refused before a byte is read", async () => {
  const { body, seen } = source(10, 1024);
  await assert.rejects(
    readBody({ headers: new Headers({ "content-length": "10240" }), body }, 4096),
    BodyTooLargeError,
  );
  assert.equal(seen.pulled, 0);
});
