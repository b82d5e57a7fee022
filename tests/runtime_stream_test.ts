/**
 * Bodies stream both ways between clients and apps: responses as the app
 * produces them, held back when the client reads slowly, cut when the client
 * leaves or the response passes its limit (issue 12, item 2); request bodies
 * as they arrive, counted against their limit.
 */
import assert from "node:assert/strict";
import { deadline, waitFor } from "./deadline.ts";
import { deployFiles, type TestNode, withTestNode } from "./helpers.ts";

const client = Deno.createHttpClient({ allowHost: true });

/** `fetch` to an app on the node, body and all streaming. */
function appFetch(node: TestNode, app: string, path: string, init: RequestInit = {}) {
  const headers = new Headers(init.headers);
  headers.set("host", `${app}.localhost`);
  return fetch(`${node.base}${path}`, { ...init, headers, client });
}

const state = async (node: TestNode, app: string) =>
  await (await appFetch(node, app, "/api/state")).json();

const decoder = new TextDecoder();

Deno.test("an event stream reaches the client while the handler is still producing it", async () => {
  await withTestNode(async (node) => {
    await deployFiles(node, "sse", {
      "api/main.ts": `let release = () => {};
      export default (req: Request) => {
        if (new URL(req.url).pathname === "/api/go") { release(); return new Response("released"); }
        const gate = new Promise<void>((r) => (release = r));
        const e = new TextEncoder();
        const body = new ReadableStream({
          async start(c) {
            c.enqueue(e.encode("data: one\\n\\n"));
            await gate;
            c.enqueue(e.encode("data: two\\n\\n"));
            c.close();
          },
        });
        return new Response(body, { headers: { "content-type": "text/event-stream" } });
      };`,
    });
    const res = await appFetch(node, "sse", "/api/events");
    assert.equal(res.status, 200);
    assert.equal(res.headers.get("content-type"), "text/event-stream");
    const reader = res.body!.getReader();
    const first = await deadline(reader.read(), "the first event");
    assert.equal(decoder.decode(first.value), "data: one\n\n", "it came before the stream ended");
    assert.equal(await (await appFetch(node, "sse", "/api/go")).text(), "released");
    let rest = "";
    for (;;) {
      const r = await deadline(reader.read(), "the rest of the stream");
      if (r.done) break;
      rest += decoder.decode(r.value);
    }
    assert.equal(rest, "data: two\n\n");
  });
});

Deno.test("server-sent events 300 ms apart: the client reads each while the handler still runs", async () => {
  await withTestNode(async (node) => {
    await deployFiles(node, "ticker", {
      "api/main.ts": `const seen = { sent: 0, closed: false };
      let stop = () => {};
      export default (req: Request) => {
        const path = new URL(req.url).pathname;
        if (path === "/api/state") return Response.json(seen);
        if (path === "/api/stop") { stop(); return new Response("stopping"); }
        const e = new TextEncoder();
        let timer: ReturnType<typeof setInterval>;
        const body = new ReadableStream({
          start(c) {
            // An event every 300 ms until told to stop: the handler cannot have ended before.
            timer = setInterval(() => c.enqueue(e.encode("data: " + seen.sent++ + "\\n\\n")), 300);
            stop = () => { clearInterval(timer); seen.closed = true; c.close(); };
          },
          cancel() { clearInterval(timer); },
        });
        return new Response(body, { headers: { "content-type": "text/event-stream" } });
      };`,
    });
    const res = await appFetch(node, "ticker", "/api/events");
    assert.equal(res.headers.get("content-type"), "text/event-stream");
    const events = res.body!.pipeThrough(new TextDecoderStream()).getReader();
    let text = "";
    while (!text.includes("data: 1\n\n")) {
      const r = await deadline(events.read(), "the first two events");
      assert.equal(r.done, false, "the stream goes on");
      text += r.value;
    }
    assert.ok(text.startsWith("data: 0\n\ndata: 1\n\n"), text);
    assert.equal((await state(node, "ticker")).closed, false, "the handler is still producing");
    assert.equal(await (await appFetch(node, "ticker", "/api/stop")).text(), "stopping");
    for (;;) {
      const r = await deadline(events.read(), "the end of the stream");
      if (r.done) break;
      text += r.value;
    }
    const numbers = [...text.matchAll(/data: (\d+)\n\n/g)].map((m) => Number(m[1]));
    assert.deepEqual(numbers, numbers.map((_, i) => i), "every event, in order");
    assert.equal(text, numbers.map((n) => `data: ${n}\n\n`).join(""));
  });
});

/** An app whose `/api/stream` never ends, and `/api/state` tells what it saw. */
const ENDLESS = `const seen = { produced: 0, cancelled: false, aborted: false };
export default (req: Request) => {
  if (new URL(req.url).pathname === "/api/state") return Response.json(seen);
  req.signal.addEventListener("abort", () => (seen.aborted = true));
  const body = new ReadableStream({
    pull(c) { seen.produced += 65536; c.enqueue(new Uint8Array(65536)); },
    cancel() { seen.cancelled = true; },
  });
  return new Response(body);
};`;

Deno.test("a client that goes away cancels the app's stream and aborts req.signal", async () => {
  await withTestNode(async (node) => {
    await deployFiles(node, "endless", { "api/main.ts": ENDLESS });
    const res = await appFetch(node, "endless", "/api/stream");
    const reader = res.body!.getReader();
    const first = await deadline(reader.read(), "the first chunk");
    assert.ok(first.value && first.value.byteLength > 0);
    await reader.cancel();
    const seen = await waitFor(async () => {
      const s = await state(node, "endless");
      return s.cancelled && s.aborted && s;
    }, "the app to see the client leave");
    assert.equal(seen.cancelled, true);
    assert.equal(seen.aborted, true);
  });
});

Deno.test("a slow reader holds the producer back", async () => {
  await withTestNode(async (node) => {
    await deployFiles(node, "endless", { "api/main.ts": ENDLESS });
    const res = await appFetch(node, "endless", "/api/stream");
    const reader = res.body!.getReader();
    let received = 0;
    for (let i = 0; i < 4; i++) {
      received += (await deadline(reader.read(), "a chunk")).value!.length;
    }
    // While the client reads nothing more, the app may run ahead only by
    // the credit window and what sockets hold.
    await waitFor(async () => (await state(node, "endless")).produced > received, "production");
    const { produced } = await state(node, "endless");
    assert.ok(produced - received < 16 * 1024 * 1024, `produced ${produced}, read ${received}`);
    await reader.cancel();
  });
});

Deno.test("a response streaming past app_max_response_bytes is cut at the limit", async () => {
  const limit = 1024 * 1024;
  await withTestNode(async (node) => {
    await deployFiles(node, "endless", { "api/main.ts": ENDLESS });
    const res = await appFetch(node, "endless", "/api/stream");
    assert.equal(res.status, 200);
    let received = 0;
    const reader = res.body!.getReader();
    const ended = (async () => {
      for (;;) {
        const r = await reader.read();
        if (r.done) return "ended";
        received += r.value.byteLength;
      }
    })().catch(() => "cut");
    assert.equal(await deadline(ended, "the stream to end"), "cut");
    assert.ok(received <= limit, `received ${received}`);
    const seen = await waitFor(async () => {
      const s = await state(node, "endless");
      return s.cancelled && s;
    }, "the app's stream to be cancelled");
    // Counted as bytes arrive: the app never got far past the limit.
    assert.ok(seen.produced <= limit + 1024 * 1024, `produced ${seen.produced}`);
    const logs = (await (await node.fetch("/api/apps/endless/logs?limit=100")).json()).data;
    assert.ok(logs.some((l: { message: string }) => /app_max_response_bytes/.test(l.message)));
  }, { app_max_response_bytes: limit });
});

Deno.test("a whole body larger than app_max_response_bytes is refused before it is sent", async () => {
  await withTestNode(async (node) => {
    await deployFiles(node, "big", {
      "api/main.ts": "export default () => new Response(new Uint8Array(3 * 1024 * 1024));",
    });
    const res = await appFetch(node, "big", "/api/");
    assert.equal(res.status, 502);
    assert.equal((await res.json()).error.code, "APP_RESPONSE_TOO_LARGE");
  }, { app_max_response_bytes: 1024 * 1024 });
});

/** A request body of `n` bytes sent in 64 KiB chunks with no Content-Length. */
function chunked(n: number): ReadableStream<Uint8Array> {
  let sent = 0;
  return new ReadableStream({
    pull(c) {
      if (sent >= n) return c.close();
      const chunk = new Uint8Array(Math.min(65536, n - sent)).fill(sent % 251);
      sent += chunk.byteLength;
      c.enqueue(chunk);
    },
  });
}

const DIGEST = `const seen: Record<string, string> = {};
export default async (req: Request) => {
  if (new URL(req.url).pathname === "/api/state") return Response.json(seen);
  try {
    const bytes = new Uint8Array(await req.arrayBuffer());
    const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
    seen.last = "read " + bytes.byteLength;
    return Response.json({ length: bytes.byteLength, sha: [...digest].join(",") });
  } catch (e) {
    seen.last = "failed: " + (e as Error).message;
    return new Response("failed", { status: 400 });
  }
};`;

async function sha(n: number): Promise<string> {
  const all = new Uint8Array(await new Response(chunked(n)).arrayBuffer());
  return [...new Uint8Array(await crypto.subtle.digest("SHA-256", all))].join(",");
}

Deno.test("a request body without a length streams into the app whole", async () => {
  await withTestNode(async (node) => {
    await deployFiles(node, "digest", { "api/main.ts": DIGEST });
    const n = 3 * 1024 * 1024 + 17;
    const res = await appFetch(node, "digest", "/api/", {
      method: "POST",
      body: chunked(n),
      duplex: "half",
    } as RequestInit);
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), { length: n, sha: await sha(n) });
  });
});

Deno.test("a streamed request body past app_max_body_bytes gets 413 as it passes", async () => {
  await withTestNode(async (node) => {
    await deployFiles(node, "digest", { "api/main.ts": DIGEST });
    const res = await appFetch(node, "digest", "/api/", {
      method: "POST",
      body: chunked(8 * 1024 * 1024),
      duplex: "half",
    } as RequestInit);
    assert.equal(res.status, 413);
    assert.equal((await res.json()).error.code, "PAYLOAD_TOO_LARGE");
    const seen = await waitFor(async () => {
      const s = await state(node, "digest");
      return s.last && s;
    }, "the app to see its body fail");
    assert.match(seen.last, /^failed: .*too large/);
  }, { app_max_body_bytes: 1024 * 1024 });
});

Deno.test("a stalled stream ends after the request timeout; the host is not killed", async () => {
  await withTestNode(async (node) => {
    await deployFiles(node, "stall", {
      "api/main.ts": `const seen = { cancelled: false, streams: 0 };
      export default (req: Request) => {
        if (new URL(req.url).pathname === "/api/state") return Response.json(seen);
        seen.streams++;
        const body = new ReadableStream({
          start(c) { c.enqueue(new TextEncoder().encode("first")); },
          cancel() { seen.cancelled = true; },
        });
        return new Response(body);
      };`,
    });
    const res = await appFetch(node, "stall", "/api/stream");
    const reader = res.body!.getReader();
    assert.equal(decoder.decode((await deadline(reader.read(), "the first chunk")).value), "first");
    const end = reader.read().then(() => "ended", () => "cut");
    assert.equal(await deadline(end, "the stalled stream to end"), "cut");
    const pid = node.server.context.runtime.hosts().find((h) => h.appName === "stall")!.pid;
    const seen = await waitFor(async () => {
      const s = await state(node, "stall");
      return s.cancelled && s;
    }, "the app's stream to be cancelled");
    assert.equal(seen.streams, 1, "the same Worker, its state kept");
    assert.equal(node.server.context.runtime.hosts().find((h) => h.appName === "stall")!.pid, pid);
  }, { app_timeout_ms: 1000 });
});

Deno.test("a stream that never pauses still ends at app_stream_max_ms", async () => {
  await withTestNode(async (node) => {
    await deployFiles(node, "ticker", {
      "api/main.ts": `const seen = { cancelled: false };
      export default (req: Request) => {
        if (new URL(req.url).pathname === "/api/state") return Response.json(seen);
        let timer = 0;
        const body = new ReadableStream({
          start(c) { timer = setInterval(() => c.enqueue(new TextEncoder().encode("tick\\n")), 50); },
          cancel() { clearInterval(timer); seen.cancelled = true; },
        });
        return new Response(body);
      };`,
    });
    const res = await appFetch(node, "ticker", "/api/stream");
    const drained = (async () => {
      for (const reader = res.body!.getReader();;) if ((await reader.read()).done) return "ended";
    })().catch(() => "cut");
    assert.equal(await deadline(drained, "the long stream to end"), "cut");
    await waitFor(async () => (await state(node, "ticker")).cancelled, "the app to see the end");
  }, { app_stream_max_ms: 1000, app_timeout_ms: 800 });
});
