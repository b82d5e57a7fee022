/**
 * Cold apps fill the free slots of hosts already running or starting before
 * another host starts: a burst of first requests to many apps lands on as
 * few hosts as their slots allow (issue 15, density).
 */
import assert from "node:assert/strict";
import { deadline } from "./deadline.ts";
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
