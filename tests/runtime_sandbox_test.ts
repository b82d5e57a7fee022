/**
 * The sandbox's limits (issue 12, item 4): no package fetched at run time,
 * memory bounded with ArrayBuffers counted, the nested-Worker cap not
 * reachable around, no CPU after the response, app output never on the
 * protocol, no listening.
 */
import assert from "node:assert/strict";
import { waitFor } from "./deadline.ts";
import { deployFiles, type TestNode, withTestNode } from "./helpers.ts";

const call = (node: TestNode, app: string, path: string) =>
  node.fetch(path, { host: `${app}.localhost`, token: null });

const text = async (node: TestNode, app: string, path: string) => {
  const res = await call(node, app, path);
  return { status: res.status, text: await res.text() };
};

const hostOf = (node: TestNode, app: string) =>
  node.server.context.runtime.hosts().find((h) => h.appName === app);

function processAlive(pid: number): boolean {
  try {
    Deno.statSync(`/proc/${pid}`);
    return true;
  } catch {
    return false;
  }
}

type LogLine = { level: string; message: string };

function logsOf(node: TestNode, app: string, ready: (logs: LogLine[]) => boolean) {
  return waitFor(async () => {
    const res = await node.fetch(`/api/apps/${app}/logs?limit=1000`);
    const logs: LogLine[] = (await res.json()).data;
    return ready(logs) && logs;
  }, `the log lines of ${app}`);
}

/** An app that keeps a count in memory and in its KV store. */
const COUNTER = `let n = 0;
export default async (req: Request, ctx: any) => {
  n++;
  await ctx.kv.set("count", n);
  return Response.json({ n });
};`;

Deno.test("npm:, jsr: and remote imports fail in app code, and no registry is asked", async () => {
  const asked: string[] = [];
  const registry = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, (req) => {
    asked.push(req.url);
    return new Response("{}", { status: 404 });
  });
  const url = `http://127.0.0.1:${registry.addr.port}/`;
  // The app hosts inherit it: were they able to fetch packages, they would ask here.
  Deno.env.set("NPM_CONFIG_REGISTRY", url);
  try {
    await withTestNode(async (node) => {
      await deployFiles(node, "importer", {
        "api/main.ts": `export default async (req: Request) => {
          // Built at run time: the compiler refuses literal specifiers already.
          const spec = new URL(req.url).searchParams.get("s")!;
          try { await import(spec); return new Response("LOADED"); }
          catch (e) { return new Response("refused: " + (e as Error).message); }
        };`,
      });
      for (const spec of ["npm:left-pad@1.3.0", "npm:is-odd", "jsr:@std/path", `${url}m.js`]) {
        const r = await text(node, "importer", `/api/?s=${encodeURIComponent(spec)}`);
        assert.equal(r.status, 200);
        assert.match(r.text, /^refused: /, `${spec}: ${r.text}`);
      }
    });
    assert.deepEqual(asked, [], "nothing was fetched");
  } finally {
    Deno.env.delete("NPM_CONFIG_REGISTRY");
    await registry.shutdown();
  }
});

Deno.test("a 3 GB ArrayBuffer under a small cap fails, and the neighbour keeps its state", async () => {
  await withTestNode(async (node) => {
    await deployFiles(node, "hog", {
      "api/main.ts": `export default () => {
        try { const b = new ArrayBuffer(3 * 1024 ** 3); return new Response("ALLOCATED " + b.byteLength); }
        catch (e) { return new Response("refused: " + (e as Error).name); }
      };`,
    });
    await deployFiles(node, "counter", { "api/main.ts": COUNTER });
    assert.deepEqual(await (await call(node, "counter", "/api/")).json(), { n: 1 });
    const r = await text(node, "hog", "/api/");
    assert.equal(r.status, 200);
    assert.equal(r.text, "refused: RangeError");
    assert.equal(hostOf(node, "hog")?.pid, hostOf(node, "counter")?.pid, "they share a host");
    assert.deepEqual(
      await (await call(node, "counter", "/api/")).json(),
      { n: 2 },
      "not restarted",
    );
  }, { app_memory_mb: 64 });
});

Deno.test("memory held in ArrayBuffers past the cap stops the app, not its neighbour's data", async () => {
  await withTestNode(async (node) => {
    await deployFiles(node, "hoarder", {
      "api/main.ts": `const keep: Uint8Array[] = [];
      export default async (req: Request) => {
        if (!req.url.endsWith("/hoard")) return new Response("fine");
        for (let i = 0; i < 64; i++) {
          keep.push(new Uint8Array(8 * 1024 * 1024).fill(1));
          await new Promise((r) => setTimeout(r, 50));
        }
        return new Response("kept " + keep.length);
      };`,
    });
    await deployFiles(node, "counter", { "api/main.ts": COUNTER });
    assert.deepEqual(await (await call(node, "counter", "/api/")).json(), { n: 1 });
    const shared = hostOf(node, "counter")!.pid;
    assert.equal(hostOf(node, "counter")?.pid, shared);
    const r = await call(node, "hoarder", "/api/hoard");
    assert.equal(r.status, 502);
    assert.equal((await r.json()).error.code, "APP_CRASHED");
    await waitFor(() => !processAlive(shared), "the shared host to be stopped");
    const counterId = node.storage.apps.get("counter")!.id;
    assert.equal(node.storage.kv.get(counterId, "count"), 1, "the neighbour's data is intact");
    const again = await (await call(node, "counter", "/api/")).json();
    assert.deepEqual(again, { n: 1 }, "the neighbour restarted once, in a fresh slot");
    assert.equal((await text(node, "hoarder", "/api/")).text, "fine");
    const alone = hostOf(node, "hoarder")!.pid;
    assert.notEqual(alone, hostOf(node, "counter")!.pid, "the hoarder runs alone now");
  }, { app_memory_mb: 64 });
});

Deno.test("the Worker cap cannot be reached around through the prototype chain", async () => {
  await withTestNode(async (node) => {
    await deployFiles(node, "sneaky", {
      "api/main.ts": `export default () => {
        const src = "data:text/javascript,1";
        const out: Record<string, string> = {};
        const attempt = (name: string, make: () => unknown) => {
          try { make(); out[name] = "STARTED"; } catch (e) { out[name] = "refused: " + (e as Error).message; }
        };
        attempt("first", () => new Worker(src, { type: "module" }));
        attempt("prototype", () => new (Object.getPrototypeOf(Worker) as any)(src, { type: "module" }));
        attempt("constructor", () => new (Worker.prototype.constructor as any)(src, { type: "module" }));
        attempt("call", () => (Worker as any)(src, { type: "module" }));
        return Response.json(out);
      };`,
    });
    const out = await (await call(node, "sneaky", "/api/")).json();
    assert.equal(out.first, "STARTED");
    assert.match(out.prototype, /^refused: .*not a constructor/);
    assert.match(out.constructor, /^refused: an app may start at most 1 Workers/);
    assert.match(out.call, /^refused: /);
  }, { app_max_workers: 1 });
});

Deno.test("a Worker started past the cap with node:worker_threads stops the host and exiles the app", async () => {
  await withTestNode(async (node) => {
    await deployFiles(node, "threads", {
      "api/main.ts": `export default async (req: Request) => {
        if (!req.url.endsWith("/thread")) return new Response("fine");
        // Built at run time: the compiler refuses literal specifiers outside the app.
        const { Worker } = await import(["node", "worker_threads"].join(":"));
        new Worker(new URL("data:text/javascript,setInterval(() => {}, 1000)"));
        return new Response("started");
      };`,
    });
    await deployFiles(node, "counter", { "api/main.ts": COUNTER });
    assert.deepEqual(await (await call(node, "counter", "/api/")).json(), { n: 1 });
    const shared = hostOf(node, "counter")!.pid;
    const r = await call(node, "threads", "/api/thread");
    await r.body?.cancel();
    await waitFor(() => !processAlive(shared), "the host to be stopped");
    assert.deepEqual(await (await call(node, "counter", "/api/")).json(), { n: 1 });
    assert.equal((await text(node, "threads", "/api/")).text, "fine");
    const mine = hostOf(node, "threads")!.pid;
    assert.notEqual(mine, hostOf(node, "counter")!.pid, "the app runs in a host of its own");
  });
});

for (
  const [name, code] of [
    [
      "a nested Worker",
      `export default () => {
        new Worker("data:text/javascript,while (true) {}", { type: "module" });
        return new Response("answered");
      };`,
    ],
    [
      "the app's own Worker",
      `export default () => {
        setTimeout(() => { while (true) {} }, 10);
        return new Response("answered");
      };`,
    ],
  ]
) {
  Deno.test(`${name} spinning after the response is stopped`, async () => {
    await withTestNode(async (node) => {
      await deployFiles(node, "spinner", { "api/main.ts": code });
      await deployFiles(node, "counter", { "api/main.ts": COUNTER });
      assert.deepEqual(await (await call(node, "counter", "/api/")).json(), { n: 1 });
      const r = await text(node, "spinner", "/api/");
      assert.equal(r.text, "answered");
      const pid = hostOf(node, "spinner")!.pid;
      await waitFor(() => !processAlive(pid), "the spinning host to be stopped");
      const logs = await logsOf(node, "spinner", (l) => l.some((x) => /CPU/.test(x.message)));
      assert.ok(logs.some((l) => /kept using CPU with no request in flight/.test(l.message)));
      // The neighbour came back; the spinner answers again, alone.
      assert.deepEqual(await (await call(node, "counter", "/api/")).json(), { n: 1 });
      assert.equal((await text(node, "spinner", "/api/")).text, "answered");
      assert.notEqual(hostOf(node, "spinner")!.pid, hostOf(node, "counter")!.pid);
    });
  });
}

Deno.test("work that ends within a second of the response keeps the host", async () => {
  await withTestNode(async (node) => {
    // 950 ms of work, begun 600 ms after each answer. The requests go out
    // just after a sample of the hosts, so the work fills most of the next
    // window but one: a watch that stopped hosts after one window at least
    // half busy stopped this one.
    await deployFiles(node, "worker", {
      "api/main.ts": `export default () => {
        setTimeout(() => { const until = Date.now() + 950; while (Date.now() < until) {} }, 600);
        return new Response("answered");
      };`,
    });
    await deployFiles(node, "counter", { "api/main.ts": COUNTER });
    assert.deepEqual(await (await call(node, "counter", "/api/")).json(), { n: 1 });
    const runtime = node.server.context.runtime;
    let pid = 0;
    for (let i = 0; i < 3; i++) {
      const taken = runtime.samplesTaken;
      await waitFor(() => runtime.samplesTaken > taken, "a sample of the hosts");
      assert.equal((await text(node, "worker", "/api/")).text, "answered");
      pid ||= hostOf(node, "worker")!.pid;
      // The work and two whole sampling windows after it.
      await waitFor(() => runtime.samplesTaken >= taken + 4, "three more samples");
    }
    assert.ok(processAlive(pid), "the host was not stopped");
    assert.equal(hostOf(node, "worker")!.pid, pid);
    assert.deepEqual(await (await call(node, "counter", "/api/")).json(), { n: 2 });
    const logs = await logsOf(node, "worker", () => true);
    assert.ok(!logs.some((l) => /kept using CPU/.test(l.message)));
  });
});

Deno.test("console.dir, console.table and raw output cannot break the host", async () => {
  await withTestNode(async (node) => {
    await deployFiles(node, "noisy", {
      "api/main.ts": `export default async () => {
        const { writeSync } = await import(["node", "fs"].join(":"));
        console.dir({ deep: { a: [1, 2, 3] } });
        console.table([{ a: 1, b: "x" }, { a: 2, b: "y" }]);
        console.group("grouped"); console.log("inside"); console.groupEnd();
        let stdout = "written";
        try { await Deno.stdout.write(new TextEncoder().encode("\\xff\\xff\\xff\\xffgarbage\\n")); }
        catch (e) { stdout = "refused: " + (e as Error).message; }
        let fd = "written";
        try { writeSync(1, "\\xff\\xff\\xff\\xff raw bytes on fd 1\\n"); writeSync(2, "and on fd 2\\n"); }
        catch (e) { fd = "refused: " + (e as Error).message; }
        return Response.json({ stdout, fd });
      };`,
    });
    await deployFiles(node, "counter", { "api/main.ts": COUNTER });
    assert.deepEqual(await (await call(node, "counter", "/api/")).json(), { n: 1 });
    const first = await (await call(node, "noisy", "/api/")).json();
    assert.match(first.stdout, /^refused: .*console\.log/);
    // Whatever reaches fd 1 or 2 is the host's log, never the protocol: both keep answering.
    assert.equal((await call(node, "noisy", "/api/")).status, 200);
    assert.deepEqual(await (await call(node, "counter", "/api/")).json(), { n: 2 });
    const table = (l: LogLine) => l.message.includes("┌") && l.message.includes("│ a │");
    const logs = await logsOf(node, "noisy", (l) => l.some(table));
    assert.ok(logs.some((l) => l.message.includes("deep: { a: [ 1, 2, 3 ] }")));
    assert.ok(logs.some((l) => l.message === "  inside"));
  });
});

Deno.test("apps cannot listen on a port, by any API", async () => {
  await withTestNode(async (node) => {
    await deployFiles(node, "listener", {
      "api/main.ts":
        `const nodeListen = (server: any, ...args: unknown[]) => new Promise((resolve, reject) => {
        // node:net reports a refused permission as an uncaught error, not an "error" event.
        addEventListener("error", (e) => { e.preventDefault(); reject(e.error); }, { once: true });
        server.on("error", reject);
        server.listen(...args, () => resolve("LISTENING " + JSON.stringify(server.address())));
      });
      export default async () => {
        const net = (await import(["node", "net"].join(":"))).default;
        const http = (await import(["node", "http"].join(":"))).default;
        const probes: Record<string, () => unknown> = {
          denoListen: () => Deno.listen({ port: 0 }),
          denoListenEgressName: () => Deno.listen({ hostname: "fazt-egress.invalid", port: 0 }),
          denoServe: () => Deno.serve({ port: 0, onListen() {} }, () => new Response("x")),
          datagram: () => (Deno as any).listenDatagram({ port: 0, transport: "udp" }),
          nodeNet: () => nodeListen(net.createServer(), 0, "127.0.0.1"),
          nodeNetAny: () => nodeListen(net.createServer(), 0),
          nodeHttp: () => nodeListen(http.createServer(), 0),
          nodeNetEgressName: () => nodeListen(net.createServer(), 0, "fazt-egress.invalid"),
        };
        const out: Record<string, string> = {};
        for (const [name, probe] of Object.entries(probes)) {
          try { const r = await probe(); out[name] = "LISTENING " + String(r); }
          catch (e) { out[name] = "refused: " + (e as Error).name; }
        }
        return Response.json(out);
      };`,
    });
    const res = await call(node, "listener", "/api/");
    const out = await res.json();
    assert.equal(res.status, 200, JSON.stringify(out));
    for (const [probe, result] of Object.entries(out)) {
      assert.match(String(result), /^refused: /, `${probe}: ${result}`);
    }
    assert.equal(Object.keys(out).length, 8);
  });
});
