import assert from "node:assert/strict";
import { BodyGuard, guardBody } from "../lib/body_guard.ts";
import { HttpError } from "./http_error.ts";
import { readJsonObject } from "./json_body.ts";

/**
 * `readJsonObject` over the network, with the guard the front door gives a
 * small declared body: its answer, and whether the guard saw the body end.
 */
async function overTheNetwork(
  bodies: (string | Uint8Array)[],
  opts: { max?: number; emptyIsObject?: boolean },
): Promise<{ value?: unknown; error?: string; ended: boolean }[]> {
  const out: { value?: unknown; error?: string; ended: boolean }[] = [];
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (req) => {
    const guard = new BodyGuard();
    guardBody(req, guard);
    try {
      out.push({ value: await readJsonObject(req, opts), ended: guard.ended });
    } catch (err) {
      const error = err instanceof HttpError ? `${err.status} ${err.code}` : (err as Error).name;
      out.push({ error, ended: guard.ended });
    }
    return new Response(null, { status: 204 });
  });
  try {
    for (const body of bodies) {
      const res = await fetch(`http://127.0.0.1:${server.addr.port}/`, {
        method: "POST",
        body: body as BodyInit,
      });
      await res.body?.cancel();
    }
  } finally {
    await server.shutdown();
  }
  return out;
}

Deno.test("readJsonObject: a small guarded body is parsed whole, a byte order mark dropped", async () => {
  const bom = new Uint8Array([0xef, 0xbb, 0xbf, ...new TextEncoder().encode('{"a":1}')]);
  const got = await overTheNetwork(['{"name":"signup"}', bom], { max: 100 });
  assert.deepEqual(got, [
    { value: { name: "signup" }, ended: true },
    { value: { a: 1 }, ended: true },
  ]);
});

Deno.test("readJsonObject: invalid JSON, null, arrays and strings are refused", async () => {
  const bodies = ["{nope", "null", "[1]", '"x"', "\ufeff\ufeff{}"];
  const got = await overTheNetwork(bodies, { max: 100, emptyIsObject: false });
  // Read to its end each time: the connection may carry the next request.
  assert.deepEqual(got, bodies.map(() => ({ error: "400 INVALID_JSON", ended: true })));
});

Deno.test("readJsonObject: a body over the limit is refused before it is read", async () => {
  const got = await overTheNetwork([JSON.stringify({ pad: "x".repeat(200) })], { max: 100 });
  assert.deepEqual(got, [{ error: "BodyTooLargeError", ended: false }]);
});

Deno.test("readJsonObject: a guarded body still arriving fails with the guard's error", async () => {
  // A body that never ends, as a stalled client's.
  const req = new Request("http://x/", {
    method: "POST",
    headers: { "content-length": "50" },
    body: new ReadableStream({ start: (c) => c.enqueue(new TextEncoder().encode('{"a":')) }),
  });
  const guard = new BodyGuard();
  guardBody(req, guard);
  const read = readJsonObject(req, { max: 100 });
  const stall = new HttpError(408, "REQUEST_TIMEOUT", "stalled");
  guard.fail(stall);
  await assert.rejects(read, (err) => err === stall);
  assert.equal(guard.ended, false);
});
