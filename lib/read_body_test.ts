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

Deno.test("readBody: a body from the network with a declared length within the limit, in one read", async () => {
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (req) => {
    const url = new URL(req.url);
    try {
      const bytes = await readBody(req, Number(url.searchParams.get("max")));
      return new Response(String(bytes.byteLength));
    } catch (err) {
      return new Response(err instanceof BodyTooLargeError ? "too large" : String(err));
    }
  });
  try {
    const post = (max: number, body: BodyInit) =>
      fetch(`http://127.0.0.1:${server.addr.port}/?max=${max}`, { method: "POST", body })
        .then((r) => r.text());
    assert.equal(await post(4096, "x".repeat(4096)), "4096");
    assert.equal(await post(4096, "x".repeat(4097)), "too large");
    assert.equal(await post(4096, ""), "0");
  } finally {
    await server.shutdown();
  }
});

Deno.test("readBody: with a declared length, the body is read whole without its stream", async () => {
  const message = (declared: number, size: number) => ({
    headers: new Headers({ "content-length": String(declared) }),
    get body(): ReadableStream<Uint8Array> {
      throw new Error("the stream was made");
    },
    bytes: () => Promise.resolve(new Uint8Array(size)),
  });
  assert.equal((await readBody(message(100, 100), 100)).byteLength, 100);
  // A message not from the network may carry more than it declares: still refused.
  await assert.rejects(readBody(message(10, 101), 100), BodyTooLargeError);
});
