/**
 * The front door's connection limits against a real node: every timeout
 * closes what it should, the caps refuse what they should, and nothing
 * here waits for time: each test waits for the close (or the answer)
 * itself, bounded by `deadline`.
 */
import assert from "node:assert/strict";
import { deployFiles, startTestNode, type TestNode } from "./helpers.ts";
import { deadline, waitFor } from "./deadline.ts";
import { rawConnect, rawGet, type RawSocket } from "./raw_socket.ts";

async function withNode(
  settings: Record<string, number>,
  fn: (node: TestNode) => Promise<void>,
): Promise<void> {
  const node = await startTestNode({ settings });
  try {
    await fn(node);
  } finally {
    await node.close();
  }
}

Deno.test("a connection that sends nothing is closed after the header timeout", async () => {
  await withNode({ header_timeout_ms: 300 }, async (node) => {
    const s = await rawConnect(node.server.port);
    const got = await deadline(s.closed, "the silent connection to be closed");
    assert.equal(got, "");
    assert.ok(node.server.door.stats.headerTimeouts >= 1);
  });
});

Deno.test("slowloris (a header byte at a time, never finished) is closed", async () => {
  await withNode({ header_timeout_ms: 300 }, async (node) => {
    const s = await rawConnect(node.server.port);
    s.write("GET / HTTP/1.1\r\nHost: localhost\r\nX-Slow: ");
    const drip = setInterval(() => s.socket.destroyed || s.write("a"), 50);
    try {
      const got = await deadline(s.closed, "the slowloris connection to be closed");
      assert.equal(got, "", "no answer to a request that never ended");
    } finally {
      clearInterval(drip);
    }
  });
});

Deno.test("an idle keep-alive connection is closed after the idle timeout", async () => {
  await withNode({ idle_timeout_ms: 300 }, async (node) => {
    const s = await rawConnect(node.server.port);
    s.write("GET /health HTTP/1.1\r\nHost: localhost\r\n\r\n");
    await deadline(s.waitFor("HTTP/1.1 200"), "the answer");
    const got = await deadline(s.closed, "the idle connection to be closed");
    assert.equal(got.split("HTTP/1.1 ").length - 1, 1, "one answer, then the close");
    assert.ok(node.server.door.stats.idleTimeouts >= 1);
  });
});

/**
 * Sends `head` (a request whose body stops short) and waits for the door to
 * close the connection: the answer must be 408, the one body stall counted.
 */
async function stalledAnswer(node: TestNode, head: string, what: string): Promise<string> {
  const s = await rawConnect(node.server.port);
  s.write(head);
  const got = await deadline(s.closed, `the stalled ${what}'s connection to be closed`);
  assert.match(got, /^HTTP\/1\.1 408/);
  assert.equal(node.server.door.stats.bodyStalls, 1);
  return got;
}

Deno.test("a request body that stalls gets 408 and its connection is closed", async () => {
  await withNode({ body_stall_timeout_ms: 300 }, async (node) => {
    const got = await stalledAnswer(
      node,
      "POST /api/deploy?name=slow HTTP/1.1\r\nHost: localhost\r\n" +
        `Authorization: Bearer ${node.tokens.admin}\r\nContent-Type: application/zip\r\n` +
        "Content-Length: 100000\r\n\r\nPK\x03\x04",
      "upload",
    );
    assert.match(got, /"code":"REQUEST_TIMEOUT"/);
    // Nothing was deployed.
    assert.equal((await node.fetch("/api/apps")).status, 200);
    assert.equal(node.count("apps"), 0);
  });
});

// Small declared bodies are guarded rather than wrapped (lib/body_guard.ts):
// each reader of them must still fail a stall with 408.
Deno.test("a small tracking body that stalls gets 408 and nothing is counted", async () => {
  await withNode({ body_stall_timeout_ms: 300 }, async (node) => {
    await deployFiles(node, "site", { "index.html": "<h1>hi</h1>" });
    await stalledAnswer(
      node,
      "POST /_fazt/track HTTP/1.1\r\nHost: site.localhost\r\nUser-Agent: Mozilla/5.0 Firefox/125.0\r\n" +
        'Content-Type: text/plain\r\nContent-Length: 60\r\n\r\n{"name":',
      "event",
    );
    // Reading stats writes what is buffered first.
    const stats = await (await node.fetch("/api/stats?app=site&from=1d")).json();
    assert.deepEqual(stats.data.totals.events, 0);
  });
});

Deno.test("a small upload that stalls gets 408 and deploys nothing", async () => {
  await withNode({ body_stall_timeout_ms: 300 }, async (node) => {
    const got = await stalledAnswer(
      node,
      "POST /api/deploy?name=small HTTP/1.1\r\nHost: localhost\r\n" +
        `Authorization: Bearer ${node.tokens.admin}\r\nContent-Type: application/zip\r\n` +
        "Content-Length: 1000\r\n\r\nPK\x03\x04",
      "upload",
    );
    assert.match(got, /"code":"REQUEST_TIMEOUT"/);
    assert.equal(node.count("apps"), 0);
  });
});

Deno.test("a small body to an app that stalls gets 408", async () => {
  await withNode({ body_stall_timeout_ms: 300 }, async (node) => {
    await deployFiles(node, "echo", {
      "api/main.ts": "export default async (req: Request) => new Response(await req.text());",
    });
    assert.equal(
      await (await node.fetch("/api/x", { host: "echo.localhost", method: "POST", body: "hi" }))
        .text(),
      "hi",
    );
    await stalledAnswer(
      node,
      "POST /api/x HTTP/1.1\r\nHost: echo.localhost\r\nContent-Length: 100\r\n\r\nhalf",
      "request",
    );
  });
});

Deno.test("a body nobody reads ends its connection after the answer", async () => {
  await withNode({}, async (node) => {
    await deployFiles(node, "site", { "index.html": "<h1>hi</h1>" });
    const s = await rawConnect(node.server.port);
    s.write(
      "POST / HTTP/1.1\r\nHost: site.localhost\r\nContent-Length: 5\r\n\r\nhello",
    );
    const got = await deadline(s.closed, "the connection to be closed after the answer");
    assert.match(got, /^HTTP\/1\.1 405/);
  });
});

Deno.test("connections per client address are capped; other addresses are not", async () => {
  await withNode({ max_connections_per_ip: 3 }, async (node) => {
    const port = node.server.port;
    const held = [await rawConnect(port), await rawConnect(port), await rawConnect(port)];
    try {
      // The fourth from the same address is closed at once, unanswered.
      const fourth = await rawConnect(port);
      fourth.write("GET /health HTTP/1.1\r\nHost: localhost\r\n\r\n");
      assert.equal(await deadline(fourth.closed, "the fourth connection to be refused"), "");
      assert.equal(node.server.door.stats.refusedPerIp, 1);
      // Another client is served.
      const other = await rawConnect(port, "127.0.0.2");
      other.write("GET /health HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
      assert.match(await deadline(other.closed, "the other client's answer"), /^HTTP\/1\.1 200/);
      // The three held ones still work.
      held[0].write("GET /health HTTP/1.1\r\nHost: localhost\r\n\r\n");
      await deadline(held[0].waitFor("HTTP/1.1 200"), "an answer on a held connection");
    } finally {
      for (const s of held) s.destroy();
    }
  });
});

Deno.test("at the global cap the idle connection makes room for a new one", async () => {
  await withNode({ max_connections: 16, max_connections_per_ip: 1000 }, async (node) => {
    const port = node.server.port;
    const idle: RawSocket[] = [];
    try {
      for (let i = 0; i < 16; i++) idle.push(await rawConnect(port));
      // A new client gets its answer: an idle connection is evicted for it.
      // Only connections idle for a moment are evicted; until then every
      // one is busy and a new client gets a raw 503.
      const status = await waitFor(
        async () => {
          const s = await rawGet(port, "/health", "localhost").catch(() => 0);
          if (s !== 200 && s !== 503) throw new Error(`unexpected answer ${s}`);
          return s === 200 && s;
        },
        "a new client to be served at the cap",
      );
      assert.equal(status, 200);
      await deadline(Promise.race(idle.map((s) => s.closed)), "an idle connection to be evicted");
      assert.ok(node.server.door.stats.evictedIdle >= 1);
    } finally {
      for (const s of idle) s.destroy();
    }
  });
});

Deno.test("past max_requests_in_flight new requests get a fast 503 OVERLOADED", async () => {
  await withNode({ max_requests_in_flight: 1 }, async (node) => {
    // An upload that has not finished is a request in flight.
    const s = await rawConnect(node.server.port);
    s.write(
      "POST /api/deploy?name=held HTTP/1.1\r\nHost: localhost\r\n" +
        `Authorization: Bearer ${node.tokens.admin}\r\nContent-Type: application/zip\r\n` +
        "Content-Length: 100000\r\n\r\nPK",
    );
    await waitFor(() => node.server.door.stats.inFlight === 1, "the upload to be in flight");
    const res = await node.fetch("/llms.txt", { token: null });
    assert.equal(res.status, 503);
    assert.equal(res.headers.get("retry-after"), "1");
    assert.equal((await res.json()).error.code, "OVERLOADED");
    // Liveness is never shed: a busy node is not a dead one.
    const health = await node.fetch("/health", { token: null });
    assert.equal(health.status, 200);
    assert.equal((await health.json()).status, "ok");
    // Only the admin host's: an app's own `/health` is shed like any page.
    const appHealth = await node.fetch("/health", { token: null, host: "site.localhost" });
    assert.equal(appHealth.status, 503);
    await appHealth.body?.cancel();
    s.destroy();
    await waitFor(() => node.server.door.stats.inFlight === 0, "the upload to end");
    assert.equal((await node.fetch("/llms.txt", { token: null })).status, 200);
  });
});

Deno.test("an HTTP/1.0 request without Host is not the loopback admin host", async () => {
  await withNode({}, async (node) => {
    const s = await rawConnect(node.server.port);
    s.write("GET /api/system HTTP/1.0\r\n\r\n");
    const got = await deadline(s.closed, "the answer");
    assert.match(got, /^HTTP\/1\.[01] 404/);
    assert.doesNotMatch(got, /UNAUTHORIZED/);
  });
});

Deno.test("HTTP/2 (h2c): the :authority is the host", async () => {
  await withNode({}, async (node) => {
    await deployFiles(node, "site", { "index.html": "<h1>site over h2</h1>" });
    const port = node.server.port;
    const out = await new Deno.Command("curl", {
      args: [
        "-s",
        "--http2-prior-knowledge",
        "--resolve",
        `site.localhost:${port}:127.0.0.1`,
        "-w",
        "\n%{http_version} %{http_code}",
        `http://site.localhost:${port}/`,
      ],
      stdout: "piped",
      stderr: "piped",
    }).output();
    const text = new TextDecoder().decode(out.stdout);
    assert.match(text, /site over h2/);
    assert.match(text, /\n2 200$/);
  });
});

Deno.test("host '::' serves IPv4 and IPv6 clients on one port", async () => {
  let ipv6 = true;
  try {
    Deno.listen({ hostname: "::1", port: 0 }).close();
  } catch {
    ipv6 = false; // This machine has no IPv6: the node falls back to IPv4.
  }
  const node = await startTestNode({ overrides: { host: "::" } });
  try {
    const port = node.server.port;
    assert.equal(node.server.hostname, ipv6 ? "::" : "0.0.0.0");
    assert.equal(await rawGet(port, "/health", "localhost"), 200);
    if (ipv6) {
      const res = await fetch(`http://[::1]:${port}/health`);
      assert.equal(res.status, 200);
      await res.body?.cancel();
    }
  } finally {
    await node.close();
  }
});
