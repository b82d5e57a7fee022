import assert from "node:assert/strict";
import { waitFor } from "./deadline.ts";
import { deployFiles, type TestNode, withTestNode } from "./helpers.ts";

const withNode = withTestNode;

const deployOk = deployFiles;

const call = (node: TestNode, app: string, path: string) =>
  node.fetch(path, { host: `${app}.localhost`, token: null });

const PROBES = `
  const probes: Record<string, (arg: string) => Promise<unknown>> = {
    readPasswd: () => Deno.readTextFile("/etc/passwd"),
    readDb: (path) => Deno.readFile(path),
    writeFile: () => Deno.writeTextFile("/tmp/fazt-escape.txt", "x"),
    env: async () => Deno.env.get("HOME"),
    envAll: async () => Deno.env.toObject(),
    spawn: () => new Deno.Command("id").output(),
    fetchAdmin: (port) => fetch("http://127.0.0.1:" + port + "/api/apps"),
    fetchOut: () => fetch("https://example.com/"),
    // Specifiers built at run time: the compiler refuses literal ones already.
    importRemote: (url) => import(url),
    importFile: (url) => import(url),
    nestedWorker: async () => {
      const w = new Worker("data:text/javascript,postMessage(1)", { type: "module", deno: { permissions: { read: true } } } as any);
      w.terminate();
    },
    listen: async () => Deno.listen({ port: 0 }),
    ffi: async () => Deno.dlopen("libc.so.6", {}),
    sys: async () => Deno.hostname(),
  };
  export default async (req: Request) => {
    const url = new URL(req.url);
    const name = url.pathname.split("/").pop()!;
    try {
      await probes[name](url.searchParams.get("arg") ?? "");
      return new Response("ESCAPED");
    } catch (e) {
      return new Response("refused: " + (e as Error).name + ": " + (e as Error).message);
    }
  };
`;

Deno.test("escape suite: app code cannot reach files, env, processes, the network or other code", async () => {
  await withNode(async (node) => {
    await deployOk(node, "evil", { "api/main.ts": PROBES });
    const probes: [string, string][] = [
      ["readPasswd", ""],
      ["readDb", node.dbPath],
      ["writeFile", ""],
      ["env", ""],
      ["envAll", ""],
      ["spawn", ""],
      ["fetchAdmin", String(node.server.port)],
      ["fetchOut", ""],
      ["importRemote", `http://127.0.0.1:${node.server.port}/health`],
      ["importFile", new URL("../main.ts", import.meta.url).href],
      ["nestedWorker", ""],
      ["listen", ""],
      ["ffi", ""],
      ["sys", ""],
    ];
    for (const [probe, arg] of probes) {
      const res = await call(node, "evil", `/api/${probe}?arg=${encodeURIComponent(arg)}`);
      const text = await res.text();
      assert.equal(res.status, 200, `${probe}: ${text}`);
      assert.match(text, /^refused: /, `${probe} must be refused: ${text}`);
    }
    const escaped = await Deno.stat("/tmp/fazt-escape.txt").then(() => true, () => false);
    assert.equal(escaped, false);
  });
});

Deno.test("escape suite: forged bridge messages cannot reach another app's data", async () => {
  await withNode(async (node) => {
    await deployOk(node, "victim", {
      "api/main.ts": `export default async (req: Request, ctx: any) => {
        await ctx.kv.set("secret", "victim-only");
        await ctx.docs.insert("private", { id: "p1", v: "victim-doc" });
        await ctx.blobs.put("b", "victim-blob");
        return new Response("stored");
      };`,
    });
    assert.equal(await (await call(node, "victim", "/api/")).text(), "stored");
    const victimId = node.storage.apps.get("victim")!.id;
    await deployOk(node, "thief", {
      "api/main.ts": `export default async (req: Request, ctx: any) => {
        // Forge calls as the bootstrap would send them, naming the victim.
        const forged = (op: string, args: unknown[]) => new Promise((resolve) => {
          const cid = 900000 + Math.floor(Math.random() * 1000);
          const prev = (self as any).onmessage;
          (self as any).onmessage = (e: MessageEvent) => {
            if (e.data?.t === "result" && e.data.cid === cid) { (self as any).onmessage = prev; resolve(e.data.value ?? e.data.error ?? null); }
            else prev(e);
          };
          (self as any).postMessage({ t: "call", cid, op, args, appId: ${victimId}, app: "victim" });
        });
        const out = {
          kv: await forged("kv.get", ["secret"]),
          kvAs: await forged("kv.get", ["${victimId}:secret"]),
          doc: await forged("docs.get", ["private", "p1"]),
          blob: await forged("blobs.get", ["b"]),
          kvDirect: await ctx.kv.get("secret"),
          list: (await ctx.kv.list()).items.length,
        };
        return Response.json(out);
      };`,
    });
    const res = await call(node, "thief", "/api/");
    const out = await res.json();
    assert.deepEqual(out, { kv: null, kvAs: null, doc: null, blob: null, list: 0 });
    assert.equal(node.storage.kv.get(victimId, "secret"), "victim-only");
  });
});

Deno.test("garbage written to the protocol pipe kills only that app's host", async () => {
  await withNode(async (node) => {
    await deployOk(node, "noisy", {
      "api/main.ts": `export default async () => {
        await Deno.stdout.write(new TextEncoder().encode("\\xff\\xff\\xff\\xffgarbage"));
        await new Promise((r) => setTimeout(r, 2000));
        return new Response("unreachable");
      };`,
    });
    await deployOk(node, "calm", { "api/main.ts": "export default () => new Response('calm');" });
    assert.equal(await (await call(node, "calm", "/api/")).text(), "calm");
    const res = await call(node, "noisy", "/api/");
    assert.ok(res.status >= 500, `status ${res.status}`);
    await res.body?.cancel();
    assert.equal(await (await call(node, "calm", "/api/")).text(), "calm");
  });
});

function processAlive(pid: number): boolean {
  try {
    Deno.statSync(`/proc/${pid}`);
    return true;
  } catch {
    return false;
  }
}

/** CPU time (user + system, in clock ticks) of this process and its children. */
function cpuTicks(pid: number): number {
  const fields = Deno.readTextFileSync(`/proc/${pid}/stat`).split(") ")[1].split(" ");
  return Number(fields[11]) + Number(fields[12]);
}

Deno.test("an infinite loop gets 504 in time, its process dies, other apps keep answering", async () => {
  await withNode(async (node) => {
    await deployOk(node, "spin", { "api/main.ts": "export default () => { while (true) {} };" });
    await deployOk(node, "fine", { "api/main.ts": "export default () => new Response('fine');" });
    assert.equal(await (await call(node, "fine", "/api/")).text(), "fine");
    const started = Date.now();
    const spinning = call(node, "spin", "/api/");
    const host = await waitFor(
      () => node.server.context.runtime.hosts().find((h) => h.appName === "spin"),
      "the spinning app's host",
    );
    assert.ok(host && processAlive(host.pid));
    // While it spins, another app answers.
    for (let i = 0; i < 5; i++) {
      assert.equal(await (await call(node, "fine", "/api/")).text(), "fine");
    }
    const res = await spinning;
    const took = Date.now() - started;
    assert.equal(res.status, 504);
    assert.equal((await res.json()).error.code, "APP_TIMEOUT");
    assert.ok(took >= 800 && took < 5000, `took ${took} ms`);
    await waitFor(() => !processAlive(host.pid), "the spinning process to be gone");
    assert.equal(processAlive(host.pid), false, "the spinning process is gone");
    // Idle is measured over one-second windows: a server still spinning
    // uses most of every window; one busy with start-up work (a new spare
    // host, a loaded CI machine) settles within a few.
    const windows: number[] = [];
    for (let i = 0; i < 5 && !(windows.at(-1)! < 50); i++) {
      const before = cpuTicks(Deno.pid);
      await new Promise((r) => setTimeout(r, 1000));
      windows.push(cpuTicks(Deno.pid) - before);
    }
    assert.ok(
      windows.at(-1)! < 50,
      `the server is idle again (ticks per second: ${windows.join(", ")})`,
    );
    // The next request gets a fresh host (and times out again, not hangs).
    const again = await call(node, "spin", "/api/");
    assert.equal(again.status, 504);
    await again.body?.cancel();
  }, { app_timeout_ms: 1000 });
});

Deno.test("a memory bomb gets 502, and the next request gets a fresh host", async () => {
  await withNode(async (node) => {
    await deployOk(node, "hog", {
      "api/main.ts": `let calls = 0;
      export default (req: Request) => {
        if (new URL(req.url).pathname === "/api/bomb") { const a: number[][] = []; while (true) a.push(new Array(1e6).fill(calls++)); }
        return new Response("ok");
      };`,
    });
    assert.equal(await (await call(node, "hog", "/api/")).text(), "ok");
    const res = await call(node, "hog", "/api/bomb");
    assert.equal(res.status, 502);
    assert.equal((await res.json()).error.code, "APP_CRASHED");
    assert.equal(await (await call(node, "hog", "/api/")).text(), "ok");
  }, { app_memory_mb: 64 });
});

Deno.test("100 concurrent requests to one app all succeed", async () => {
  await withNode(async (node) => {
    await deployOk(node, "busy", {
      "api/main.ts": `export default async (req: Request, ctx: any) => {
        const n = await ctx.kv.increment("n");
        await ctx.docs.insert("hits", { n });
        return new Response(String(n));
      };`,
    });
    const results = await Promise.all(
      Array.from(
        { length: 100 },
        () => call(node, "busy", "/api/").then(async (r) => [r.status, await r.text()]),
      ),
    );
    assert.ok(
      results.every(([s]) => s === 200),
      JSON.stringify(results.filter(([s]) => s !== 200)),
    );
    const numbers = results.map(([, t]) => Number(t)).sort((a, b) => a - b);
    assert.deepEqual(
      numbers,
      Array.from({ length: 100 }, (_, i) => i + 1),
      "increments are atomic",
    );
    const appId = node.storage.apps.get("busy")!.id;
    assert.equal(node.storage.docs.count(appId, "hits"), 100);
    assert.ok(node.server.context.runtime.writes.batches < 200, "writes were grouped");
    // One client, 100 connections at once: past the per-address cap (64) by design.
  }, { max_connections_per_ip: 200 });
});

Deno.test("a full queue answers 503 with Retry-After instead of waiting", async () => {
  await withNode(async (node) => {
    await deployOk(node, "slow", {
      "api/main.ts":
        "export default async () => { await new Promise((r) => setTimeout(r, 300)); return new Response('done'); };",
    });
    const results = await Promise.all(
      Array.from({ length: 8 }, () =>
        call(node, "slow", "/api/").then(async (r) => {
          await r.body?.cancel();
          return [r.status, r.headers.get("retry-after")];
        })),
    );
    const ok = results.filter(([s]) => s === 200).length;
    const busy = results.filter(([s, retry]) => s === 503 && retry === "1").length;
    assert.equal(ok, 3);
    assert.equal(busy, 5);
  }, { app_queue_limit: 3 });
});

Deno.test("hosts stop when idle and start again on the next request", async () => {
  await withNode(async (node) => {
    await deployOk(node, "nap", { "api/main.ts": "export default () => new Response('awake');" });
    assert.equal(await (await call(node, "nap", "/api/")).text(), "awake");
    const pid = node.server.context.runtime.hosts()[0].pid;
    await waitFor(() => node.server.context.runtime.hosts().length === 0, "the idle host to stop");
    assert.equal(node.server.context.runtime.hosts().length, 0);
    await waitFor(() => !processAlive(pid), "the idle host's process to end");
    assert.equal(processAlive(pid), false);
    assert.equal(await (await call(node, "nap", "/api/")).text(), "awake");
  }, { app_idle_ms: 1000 });
});

Deno.test("a redeploy replaces the running host with the new version", async () => {
  await withNode(async (node) => {
    await deployOk(node, "ver", { "api/main.ts": "export default () => new Response('one');" });
    assert.equal(await (await call(node, "ver", "/api/")).text(), "one");
    await deployOk(node, "ver", { "api/main.ts": "export default () => new Response('two');" });
    assert.equal(await (await call(node, "ver", "/api/")).text(), "two");
    await (await node.fetch("/api/apps/ver/rollback", { method: "POST" })).body?.cancel();
    assert.equal(await (await call(node, "ver", "/api/")).text(), "one");
  });
});

Deno.test("an app that keeps crashing is restarted with a growing pause", async () => {
  await withNode(async (node) => {
    await deployOk(node, "crashy", {
      "api/main.ts": `export default (req: Request) => {
        if (new URL(req.url).pathname === "/api/bomb") { const a: number[][] = []; while (true) a.push(new Array(1e6).fill(1)); }
        return new Response("up");
      };`,
    });
    const first = await call(node, "crashy", "/api/bomb");
    assert.equal(first.status, 502);
    await first.body?.cancel();
    // The first crash restarts at once.
    const second = await call(node, "crashy", "/api/bomb");
    assert.equal(second.status, 502);
    await second.body?.cancel();
    // A second crash in a row: the app waits before starting again.
    const paused = await call(node, "crashy", "/api/");
    assert.equal(paused.status, 503);
    assert.ok(Number(paused.headers.get("retry-after")) >= 1);
    assert.equal((await paused.json()).error.code, "APP_RESTARTING");
    // Asking during the pause does not lengthen it; the first answer after it is the app's.
    const after = await waitFor(async () => {
      const res = await call(node, "crashy", "/api/");
      if (res.status !== 503) return res;
      await res.body?.cancel();
    }, "the pause after the second crash to end");
    assert.equal(await after.text(), "up");
  }, { app_memory_mb: 32 });
});

Deno.test("request bodies over the limit get 413 before reaching the app", async () => {
  await withNode(async (node) => {
    await deployOk(node, "up", {
      "api/main.ts":
        "export default async (req: Request) => new Response(String((await req.arrayBuffer()).byteLength));",
    });
    const ok = await node.fetch("/api/", {
      host: "up.localhost",
      token: null,
      method: "POST",
      body: "x".repeat(1000),
    });
    assert.equal(await ok.text(), "1000");
    const big = await node.fetch("/api/", {
      host: "up.localhost",
      token: null,
      method: "POST",
      body: "x".repeat(5000),
    });
    assert.equal(big.status, 413);
    assert.equal((await big.json()).error.code, "PAYLOAD_TOO_LARGE");
  }, { app_max_body_bytes: 4096 });
});

Deno.test("an app may start only a few Workers, none with more permissions", async () => {
  await withNode(async (node) => {
    await deployOk(node, "spawner", {
      "api/main.ts": `export default () => {
        const made: string[] = [];
        for (let i = 0; i < 6; i++) {
          try { new Worker("data:text/javascript,1", { type: "module" }); made.push("ok"); }
          catch (e) { made.push((e as Error).message); }
        }
        return Response.json(made);
      };`,
    });
    const made = await (await call(node, "spawner", "/api/")).json();
    assert.deepEqual(made.slice(0, 2), ["ok", "ok"]);
    assert.ok(
      made.slice(2).every((m: string) => /at most 2 Workers/.test(m)),
      JSON.stringify(made),
    );
  }, { app_max_workers: 2 });
});
