import assert from "node:assert/strict";
import { fetchLimited, FetchLimitError } from "./fetch_limited.ts";
import { releaseUrlProblem } from "./release_url.ts";

async function withServer(
  handler: (req: Request) => Response,
  fn: (base: string) => Promise<void>,
): Promise<void> {
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, handler);
  try {
    await fn(`http://127.0.0.1:${server.addr.port}`);
  } finally {
    await server.shutdown();
  }
}

/** A body sent in chunks with no Content-Length, so only counting can stop it. */
function chunked(chunks: number, size: number): Response {
  let sent = 0;
  return new Response(
    new ReadableStream({
      pull(c) {
        if (sent++ === chunks) return c.close();
        c.enqueue(new Uint8Array(size));
      },
    }),
  );
}

const limits = { maxBytes: 1000, timeoutMs: 10_000, urlProblem: releaseUrlProblem };

async function refused(p: Promise<unknown>, reason: FetchLimitError["reason"], pattern: RegExp) {
  const err = await p.then(() => undefined, (e) => e);
  assert.ok(err instanceof FetchLimitError, `refused: ${err}`);
  assert.equal(err.reason, reason);
  assert.match(err.message, pattern);
}

Deno.test("fetchLimited: bodies within the limit, redirects followed where allowed", () =>
  withServer((req) => {
    const path = new URL(req.url).pathname;
    if (path === "/ok") return new Response("fine");
    if (path === "/hop") return Response.redirect(new URL("/ok", req.url), 302);
    if (path === "/away") return Response.redirect("http://example.com/x", 302);
    if (path === "/loop") return Response.redirect(new URL("/loop", req.url), 302);
    if (path === "/big") return new Response(new Uint8Array(5000));
    if (path === "/stream") return chunked(20, 100);
    return new Response("no", { status: 404 });
  }, async (base) => {
    const ok = await fetchLimited(`${base}/hop`, limits);
    assert.equal(new TextDecoder().decode(ok.bytes), "fine");
    assert.equal(ok.url, `${base}/ok`);
    await refused(fetchLimited(`${base}/away`, limits), "url", /example\.com.*https/);
    await refused(fetchLimited(`${base}/loop`, limits), "unreachable", /redirects/);
    await refused(fetchLimited(`${base}/big`, limits), "too_large", /larger than 1000/);
    await refused(fetchLimited(`${base}/stream`, limits), "too_large", /larger than 1000/);
    await refused(fetchLimited(`${base}/none`, limits), "status", /answered 404/);
    await refused(fetchLimited("http://example.com/x", limits), "url", /https/);
    const closed = `http://127.0.0.1:9/x`;
    await refused(fetchLimited(closed, limits), "unreachable", /cannot fetch/);
  }));

Deno.test("fetchLimited: a server that stops answering hits the deadline", async () => {
  let release!: () => void;
  const held = new Promise<void>((r) => release = r);
  await withServer(() =>
    new Response(
      new ReadableStream({
        async pull(c) {
          c.enqueue(new Uint8Array(10));
          await held;
          c.close();
        },
      }),
    ), async (base) => {
    try {
      await refused(
        fetchLimited(`${base}/slow`, { ...limits, timeoutMs: 300 }),
        "unreachable",
        /stopped mid-download: no answer within 300 ms/,
      );
    } finally {
      release();
    }
  });
});
