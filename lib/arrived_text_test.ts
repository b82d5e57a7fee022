import assert from "node:assert/strict";
import { arrivedText } from "./arrived_text.ts";

Deno.test("arrivedText: a body Deno received whole, once; nothing for other requests", async () => {
  const seen: unknown[] = [];
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (req) => {
    if (new URL(req.url).pathname === "/read-first") await req.bytes();
    const text = arrivedText(req);
    seen.push([text, req.bodyUsed, arrivedText(req)]);
    return new Response(null, { status: 204 });
  });
  try {
    const post = (path: string, body: string) =>
      fetch(`http://127.0.0.1:${server.addr.port}${path}`, { method: "POST", body })
        .then((r) => r.body?.cancel());
    await post("/", '{"name":"signup","x":"é"}');
    await post("/read-first", "{}");
    // Taken whole and marked used; a second call has nothing more.
    assert.deepEqual(seen[0], ['{"name":"signup","x":"é"}', true, undefined]);
    // A body already read is not there to take.
    assert.deepEqual(seen[1], [undefined, true, undefined]);
  } finally {
    await server.shutdown();
  }
  // Not from the network: read as a stream by the caller.
  const req = new Request("http://x/", { method: "POST", body: "hi" });
  assert.equal(arrivedText(req), undefined);
  assert.equal(await req.text(), "hi");
});
