/**
 * WebSockets (issue 14): `Deno.upgradeWebSocket(req)` in app code. The
 * server upgrades the client's request and relays messages over the app's
 * connection; apps keep sockets in memory and broadcast; a redeploy closes
 * them with 1012; messages over `app_ws_max_message_bytes` close the
 * socket with 1009; past `app_max_websockets` an upgrade is refused (503).
 *
 * Every node here is a real one behind fazt's front door: plain HTTP
 * connections are peeked at to tell an upgrade, HTTPS ones that speak
 * HTTP/1.1 may upgrade, and an app whose code hides the call is learned
 * from its first attempt.
 */
import assert from "node:assert/strict";
import WebSocket from "ws";
import { StaticCertificates } from "../server/mod.ts";
import type { Storage } from "../storage/mod.ts";
import { deadline, waitFor } from "./deadline.ts";
import { deployFiles, startTestNode, type TestNode } from "./helpers.ts";
import { rawConnect } from "./raw_socket.ts";
import { makeTestCa } from "./tls_certs.ts";

interface WsNode {
  node: TestNode;
  port: number;
  storage: Storage;
  deploy(name: string, files: Record<string, string>): Promise<void>;
  request(path: string, init: { host: string; token: null }): Promise<Response>;
  close(): Promise<void>;
}

async function startWsNode(settings: Record<string, string | number> = {}): Promise<WsNode> {
  const node = await startTestNode({ settings });
  return {
    node,
    port: node.server.port,
    storage: node.storage,
    async deploy(name, files) {
      await deployFiles(node, name, files);
    },
    request: (path, init) => node.fetch(path, init),
    close: () => node.close(),
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
  const node = await startWsNode();
  try {
    await node.deploy("echo", { "api/main.ts": ECHO });
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
    const plain = await node.request("/api/ws", { host: "echo.localhost", token: null });
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
  const node = await startWsNode();
  try {
    await node.deploy("chat", { "api/main.ts": CHAT });
    const clients = [0, 1, 2].map(() => connect(node, "chat"));
    await Promise.all(clients.map(opened));
    await waitFor(async () => {
      const r = await node.request("/api/count", { host: "chat.localhost", token: null });
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
  const node = await startWsNode();
  try {
    await node.deploy("chat", { "api/main.ts": CHAT });
    const ws = connect(node, "chat");
    await opened(ws);
    const end = closed(ws);
    await node.deploy("chat", { "api/main.ts": CHAT + "\n// v2" });
    const { code, reason } = await end;
    assert.equal(code, 1012);
    assert.match(reason, /redeployed/);
    const appId = node.storage.apps.get("chat")!.id;
    await waitFor(
      () =>
        node.storage.logs.recent(appId, { limit: 50 }).some((l) =>
          /1 WebSocket\(s\) closed with 1012: the app was redeployed/.test(l.message)
        ),
      "the log line",
    );
  } finally {
    await node.close();
  }
});

Deno.test("a message over app_ws_max_message_bytes closes the socket with 1009; the app may not send one", async () => {
  const node = await startWsNode({ app_ws_max_message_bytes: 1024 });
  try {
    await node.deploy("echo", {
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
    const appId = node.storage.apps.get("echo")!.id;
    await waitFor(
      () =>
        node.storage.logs.recent(appId, { limit: 50 }).some((l) =>
          /message of 1026 bytes was refused/.test(l.message)
        ),
      "the log line",
    );
  } finally {
    await node.close();
  }
});

Deno.test("past app_max_websockets an upgrade is refused with 503 and nothing is held", async () => {
  const node = await startWsNode({ app_max_websockets: 1 });
  try {
    await node.deploy("chat", { "api/main.ts": CHAT });
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
    const r = await node.request("/api/count", { host: "chat.localhost", token: null });
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

Deno.test("a plain request on a node with a WebSocket app is served, on the same port", async () => {
  const node = await startWsNode();
  try {
    await node.deploy("echo", { "api/main.ts": ECHO, "index.html": "<p>home</p>" });
    const ws = connect(node, "echo");
    await opened(ws);
    // Peeked at and served the fast way: a page, and an API call with a body.
    const page = await node.request("/", { host: "echo.localhost", token: null });
    assert.equal(await page.text(), "<p>home</p>");
    const post = await node.node.fetch("/api/ws", {
      method: "POST",
      body: "x",
      host: "echo.localhost",
      token: null,
    });
    assert.equal(post.status, 426);
    await post.body?.cancel();
    ws.send("still here");
    assert.deepEqual(await nextMessage(ws), { data: "echo still here", binary: false });
    ws.close();
  } finally {
    await node.close();
  }
});

Deno.test("with a WebSocket app, a half-sent request head still times out; an open socket outlives the idle timeout", async () => {
  const node = await startWsNode({ header_timeout_ms: 300, idle_timeout_ms: 300 });
  try {
    await node.deploy("echo", { "api/main.ts": ECHO });
    const ws = connect(node, "echo");
    await opened(ws);
    // The door waits to see the head without reading it: a client that
    // stops halfway is closed by the header timeout all the same.
    const slow = await rawConnect(node.port);
    slow.write("GET /api/ws HTTP/1.1\r\nHost: echo.localhost\r\nUpgr");
    // A keep-alive connection that goes quiet is closed by the idle timeout.
    const idle = await rawConnect(node.port);
    idle.write("GET /api/ws HTTP/1.1\r\nHost: echo.localhost\r\n\r\n");
    await idle.waitFor("426");
    await deadline(Promise.all([slow.closed, idle.closed]), "the timeouts to close both");
    assert.equal(slow.received(), "");
    // The WebSocket, idle as long, is neither timed out nor evicted.
    ws.send("after");
    assert.deepEqual(await nextMessage(ws), { data: "echo after", binary: false });
    ws.close();
  } finally {
    await node.close();
  }
});

Deno.test("an app holding a socket is not stopped for idleness; its crash closes the socket with 1011", async () => {
  const node = await startWsNode({ app_idle_ms: 1000 });
  try {
    const code = ECHO.replace(
      'if (e.data === "bye")',
      'if (e.data === "crash") { const hog: number[][] = []; for (;;) hog.push(new Array(1e6).fill(1)); }\n    if (e.data === "bye")',
    );
    await node.deploy("echo", { "api/main.ts": code });
    await node.deploy("other", { "api/main.ts": "export default () => new Response('other');" });
    const ws = connect(node, "echo");
    await opened(ws);
    const other = await node.request("/api/", { host: "other.localhost", token: null });
    assert.equal(await other.text(), "other");
    const running = () => node.node.server.context.runtime.hosts().map((h) => h.appName);
    // The witness, unused as long as the socket, is stopped for idleness.
    await waitFor(() => !running().includes("other"), "the idle app to be stopped");
    assert.ok(running().includes("echo"), "the app holding a socket still runs");
    ws.send("awake?");
    assert.deepEqual(await nextMessage(ws), { data: "echo awake?", binary: false });
    const end = closed(ws);
    ws.send("crash");
    assert.equal((await end).code, 1011);
    const appId = node.storage.apps.get("echo")!.id;
    await waitFor(
      () =>
        node.storage.logs.recent(appId, { limit: 50 }).some((l) =>
          /WebSocket\(s\) closed with 1011/.test(l.message)
        ),
      "the log line",
    );
  } finally {
    await node.close();
  }
});

Deno.test("an app that hides the call: the first upgrade gets 503 to connect again, the next one holds", async () => {
  const node = await startWsNode();
  try {
    // No literal upgradeWebSocket in the code: the node cannot know before.
    const hidden = ECHO.replace(
      "Deno.upgradeWebSocket(req)",
      'Reflect.get(Deno, ["upgrade", "WebSocket"].join(""))(req)',
    );
    assert.ok(!hidden.includes("upgradeWebSocket"));
    await node.deploy("shy", { "api/main.ts": hidden });
    const first = connect(node, "shy");
    const refusal = await deadline(
      new Promise<{ status: number; retry: string | undefined }>((resolve) =>
        first.once(
          "unexpected-response",
          (_req: unknown, res: { statusCode: number; headers: Record<string, string> }) =>
            resolve({ status: res.statusCode, retry: res.headers["retry-after"] }),
        )
      ),
      "the refusal",
    );
    assert.deepEqual(refusal, { status: 503, retry: "1" });
    first.terminate();
    const appId = node.storage.apps.get("shy")!.id;
    await waitFor(
      () =>
        node.storage.logs.recent(appId, { limit: 50 }).some((l) =>
          /could not hold one/.test(l.message)
        ),
      "the log line",
    );
    const again = connect(node, "shy");
    const hello = nextMessage(again);
    await opened(again);
    assert.equal((await hello).data, "hello nobody");
    again.close();
  } finally {
    await node.close();
  }
});

Deno.test("over HTTPS a WebSocket holds on an HTTP/1.1 connection; pages still come over HTTP/2", async () => {
  const ca = await makeTestCa();
  const leaf = await ca.leaf("chat", ["chat.fazt.test"], 1);
  const node = await startTestNode({
    settings: { domain: "fazt.test" },
    https: { port: 0, certificates: new StaticCertificates({ "chat.fazt.test": leaf }) },
  });
  try {
    await deployFiles(node, "chat", { "api/main.ts": CHAT, "index.html": "<p>chat</p>" });
    const port = node.server.https!.port;
    const caPem = await Deno.readTextFile(ca.caFile);
    const url = `wss://127.0.0.1:${port}/api/ws`;
    const open = [0, 1].map(() => {
      const ws = new WebSocket(url, {
        ca: caPem,
        servername: "chat.fazt.test",
        headers: { host: `chat.fazt.test:${port}` },
      });
      ws.on("error", () => {});
      return ws;
    });
    await Promise.all(open.map(opened));
    const heard = nextMessage(open[1]);
    await waitFor(async () => {
      const back = nextMessage(open[0]);
      open[0].send("over tls");
      return (await back).data === "over tls";
    }, "the first socket in the room");
    assert.equal((await heard).data, "over tls");
    const page = await new Deno.Command("curl", {
      args: [
        "-sS",
        "--http2",
        "--cacert",
        ca.caFile,
        "-w",
        "\n%{http_version}",
        "--resolve",
        `chat.fazt.test:${port}:127.0.0.1`,
        `https://chat.fazt.test:${port}/`,
      ],
      stdout: "piped",
    }).output();
    assert.equal(new TextDecoder().decode(page.stdout), "<p>chat</p>\n2");
    for (const ws of open) ws.close();
  } finally {
    await node.close();
  }
});

Deno.test("the guide's chat room broadcasts, and refuses another origin", async () => {
  const guide = await Deno.readTextFile(new URL("../docs/apps.md", import.meta.url));
  const chat = [...guide.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1])
    .find((b) => b.includes("Deno.upgradeWebSocket"));
  assert.ok(chat, "the guide has a chat room");
  const node = await startWsNode();
  try {
    await node.deploy("room", { "api/main.ts": chat });
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
