/**
 * Bodies without a Content-Length (chunked) are counted as they arrive and
 * refused as soon as they pass their limit: a client that keeps sending
 * cannot make the node hold more than the limit.
 */
import assert from "node:assert/strict";
import { deadline } from "./deadline.ts";
import { makeZip, startTestNode, type TestNode } from "./helpers.ts";

const MiB = 1024 * 1024;
/** What the client could send: far more than any limit below plus every buffer in between. */
const CAPACITY = 256 * MiB;
/**
 * Sent but never read by the refusing handler: the kernel's socket buffers
 * on both sides (autotuned, up to 32 MiB for receiving here) and the HTTP
 * layer's. A node that reads the whole body takes all of CAPACITY.
 */
const IN_FLIGHT = 48 * MiB;
const BLOCK = new Uint8Array(64 * 1024).fill(0x7b);

/** `p`, or a failure naming `what` if it has not settled within 30 s. */
const within = <T>(p: Promise<T>, what: string): Promise<T> => deadline(p, what, 30_000);

interface Answer {
  status: number;
  headers: Headers;
  body: string;
  /** Bytes the client's producer handed over before the answer came. */
  pushed: number;
}

async function writeAll(conn: Deno.Conn, bytes: Uint8Array): Promise<void> {
  for (let at = 0; at < bytes.byteLength;) at += await conn.write(bytes.subarray(at));
}

/** Reads one HTTP/1.1 response with a Content-Length from `conn`. */
async function readResponse(conn: Deno.Conn): Promise<Omit<Answer, "pushed">> {
  const buf = new Uint8Array(64 * 1024);
  let data = new Uint8Array(0);
  const more = async () => {
    const n = await conn.read(buf);
    if (n === null) throw new Error("the node closed the connection without an answer");
    const next = new Uint8Array(data.byteLength + n);
    next.set(data);
    next.set(buf.subarray(0, n), data.byteLength);
    data = next;
  };
  const text = () => new TextDecoder().decode(data);
  while (!text().includes("\r\n\r\n")) await more();
  const headEnd = text().indexOf("\r\n\r\n");
  const [statusLine, ...lines] = text().slice(0, headEnd).split("\r\n");
  const headers = new Headers(lines.map((l) => {
    const i = l.indexOf(":");
    return [l.slice(0, i).trim(), l.slice(i + 1).trim()] as [string, string];
  }));
  const length = Number(headers.get("content-length"));
  assert.ok(Number.isInteger(length), `an answer with a length: ${statusLine}`);
  const bodyStart = new TextEncoder().encode(text().slice(0, headEnd + 4)).byteLength;
  while (data.byteLength < bodyStart + length) await more();
  return {
    status: Number(statusLine.split(" ")[1]),
    headers,
    body: new TextDecoder().decode(data.subarray(bodyStart, bodyStart + length)),
  };
}

/**
 * POSTs a chunked body from a ReadableStream that keeps producing (up to
 * CAPACITY) and returns the node's answer with how much was produced by then.
 */
async function streamUpload(
  node: TestNode,
  path: string,
  headers: Record<string, string>,
): Promise<Answer> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port: node.server.port });
  let closed = false;
  const close = () => {
    if (!closed) conn.close();
    closed = true;
  };
  // A node that neither answers nor closes fails the test instead of hanging it.
  const guard = setTimeout(close, 60_000);
  let pushed = 0;
  let answered = false;
  const producer = new ReadableStream<Uint8Array>({
    pull(c) {
      if (answered || pushed >= CAPACITY) return c.close();
      pushed += BLOCK.byteLength;
      c.enqueue(BLOCK);
    },
  }, { highWaterMark: 0 });
  const enc = new TextEncoder();
  const head = [`POST ${path} HTTP/1.1`, "transfer-encoding: chunked", "connection: close"]
    .concat(Object.entries(headers).map(([k, v]) => `${k}: ${v}`)).join("\r\n");
  const sending = (async () => {
    await writeAll(conn, enc.encode(head + "\r\n\r\n"));
    for await (const chunk of producer) {
      await writeAll(conn, enc.encode(`${chunk.byteLength.toString(16)}\r\n`));
      await writeAll(conn, chunk);
      await writeAll(conn, enc.encode("\r\n"));
    }
    await writeAll(conn, enc.encode("0\r\n\r\n"));
  })().catch(() => {
    // The node may close the connection while the client still sends: that is the point.
  });
  try {
    const answer = await readResponse(conn);
    answered = true;
    return { ...answer, pushed };
  } finally {
    clearTimeout(guard);
    close();
    await sending;
  }
}

function assertRefused(a: Answer, limit: number, label: string) {
  assert.equal(a.status, 413, `${label}: ${a.body}`);
  assert.equal(JSON.parse(a.body).error.code, "PAYLOAD_TOO_LARGE", label);
  assert.equal(a.headers.get("cache-control"), "no-store", label);
  assert.ok(a.pushed > limit, `${label}: refused only past the limit (${a.pushed} bytes)`);
  assert.ok(
    a.pushed < limit + IN_FLIGHT,
    `${label}: the node stopped reading at the limit, not after ${a.pushed} bytes`,
  );
}

Deno.test("an app's /api refuses a chunked body once it passes app_max_body_bytes", async () => {
  const limit = 1 * MiB;
  const node = await startTestNode({ settings: { app_max_body_bytes: limit } });
  try {
    const deployed = await node.deploy(
      "upload",
      await makeZip({
        "api/main.ts":
          "export default async (req: Request) => new Response(String((await req.arrayBuffer()).byteLength));",
      }),
    );
    assert.equal(deployed.status, 201, JSON.stringify(deployed.body));
    const a = await streamUpload(node, "/api/upload", { host: "upload.localhost" });
    assertRefused(a, limit, "app /api");
    assert.equal(
      JSON.parse(a.body).error.message,
      `The request body is larger than ${limit} bytes`,
    );
    // Under the limit, the same chunked body reaches the app whole.
    const small = await node.fetch("/api/upload", {
      method: "POST",
      host: "upload.localhost",
      token: null,
      body: new Uint8Array(limit),
    });
    assert.equal(await small.text(), String(limit));
  } finally {
    await node.close();
  }
});

Deno.test("the API and the tracking endpoint stop reading chunked bodies at their limits", async () => {
  const limit = 1 * MiB;
  const node = await startTestNode({ settings: { max_upload_bytes: limit } });
  try {
    const deploy = await streamUpload(node, "/api/deploy?name=big", {
      host: "localhost",
      authorization: `Bearer ${node.tokens.deploy}`,
      "content-type": "application/zip",
    });
    assertRefused(deploy, limit, "POST /api/deploy");
    assert.deepEqual(JSON.parse(deploy.body).error.details, {
      field: "body",
      constraint: "max_bytes",
    });
    assert.equal(node.count("apps"), 0);

    await node.deploy("site", await makeZip({ "index.html": "hi" }));
    const track = await streamUpload(node, "/_fazt/track", { host: "site.localhost" });
    assertRefused(track, 10 * 1024, "POST /_fazt/track");

    const health = await node.fetch("/health");
    assert.equal(health.status, 200);
    await health.body?.cancel();
  } finally {
    await node.close();
  }
});

Deno.test("a peer's /health that never ends is read only up to a small limit", async () => {
  let pushed = 0;
  let cancelled!: () => void;
  const stopped = new Promise<void>((resolve) => (cancelled = resolve));
  const peer = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    () =>
      new Response(
        new ReadableStream<Uint8Array>({
          pull(c) {
            pushed += BLOCK.byteLength;
            c.enqueue(BLOCK);
          },
          cancel: () => cancelled(),
        }, { highWaterMark: 0 }),
        { headers: { "content-type": "application/json" } },
      ),
  );
  const node = await startTestNode();
  try {
    node.storage.peers.upsert("endless", `http://127.0.0.1:${peer.addr.port}`, "token");
    const res = await node.fetch("/api/peers/status");
    const [status] = (await res.json()).data;
    assert.equal(status.name, "endless");
    assert.equal(status.reachable, true);
    assert.equal(status.version, null);
    await within(stopped, "the node to stop reading");
    assert.ok(pushed < IN_FLIGHT, `the node stopped reading after ${pushed} bytes`);
  } finally {
    await node.close();
    await peer.shutdown();
  }
});
