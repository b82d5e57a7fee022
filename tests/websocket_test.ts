/**
 * WebSockets (issue 14): `Deno.upgradeWebSocket(req)` in app code. The
 * server upgrades the client's request and relays messages over the app's
 * connection; apps keep sockets in memory and broadcast; a redeploy closes
 * them with 1012; messages over `app_ws_max_message_bytes` close the
 * socket with 1009; past `app_max_websockets` an upgrade is refused (503).
 *
 * The node here is served by `Deno.serve` over the node's own handler: in
 * Deno 2.9.6 a WebSocket upgraded through the front door's per-connection
 * server (`serveHttpOnConnection`) is closed as soon as that connection's
 * HTTP part ends (the upgrade ends it), so the door cannot hold one yet.
 */
import assert from "node:assert/strict";
import WebSocket from "ws";
import { createHandler } from "../server/mod.ts";
import { deadline, waitFor } from "./deadline.ts";
import { type Harness, startHarness } from "./harness.ts";
import { deployFiles, startTestNode } from "./helpers.ts";

interface WsNode {
  harness: Harness;
  port: number;
  close(): Promise<void>;
}

function startWsNode(settings: Record<string, string | number> = {}): WsNode {
  const harness = startHarness({ settings });
  const handler = createHandler(harness.ctx);
  const server = Deno.serve(
    { port: 0, hostname: "127.0.0.1", onListen() {} },
    (req, info) => handler(req, info),
  );
  return {
    harness,
    port: server.addr.port,
    async close() {
      await harness.close();
      await server.shutdown();
    },
  };
}

/** A real client with a Host header (`ws` lets it be set; Deno's WebSocket does not). */
function connect(node: WsNode, app: string, path = "/api/ws", origin?: string): WebSocket {
  const ws = new WebSocket(`ws://127.0.0.1:${node.port}${path}`, {
    headers: { host: `${app}.localhost` },
    origin,
  });
  // A refused or ended handshake is asserted where it happens, not thrown from an event.
  ws.on("error", () => {});
  return ws;
}

function opened(ws: WebSocket): Promise<void> {
  return deadline(
    new Promise<void>((resolve, reject) => {
      ws.once("open", () => resolve());
      ws.once("error", reject);
    }),
    "the socket to open",
  );
}

function nextMessage(ws: WebSocket): Promise<{ data: string | Uint8Array; binary: boolean }> {
  return deadline(
    new Promise((resolve) =>
      ws.once(
        "message",
        (data: Uint8Array, binary: boolean) =>
          resolve({ data: binary ? new Uint8Array(data) : String(data), binary }),
      )
    ),
    "a message",
  );
}

function closed(ws: WebSocket): Promise<{ code: number; reason: string }> {
  return deadline(
    new Promise((resolve) =>
      ws.once(
        "close",
        (code: number, reason: Uint8Array) => resolve({ code, reason: String(reason) }),
      )
    ),
    "the socket to close",
  );
}

const ECHO = `export default (req: Request) => {
  if (req.headers.get("upgrade") !== "websocket") return new Response("not a socket", { status: 426 });
  const { socket, response } = Deno.upgradeWebSocket(req);
  socket.onopen = () => socket.send("hello " + (req.headers.get("origin") ?? "nobody"));
  socket.onmessage = (e) => {
    if (e.data === "bye") return socket.close(4000, "asked to");
    socket.send(typeof e.data === "string" ? "echo " + e.data : new Uint8Array(e.data).reverse());
  };
  return response;
};`;

Deno.test("a WebSocket echoes text and bytes, sees the Origin, and closes with the app's code", async () => {
  const node = startWsNode();
  try {
    await node.harness.deploy("echo", { "api/main.ts": ECHO });
    const ws = connect(node, "echo", "/api/ws", "https://chat.example");
    const hello = nextMessage(ws);
    await opened(ws);
    assert.deepEqual(await hello, { data: "hello https://chat.example", binary: false });
    ws.send("ping");
    assert.deepEqual(await nextMessage(ws), { data: "echo ping", binary: false });
    ws.send(new Uint8Array([1, 2, 3]));
    assert.deepEqual(await nextMessage(ws), { data: new Uint8Array([3, 2, 1]), binary: true });
    const end = closed(ws);
    ws.send("bye");
    assert.deepEqual(await end, { code: 4000, reason: "asked to" });
    // A plain request still reaches the handler.
    const plain = await node.harness.request("/api/ws", { host: "echo.localhost", token: null });
    assert.equal(plain.status, 426);
    await plain.body?.cancel();
  } finally {
    await node.close();
  }
});

const CHAT = `const sockets = new Set<WebSocket>();
export default (req: Request) => {
  if (new URL(req.url).pathname === "/api/count") return Response.json({ open: sockets.size });
  const { socket, response } = Deno.upgradeWebSocket(req);
  socket.onopen = () => sockets.add(socket);
  socket.onclose = () => sockets.delete(socket);
  socket.onmessage = (e) => { for (const s of sockets) s.send(String(e.data)); };
  return response;
};`;

Deno.test("an app broadcasts to three clients from the sockets it keeps in memory", async () => {
  const node = startWsNode();
  try {
    await node.harness.deploy("chat", { "api/main.ts": CHAT });
    const clients = [0, 1, 2].map(() => connect(node, "chat"));
    await Promise.all(clients.map(opened));
    await waitFor(async () => {
      const r = await node.harness.request("/api/count", { host: "chat.localhost", token: null });
      return (await r.json()).open === 3;
    }, "three sockets held by the app");
    const heard = clients.map(nextMessage);
    clients[1].send("hi all");
    for (const m of await Promise.all(heard)) {
      assert.deepEqual(m, { data: "hi all", binary: false });
    }
    for (const c of clients) c.close();
  } finally {
    await node.close();
  }
});

Deno.test("a redeploy closes the app's sockets with 1012 and its log says why", async () => {
  const node = startWsNode();
  try {
    await node.harness.deploy("chat", { "api/main.ts": CHAT });
    const ws = connect(node, "chat");
    await opened(ws);
    const end = closed(ws);
    await node.harness.deploy("chat", { "api/main.ts": CHAT + "\n// v2" });
    const { code, reason } = await end;
    assert.equal(code, 1012);
    assert.match(reason, /redeployed/);
    const appId = node.harness.storage.apps.get("chat")!.id;
    await waitFor(
      () =>
        node.harness.storage.logs.recent(appId, { limit: 50 }).some((l) =>
          /1 WebSocket\(s\) closed with 1012: the app was redeployed/.test(l.message)
        ),
      "the log line",
    );
  } finally {
    await node.close();
  }
});

Deno.test("a message over app_ws_max_message_bytes closes the socket with 1009; the app may not send one", async () => {
  const node = startWsNode({ app_ws_max_message_bytes: 1024 });
  try {
    await node.harness.deploy("echo", {
      "api/main.ts": `export default (req: Request) => {
        const { socket, response } = Deno.upgradeWebSocket(req);
        socket.onmessage = (e) => {
          if (e.data === "big") {
            try { socket.send("x".repeat(2000)); } catch (err) { socket.send(String(err)); }
            return;
          }
          socket.send("got " + String(e.data).length);
        };
        return response;
      };`,
    });
    const ws = connect(node, "echo");
    await opened(ws);
    ws.send("x".repeat(1024));
    assert.deepEqual(await nextMessage(ws), { data: "got 1024", binary: false });
    ws.send("big");
    const refusal = await nextMessage(ws);
    assert.match(String(refusal.data), /RangeError: a WebSocket message may be at most 1024 bytes/);
    // 513 characters, 1026 bytes of UTF-8: counted in bytes.
    const end = closed(ws);
    ws.send("é".repeat(513));
    assert.equal((await end).code, 1009);
    const appId = node.harness.storage.apps.get("echo")!.id;
    await waitFor(
      () =>
        node.harness.storage.logs.recent(appId, { limit: 50 }).some((l) =>
          /message of 1026 bytes was refused/.test(l.message)
        ),
      "the log line",
    );
  } finally {
    await node.close();
  }
});

Deno.test("past app_max_websockets an upgrade is refused with 503 and nothing is held", async () => {
  const node = startWsNode({ app_max_websockets: 1 });
  try {
    await node.harness.deploy("chat", { "api/main.ts": CHAT });
    const first = connect(node, "chat");
    await opened(first);
    const second = connect(node, "chat");
    const status = await deadline(
      new Promise<number>((resolve) =>
        second.once(
          "unexpected-response",
          (_req: unknown, res: { statusCode: number }) => resolve(res.statusCode),
        )
      ),
      "the refusal",
    );
    assert.equal(status, 503);
    second.terminate();
    const r = await node.harness.request("/api/count", { host: "chat.localhost", token: null });
    assert.equal((await r.json()).open, 1, "the app does not keep the refused socket");
    // Once the first closes, a new one is let in.
    const end = closed(first);
    first.close();
    await end;
    const third = await waitFor(async () => {
      const ws = connect(node, "chat");
      const ok = await new Promise<boolean>((resolve) => {
        ws.once("open", () => resolve(true));
        ws.once("unexpected-response", () => resolve(false));
        ws.once("error", () => resolve(false));
      });
      if (!ok) ws.terminate();
      return ok && ws;
    }, "a socket after the first closed");
    third.close();
  } finally {
    await node.close();
  }
});

Deno.test("behind the front door an upgrade is refused with 501 and logged, not opened and dropped", async () => {
  const node = await startTestNode();
  try {
    await deployFiles(node, "chat", { "api/main.ts": CHAT });
    const ws = new WebSocket(`ws://127.0.0.1:${node.server.port}/api/ws`, {
      headers: { host: "chat.localhost" },
    });
    ws.on("error", () => {});
    const status = await deadline(
      new Promise<number>((resolve) =>
        ws.once(
          "unexpected-response",
          (_req: unknown, res: { statusCode: number }) => resolve(res.statusCode),
        )
      ),
      "the refusal",
    );
    assert.equal(status, 501);
    ws.terminate();
    const count = await node.fetch("/api/count", { host: "chat.localhost", token: null });
    assert.equal((await count.json()).open, 0);
    const appId = node.storage.apps.get("chat")!.id;
    await waitFor(
      () =>
        node.storage.logs.recent(appId, { limit: 50 }).some((l) =>
          /front door cannot hold WebSockets/.test(l.message)
        ),
      "the log line",
    );
  } finally {
    await node.close();
  }
});

Deno.test("the guide's chat room broadcasts, and refuses another origin", async () => {
  const guide = await Deno.readTextFile(new URL("../docs/apps.md", import.meta.url));
  const chat = [...guide.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1])
    .find((b) => b.includes("Deno.upgradeWebSocket"));
  assert.ok(chat, "the guide has a chat room");
  const node = startWsNode();
  try {
    await node.harness.deploy("room", { "api/main.ts": chat });
    const [a, b] = [0, 1].map(() => connect(node, "room", "/api/ws", "https://chat.example.com"));
    await Promise.all([opened(a), opened(b)]);
    // Both are in the room once a's own message comes back to it.
    const heard = nextMessage(b);
    await waitFor(async () => {
      const back = nextMessage(a);
      a.send("anyone?");
      return (await back).data === "anyone?";
    }, "a in the room");
    assert.equal((await heard).data, "anyone?");
    const stranger = connect(node, "room", "/api/ws", "https://elsewhere.example");
    const status = await deadline(
      new Promise<number>((resolve) =>
        stranger.once(
          "unexpected-response",
          (_req: unknown, res: { statusCode: number }) => resolve(res.statusCode),
        )
      ),
      "the refusal",
    );
    assert.equal(status, 403);
    stranger.terminate();
    a.close();
    b.close();
  } finally {
    await node.close();
  }
});
