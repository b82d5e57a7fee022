/**
 * Overload (issue 12): at 3× its capacity the node sheds load with fast
 * 503s, and serves fully again within 2 s after the load stops.
 *
 * The machine is shared, so capacity is measured first, in the same run:
 * requests per second to an app route that burns ~2 ms of CPU, from 16
 * clients that each send the next request when the last is answered. Then
 * an open-loop generator sends three times that rate for a while, whatever
 * the answers (new connections as needed, from 40 loopback addresses), and
 * every answer is timed. When it stops, a client probes until five answers
 * in a row are 200s within 1 s: that is the recovery time. A CI-sized run
 * allows a margin on the deadlines; `FAZT_CHAOS=full` runs longer, with the
 * issue's 2 s.
 */
import assert from "node:assert/strict";
import http from "node:http";
import { quantile, sized, startChaosNode, type Timed, timedGet } from "./chaos_node.ts";

const WORK_APP = `export default (req) => {
  const end = performance.now() + 2;
  let x = 0;
  while (performance.now() < end) x++;
  return Response.json({ x });
};
`;
const MEASURE_S = sized(3, 5);
const OVERLOAD_S = sized(5, 30);
const RECOVERY_LIMIT_MS = sized(4000, 2000);
/** A 503 counts as fast within this. */
const FAST_MS = sized(1000, 250);

function countBy(xs: string[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const x of xs) out[x] = (out[x] ?? 0) + 1;
  return out;
}

Deno.test({
  name: "at 3x capacity the node sheds with fast 503s and recovers within 2 s",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const node = await startChaosNode({ settings: { max_connections_per_ip: 1000 } });
    const agents = Array.from(
      { length: 40 },
      (_, i) =>
        new http.Agent({ keepAlive: true, maxSockets: 50, localAddress: `127.0.5.${i + 1}` }),
    );
    try {
      await node.deploy("work", { "api/main.js": WORK_APP });
      const get = (agent: http.Agent, timeoutMs = 10_000) =>
        timedGet(node.port, "/api/work", "work.localhost", { timeoutMs, agent });
      // Warm the app host up.
      assert.equal((await get(agents[0])).status, 200);

      // 1. Capacity: 16 closed-loop clients.
      let done = 0;
      const measureUntil = performance.now() + MEASURE_S * 1000;
      await Promise.all(
        agents.slice(0, 16).map(async (agent) => {
          while (performance.now() < measureUntil) {
            const r = await get(agent);
            if (r.status === 200) done++;
          }
        }),
      );
      const capacity = done / MEASURE_S;
      assert.ok(capacity > 0, "the app answered while measuring capacity");

      // 2. Three times that, open loop.
      const rate = 3 * capacity;
      const answers: Promise<Timed>[] = [];
      const started = performance.now();
      let sent = 0;
      while (performance.now() - started < OVERLOAD_S * 1000) {
        const due = Math.floor(((performance.now() - started) / 1000) * rate);
        for (; sent < due; sent++) answers.push(get(agents[sent % agents.length]));
        await new Promise((r) => setTimeout(r, 5));
      }
      const stopped = performance.now();

      // 3. Recovery: five 200s in a row, each within 1 s.
      let inARow = 0;
      let recoveredAt = 0;
      while (performance.now() - stopped < 15_000) {
        const r = await timedGet(node.port, "/api/work", "work.localhost", { timeoutMs: 1000 });
        if (r.status === 200 && r.ms <= 1000) {
          if (++inARow === 5) {
            recoveredAt = performance.now();
            break;
          }
        } else inARow = 0;
        await new Promise((r) => setTimeout(r, 20));
      }
      const all = await Promise.all(answers);
      const ok = all.filter((a) => a.status === 200);
      const shed = all.filter((a) => a.status === 503);
      const failed = all.filter((a) => a.status !== 200 && a.status !== 503);
      const recoveryMs = recoveredAt ? recoveredAt - stopped - 5 * 20 : Infinity;
      const ms = (xs: Timed[], q: number) => quantile(xs.map((a) => a.ms), q).toFixed(0);
      console.log(
        `capacity ${capacity.toFixed(0)} req/s; ${rate.toFixed(0)} req/s offered for ` +
          `${OVERLOAD_S} s: ${ok.length} ok (p50 ${ms(ok, 0.5)} ms, p99 ${ms(ok, 0.99)} ms), ` +
          `${shed.length} shed with 503 (p50 ${ms(shed, 0.5)} ms, p99 ${ms(shed, 0.99)} ms; ` +
          `${JSON.stringify(countBy(shed.map((a) => a.code ?? "?")))}), ` +
          `${failed.length} failed${
            failed.length ? ` (${failed[0].error ?? failed[0].status})` : ""
          }; ` +
          `recovered ${recoveryMs.toFixed(0)} ms after the load stopped`,
      );
      assert.equal(node.server.status, undefined, `the node exited:\n${node.server.err}`);
      assert.ok(shed.length > 0, "load beyond capacity was shed");
      assert.ok(shed.every((a) => a.retryAfter !== undefined), "every 503 says when to retry");
      assert.ok(Number(ms(shed, 0.5)) <= FAST_MS, `503s are fast (p50 ${ms(shed, 0.5)} ms)`);
      assert.ok(failed.length <= all.length * 0.01, `${failed.length} requests failed outright`);
      assert.ok(
        recoveryMs <= RECOVERY_LIMIT_MS,
        `full service ${recoveryMs.toFixed(0)} ms after the load stopped`,
      );
    } finally {
      for (const a of agents) a.destroy();
      await node.stop();
    }
  },
});
