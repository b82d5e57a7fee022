import assert from "node:assert/strict";
import { ApiError, readEnvelope } from "./envelope.ts";

const json = (body: unknown, status = 200) =>
  new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json" } });

async function refusal(res: Response): Promise<ApiError> {
  const err = await readEnvelope(res).then(
    () => assert.fail("expected a refusal"),
    (e: unknown) => e,
  );
  assert.ok(err instanceof ApiError, String(err));
  return err;
}

Deno.test("readEnvelope gives the envelope's data", async () => {
  assert.deepEqual(await readEnvelope(json({ data: { name: "blog" } })), { name: "blog" });
  assert.deepEqual(await readEnvelope(json({ data: [] }, 201)), []);
  assert.equal(await readEnvelope(json({ data: null })), null);
});

Deno.test("readEnvelope throws the node's error, whatever the status", async () => {
  const details = { field: "name", constraint: "required" };
  for (const status of [400, 200]) {
    const err = await refusal(
      json({ error: { code: "VALIDATION_FAILED", message: "name is required", details } }, status),
    );
    assert.equal(err.kind, "api");
    assert.equal(err.status, status);
    assert.equal(err.code, "VALIDATION_FAILED");
    assert.equal(err.message, "name is required");
    assert.deepEqual(err.details, details);
  }
  const bare = await refusal(json({ error: {} }, 500));
  assert.equal(bare.code, "ERROR");
  assert.equal(bare.details, undefined);
});

Deno.test("readEnvelope refuses answers that are not fazt's envelope", async () => {
  const status = await refusal(json({ ok: false }, 502));
  assert.equal(status.kind, "status");
  assert.equal(status.code, "HTTP_502");
  const html = await refusal(new Response("<h1>Bad Gateway</h1>", { status: 502 }));
  assert.equal(html.kind, "not_json");
  assert.equal(html.code, "BAD_RESPONSE");
  assert.match(html.message, /502 with something that is not fazt's API/);
  const ok = await refusal(new Response("hello", { status: 200 }));
  assert.equal(ok.kind, "not_json");
});

Deno.test("readEnvelope reports a body that breaks off", async () => {
  const body = new ReadableStream<Uint8Array>({
    start(c) {
      c.enqueue(new TextEncoder().encode('{"data":'));
      c.error(new Error("connection reset"));
    },
  });
  const err = await refusal(new Response(body, { status: 200 }));
  assert.equal(err.kind, "unreadable");
  assert.equal(err.code, "UNREACHABLE");
});

Deno.test("readEnvelope stops reading an answer without end at its limit", async () => {
  let sent = 0;
  let cancelled!: () => void;
  const gone = new Promise<void>((resolve) => cancelled = resolve);
  const chunk = new Uint8Array(64 * 1024).fill(0x20);
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, () =>
    new Response(
      new ReadableStream({
        pull(c) {
          sent += chunk.byteLength;
          c.enqueue(chunk);
        },
        cancel: () => cancelled(),
      }),
      { headers: { "content-type": "application/json" } },
    ));
  try {
    const res = await fetch(`http://127.0.0.1:${server.addr.port}/`);
    const max = 1024 * 1024;
    const err = await readEnvelope(res, max).then(
      () => assert.fail("expected a refusal"),
      (e: unknown) => e,
    );
    assert.ok(err instanceof ApiError);
    assert.equal(err.kind, "too_large");
    assert.equal(err.code, "RESPONSE_TOO_LARGE");
    await gone;
    // What the server managed to queue before the client hung up: bounded.
    assert.ok(sent < 64 * max, `${sent} bytes sent`);
  } finally {
    await server.shutdown();
  }
});

Deno.test("readEnvelope refuses a declared length over its limit before reading", async () => {
  const res = new Response(
    new ReadableStream({ pull: () => assert.fail("the body was read") }),
    { headers: { "content-length": String(2 * 1024 * 1024) } },
  );
  const err = await readEnvelope(res, 1024 * 1024).then(
    () => assert.fail("expected a refusal"),
    (e: unknown) => e,
  );
  assert.ok(err instanceof ApiError);
  assert.equal(err.code, "RESPONSE_TOO_LARGE");
});
