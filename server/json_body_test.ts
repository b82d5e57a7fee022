import assert from "node:assert/strict";
import { BodyGuard, guardBody } from "../lib/body_guard.ts";
import { HttpError } from "./http_error.ts";
import { readJsonObject } from "./json_body.ts";

/** A request as the front door hands a small declared body over: with its guard. */
function guarded(body: string | Uint8Array): { req: Request; guard: BodyGuard } {
  const bytes = typeof body === "string" ? new TextEncoder().encode(body) : body;
  const req = new Request("http://x/", {
    method: "POST",
    headers: { "content-length": String(bytes.byteLength) },
    body: bytes as Uint8Array<ArrayBuffer>,
  });
  const guard = new BodyGuard();
  guardBody(req, guard);
  return { req, guard };
}

const code = (err: unknown) => err instanceof HttpError ? `${err.status} ${err.code}` : String(err);

Deno.test("readJsonObject oneCall: a guarded body within the limit is parsed whole", async () => {
  const { req, guard } = guarded('{"name":"signup"}');
  assert.deepEqual(await readJsonObject(req, { max: 100, oneCall: true }), { name: "signup" });
  assert.ok(guard.ended, "read to its end: the connection may carry the next request");
});

Deno.test("readJsonObject oneCall: invalid JSON, null and arrays are refused", async () => {
  for (const body of ["{nope", "null", "[1]", '"x"']) {
    const { req, guard } = guarded(body);
    await assert.rejects(
      readJsonObject(req, { max: 100, emptyIsObject: false, oneCall: true }),
      (err) => code(err) === "400 INVALID_JSON",
      body,
    );
    assert.ok(guard.ended, body);
  }
});

Deno.test("readJsonObject oneCall: a guarded body over the limit is refused before it is read", async () => {
  const { req } = guarded(JSON.stringify({ pad: "x".repeat(200) }));
  await assert.rejects(
    readJsonObject(req, { max: 100, oneCall: true }),
    (err) => (err as Error).name === "BodyTooLargeError",
  );
  assert.equal(req.bodyUsed, false);
});

Deno.test("readJsonObject oneCall: a guard the door fails ends the read with its error", async () => {
  // A body that never ends, as a stalled client's.
  const req = new Request("http://x/", {
    method: "POST",
    headers: { "content-length": "50" },
    body: new ReadableStream({ start: (c) => c.enqueue(new TextEncoder().encode('{"a":')) }),
  });
  const guard = new BodyGuard();
  guardBody(req, guard);
  const read = readJsonObject(req, { max: 100, oneCall: true });
  const stall = new HttpError(408, "REQUEST_TIMEOUT", "stalled");
  guard.fail(stall);
  await assert.rejects(read, (err) => err === stall);
  assert.equal(guard.ended, false);
});
