/**
 * Slow and many clients (issue 12), while a client checks that normal
 * requests are answered within 1 s: a descriptor flood (1,000 slowloris and
 * more idle connections, held, from many addresses) against a node limited
 * to 1,024 file descriptors, with a WebSocket app deployed (so connections
 * are peeked at first); and 1,000 slowloris connections that reconnect
 * whenever the node closes one. A CI-sized run allows a 3 s deadline per
 * request (shared, noisy machine) and counts misses; `FAZT_CHAOS=full` runs
 * longer, with more idle connections, and wants 95 % within the 1 s.
 *
 * Not covered: an attacker reconnecting at once from hundreds of addresses
 * while the node is at its cap. Each new connection then evicts an older
 * one, the accept queue overflows, and a normal client's SYN is dropped and
 * retried (measured: p50 1.6 s). Only a limit per address or a firewall
 * sees such a flood for what it is.
 */
import assert from "node:assert/strict";
import net from "node:net";
import WebSocket from "ws";
import { deadline } from "../deadline.ts";
import { makeTestCa } from "../tls_certs.ts";
import {
  type ChaosNode,
  FULL,
  quantile,
  sized,
  startChaosNode,
  type Timed,
  timedGet,
} from "./chaos_node.ts";

const SLOWLORIS = 1000;
const IDLE = sized(1000, 3000);
const SECONDS = sized(10, 60);
const DEADLINE_MS = sized(3000, 1000);

/**
 * Opens `count` connections of a kind from 200 loopback addresses (with
 * `reconnect`, a new one for each the node closes, a second later) until
 * stopped.
 */
function flood(
  port: number,
  count: number,
  kind: "idle" | "slow" | "hello",
  third: number,
  reconnect: boolean,
) {
  let running = true;
  let opened = 0;
  let closedByServer = 0;
  const socks = new Set<net.Socket>();
  const open = (i: number) => {
    if (!running) return;
    const s = net.connect({
      host: "127.0.0.1",
      port,
      localAddress: `127.${third}.${1 + Math.floor(i / 250) % 200}.${1 + (i % 250)}`,
    });
    opened++;
    socks.add(s);
    let drip: ReturnType<typeof setInterval> | undefined;
    s.on("error", () => {});
    s.on("connect", () => {
      // Half a TLS ClientHello, then nothing.
      if (kind === "hello") s.write("\x16\x03\x01\x00\xc8\x01\x00");
      if (kind !== "slow") return;
      s.write("GET / HTTP/1.1\r\nHost: site.localhost\r\nX-Slow: ");
      drip = setInterval(() => s.write("a"), 1000);
    });
    s.on("close", () => {
      clearInterval(drip);
      socks.delete(s);
      if (!running) return;
      closedByServer++;
      if (reconnect) setTimeout(() => open(i), 1000);
    });
  };
  const start = (async () => {
    for (let i = 0; i < count && running; i++) {
      open(i);
      if (i % 100 === 99) await new Promise((r) => setTimeout(r, 10));
    }
  })();
  return {
    stats: () => ({ opened, closedByServer, open: socks.size }),
    async stop() {
      running = false;
      await start;
      for (const s of socks) s.destroy();
    },
  };
}

/** Probes a normal request every 100 ms for `seconds`; checks and reports the answers. */
async function probe(
  node: ChaosNode,
  port: number,
  seconds: number,
  what: string,
  flooded: () => unknown,
  ca?: string,
) {
  const probes: Timed[] = [];
  const until = performance.now() + seconds * 1000;
  while (performance.now() < until) {
    probes.push(await timedGet(port, "/", "site.localhost", { timeoutMs: DEADLINE_MS, ca }));
    await new Promise((r) => setTimeout(r, 100));
  }
  const answered = probes.filter((p) => p.status === 200);
  const within1s = answered.filter((p) => p.ms <= 1000).length;
  const misses = probes.length - answered.length;
  const ms = answered.map((p) => p.ms);
  console.log(
    `${what} for ${seconds} s (${
      JSON.stringify(flooded())
    }): ${answered.length}/${probes.length} ` +
      `probes answered within ${DEADLINE_MS} ms, ${within1s} within 1 s; ` +
      `p50 ${quantile(ms, 0.5).toFixed(0)} ms, p99 ${quantile(ms, 0.99).toFixed(0)} ms` +
      (misses ? `; missed: ${missesByKind(probes)}` : ""),
  );
  assert.equal(node.server.status, undefined, `the node exited:\n${node.server.err}`);
  assert.ok(
    misses <= Math.max(2, probes.length * 0.05),
    `${misses} of ${probes.length} normal requests were not answered within ${DEADLINE_MS} ms ` +
      `(${missesByKind(probes)}); the node's log ends:\n${node.server.err.slice(-2000)}`,
  );
  if (FULL) assert.ok(within1s >= probes.length * 0.95, `${within1s} within 1 s`);
}

/** The misses counted by what they were: "timeout: 3, status 503 OVERLOADED: 2". */
function missesByKind(probes: Timed[]): string {
  const kinds = new Map<string, number>();
  for (const p of probes) {
    if (p.status === 200) continue;
    const kind = p.status ? `status ${p.status} ${p.code ?? ""}`.trim() : p.error ?? "no answer";
    kinds.set(kind, (kinds.get(kind) ?? 0) + 1);
  }
  return [...kinds].map(([k, n]) => `${k}: ${n}`).join(", ");
}

async function afterFlood(port: number, ca?: string): Promise<void> {
  for (let i = 0; i < 10; i++) {
    const p = await timedGet(port, "/", "site.localhost", { timeoutMs: DEADLINE_MS, ca });
    assert.equal(p.status, 200, `after the flood: ${p.error ?? p.status}`);
  }
}

const ECHO = `export default (req: Request) => {
  const { socket, response } = Deno.upgradeWebSocket(req);
  socket.onmessage = (e) => socket.send("echo " + e.data);
  return response;
};`;

/** One WebSocket round trip to the echo app. */
function echoOnce(port: number): Promise<string> {
  return deadline(
    new Promise<string>((resolve, reject) => {
      const ws = new WebSocket(`ws://127.0.0.1:${port}/api/ws`, {
        headers: { host: "echo.localhost" },
      });
      ws.once("open", () => ws.send("after the flood"));
      ws.once("message", (data: Uint8Array) => {
        resolve(String(data));
        ws.close();
      });
      ws.once("error", reject);
    }),
    "a WebSocket echo",
  );
}

Deno.test({
  name: "a descriptor flood past the limit: normal requests keep being answered",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    // 1,024 descriptors: the cap is 768, the flood is 2,000 held connections
    // (1,000 of them slowloris), so the node runs at its cap, shedding.
    const node = await startChaosNode({ fdLimit: 1024 });
    await node.deploy("site", { "index.html": "<h1>still here</h1>" });
    // With an app that upgrades, every new connection is peeked at before
    // it is served (front_door.ts): the flood goes through that path.
    await node.deploy("echo", { "api/main.ts": ECHO });
    const slow = flood(node.port, SLOWLORIS, "slow", 10, false);
    const idle = flood(node.port, IDLE, "idle", 20, false);
    try {
      await probe(
        node,
        node.port,
        SECONDS,
        `${SLOWLORIS} slowloris + ${IDLE} idle held, 1,024 descriptors`,
        () => ({ slow: slow.stats(), idle: idle.stats() }),
      );
      await slow.stop();
      await idle.stop();
      await afterFlood(node.port);
      assert.equal(await echoOnce(node.port), "echo after the flood");
      assert.doesNotMatch(node.server.err, /Uncaught|panicked/);
      // The cap kept the flood to its share: descriptors never ran out
      // (when they did, a Worker started then ended the process).
      assert.doesNotMatch(node.server.err, /out of file descriptors/);
    } finally {
      await slow.stop();
      await idle.stop();
      await node.stop();
    }
  },
});

Deno.test({
  name: "1,000 slowloris connections kept open: normal requests keep being answered",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    // Slowloris tools open a new connection for each one the server closes;
    // the header timeout closes them, so they come and go all the time.
    const node = await startChaosNode({ fdLimit: 4096, settings: { header_timeout_ms: 5000 } });
    await node.deploy("site", { "index.html": "<h1>still here</h1>" });
    const slow = flood(node.port, SLOWLORIS, "slow", 10, true);
    try {
      await probe(
        node,
        node.port,
        SECONDS,
        `${SLOWLORIS} slowloris, reconnecting`,
        () => slow.stats(),
      );
      await slow.stop();
      await afterFlood(node.port);
      assert.doesNotMatch(node.server.err, /Uncaught|panicked/);
    } finally {
      await slow.stop();
      await node.stop();
    }
  },
});

Deno.test({
  name: "silent clients on the HTTPS port: reaped, and HTTPS requests keep being answered",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    // Deno cannot close a TLS connection that never sends a ClientHello:
    // without the FFI reaper these would hold every descriptor.
    const ca = await makeTestCa();
    const leaf = await ca.leaf("leaf", ["127.0.0.1", "site.localhost"], 1);
    const node = await startChaosNode({
      fdLimit: 1024,
      args: ["--tls-cert", leaf.certFile, "--tls-key", leaf.keyFile, "--https-port", "0"],
    });
    const port = node.httpsPort!;
    await node.deploy("site", { "index.html": "<h1>still here</h1>" });
    const silent = flood(port, IDLE, "idle", 30, false);
    const hellos = flood(port, SLOWLORIS, "hello", 40, false);
    try {
      await probe(
        node,
        port,
        SECONDS,
        `${IDLE} silent + ${SLOWLORIS} half-hello TLS connections, 1,024 descriptors`,
        () => ({ silent: silent.stats(), hellos: hellos.stats() }),
        ca.ca,
      );
      assert.doesNotMatch(node.server.err, /without the socket fixes/);
      await silent.stop();
      await hellos.stop();
      await afterFlood(port, ca.ca);
      assert.doesNotMatch(node.server.err, /Uncaught|panicked/);
    } finally {
      await silent.stop();
      await hellos.stop();
      await node.stop();
      await Deno.remove(ca.dir, { recursive: true });
    }
  },
});
