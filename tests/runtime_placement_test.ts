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
