/**
 * Cold apps fill the free slots of hosts already running or starting before
 * another host starts: a burst of first requests to many apps lands on as
 * few hosts as their slots allow (issue 15, density).
 */
import assert from "node:assert/strict";
import { deadline, waitFor } from "./deadline.ts";
import { deployFiles, withTestNode } from "./helpers.ts";

const APP = (i: number) => `export default () => Response.json({ app: ${i} });`;

Deno.test("cold apps hit at once fill each host's slots: ceil(apps / slots) hosts", async () => {
  const slots = 4;
  const apps = 10;
  await withTestNode(async (node) => {
    const names = Array.from({ length: apps }, (_, i) => `cold${i}`);
    for (const [i, name] of names.entries()) {
      await deployFiles(node, name, { "api/main.ts": APP(i) });
    }
    const answers = await deadline(
      Promise.all(names.map((name) => node.fetch("/api/", { host: `${name}.localhost` }))),
      "the first requests to all the cold apps",
    );
    for (const [i, res] of answers.entries()) {
      assert.equal(res.status, 200, names[i]);
      assert.deepEqual(await res.json(), { app: i });
    }
    const placed = node.server.context.runtime.hosts();
    assert.deepEqual(placed.map((h) => h.appName).sort(), [...names].sort());
    const perHost = new Map<number, number>();
    for (const h of placed) perHost.set(h.pid, (perHost.get(h.pid) ?? 0) + 1);
    assert.equal(perHost.size, Math.ceil(apps / slots), JSON.stringify([...perHost]));
    assert.deepEqual([...perHost.values()].sort(), [2, 4, 4]);
    // No host was started beside them: the last one has free slots, so no spare either.
    assert.deepEqual(
      new Set(node.server.context.runtime.hostPids()),
      new Set(perHost.keys()),
    );
  }, { app_host_slots: slots });
});

Deno.test("an app waiting on slow I/O keeps 16 requests at its code while another app is busy", async () => {
  await withTestNode(async (node) => {
    // Holds each request until told: I/O the server's thread does not spend.
    await deployFiles(node, "slow", {
      "api/main.ts": `let release = () => {};
const gate = new Promise<void>((r) => release = r);
let waiting = 0;
export default async (req: Request) => {
  const path = new URL(req.url).pathname;
  if (path === "/api/release") { release(); return new Response("released"); }
  if (path === "/api/waiting") return new Response(String(waiting));
  waiting++;
  await gate;
  waiting--;
  return new Response("slow");
};`,
    });
    await deployFiles(node, "busy", {
      "api/main.ts": "export default () => new Response('busy');",
    });
    let stop = false;
    // The other app keeps the server shared throughout.
    const busy = (async () => {
      while (!stop) await (await node.fetch("/api/", { host: "busy.localhost" })).text();
    })();
    const held = Array.from({ length: 20 }, () => node.fetch("/api/", { host: "slow.localhost" }));
    try {
      await deadline(
        (async () => {
          for (;;) {
            const n = await (await node.fetch("/api/waiting", { host: "slow.localhost" })).text();
            if (Number(n) >= 16) return;
            await new Promise((r) => setTimeout(r, 20));
          }
        })(),
        "16 of the slow app's requests at its code at once",
      );
    } finally {
      await (await node.fetch("/api/release", { host: "slow.localhost" })).text();
      stop = true;
      await busy;
    }
    for (const r of await Promise.all(held)) assert.equal(await r.text(), "slow");
  });
});

Deno.test("a slot freed by a redeploy takes another app: no new host for it", async () => {
  const slots = 4;
  await withTestNode(async (node) => {
    const runtime = node.server.context.runtime;
    const first = ["r0", "r1", "r2", "r3"];
    for (const [i, name] of first.entries()) {
      await deployFiles(node, name, { "api/main.ts": APP(i) });
    }
    const hit = async (name: string, i: number) => {
      const res = await deadline(node.fetch("/api/", { host: `${name}.localhost` }), name);
      assert.equal(res.status, 200, name);
      assert.deepEqual(await res.json(), { app: i });
    };
    for (const [i, name] of first.entries()) await hit(name, i);
    const full = runtime.hosts()[0].pid;
    assert.ok(runtime.hosts().every((h) => h.pid === full), "the first four share one host");
    // Its slots are all taken, so a spare starts; wait for it to be ready.
    await waitFor(
      () => runtime.hostSlots().some((h) => h.pid !== full && h.fresh > 0),
      "the spare host",
    );
    const before = new Set(runtime.hostPids());
    // A redeploy stops an app's Worker: two slots of the full host are freed.
    await deployFiles(node, "r0", { "api/main.ts": APP(10) });
    await deployFiles(node, "r1", { "api/main.ts": APP(11) });
    await waitFor(
      () => runtime.hostSlots().find((h) => h.pid === full)?.fresh === 2,
      "the freed slots to hold fresh Workers",
    );
    for (const [i, name] of ["n0", "n1"].entries()) {
      await deployFiles(node, name, { "api/main.ts": APP(20 + i) });
      await hit(name, 20 + i);
      assert.equal(runtime.hosts().find((h) => h.appName === name)?.pid, full, name);
    }
    // The redeployed apps start again in the spare: still the same two hosts.
    await hit("r0", 10);
    await hit("r1", 11);
    assert.deepEqual(new Set(runtime.hostPids()), before);
    const byHost = runtime.hostSlots().find((h) => h.pid === full);
    assert.deepEqual({ holding: byHost?.holding, dead: byHost?.dead }, { holding: 4, dead: 0 });
  }, { app_host_slots: slots });
});

Deno.test("an app in a reused slot that spins after its response is still stopped", async () => {
  await withTestNode(async (node) => {
    const runtime = node.server.context.runtime;
    await deployFiles(node, "first", { "api/main.ts": APP(0) });
    await deployFiles(node, "stay", { "api/main.ts": APP(1) });
    for (const name of ["first", "stay"]) {
      const res = await node.fetch("/api/", { host: `${name}.localhost` });
      assert.equal(res.status, 200, name);
      await res.body?.cancel();
    }
    const shared = runtime.hosts().find((h) => h.appName === "stay")!.pid;
    assert.equal(runtime.hosts().find((h) => h.appName === "first")?.pid, shared);
    // Stopping "first" frees its slot; a new Worker (a new thread) takes it.
    await deployFiles(node, "first", { "api/main.ts": APP(2) });
    await waitFor(
      () => runtime.hostSlots().find((h) => h.pid === shared)?.fresh === 1,
      "the freed slot to hold a fresh Worker",
    );
    await deployFiles(node, "spinner", {
      "api/main.ts": `export default () => {
        setTimeout(() => { while (true) {} }, 10);
        return new Response("answered");
      };`,
    });
    const r = await node.fetch("/api/", { host: "spinner.localhost" });
    assert.equal(await r.text(), "answered");
    assert.equal(runtime.hosts().find((h) => h.appName === "spinner")?.pid, shared);
    await waitFor(() => !runtime.hostPids().includes(shared), "the spinning host to be stopped");
    const logs = await waitFor(async () => {
      const res = await node.fetch("/api/apps/spinner/logs?limit=100");
      const lines: { message: string }[] = (await res.json()).data;
      return lines.some((l) => /kept using CPU with no request in flight/.test(l.message)) &&
        lines;
    }, "the spinner's log line");
    assert.ok(logs.length > 0);
    // The spinner, not its neighbour, was moved to a host of its own.
    assert.equal(
      await (await node.fetch("/api/", { host: "spinner.localhost" })).text(),
      "answered",
    );
    const stay = await node.fetch("/api/", { host: "stay.localhost" });
    assert.deepEqual(await stay.json(), { app: 1 });
    assert.notEqual(
      runtime.hosts().find((h) => h.appName === "spinner")?.pid,
      runtime.hosts().find((h) => h.appName === "stay")?.pid,
    );
  }, { app_host_slots: 2 });
});

/** The names of a process's Worker threads (`worker-N`). */
function workerThreads(pid: number): string[] {
  const names = [];
  for (const t of Deno.readDirSync(`/proc/${pid}/task`)) {
    try {
      const name = Deno.readTextFileSync(`/proc/${pid}/task/${t.name}/comm`).trim();
      if (/^worker-\d+$/.test(name)) names.push(name);
    } catch {
      // The thread ended meanwhile.
    }
  }
  return names;
}

Deno.test("a host starts Workers as apps arrive: one app in 8 slots runs 3 Workers, not 8", async () => {
  await withTestNode(async (node) => {
    const runtime = node.server.context.runtime;
    await deployFiles(node, "only", { "api/main.ts": APP(0) });
    const res = await node.fetch("/api/", { host: "only.localhost" });
    assert.deepEqual(await res.json(), { app: 0 });
    const pid = runtime.hosts()[0].pid;
    // The app's Worker and two warm ones for the next cold apps; no other host.
    const slots = await waitFor(() => {
      const h = runtime.hostSlots().find((x) => x.pid === pid);
      return h?.fresh === 2 && h;
    }, "two warm Workers beside the app");
    assert.deepEqual(slots, { pid, fresh: 2, holding: 1, dead: 0, idle: 5 });
    assert.equal(workerThreads(pid).length, 3);
    assert.deepEqual(runtime.hostPids(), [pid]);
    // More apps: each takes a warm Worker and another starts behind it.
    for (let i = 1; i < 8; i++) {
      await deployFiles(node, `more${i}`, { "api/main.ts": APP(i) });
      const r = await node.fetch("/api/", { host: `more${i}.localhost` });
      assert.deepEqual(await r.json(), { app: i });
      assert.equal(runtime.hosts().find((h) => h.appName === `more${i}`)?.pid, pid);
    }
    const full = runtime.hostSlots().find((x) => x.pid === pid);
    assert.deepEqual({ holding: full?.holding, idle: full?.idle }, { holding: 8, idle: 0 });
  }, { app_host_slots: 8 });
});
