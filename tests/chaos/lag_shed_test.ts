/**
 * Shedding by event-loop lag: while the node's event loop runs late (here
 * the whole process is paused again and again, as a machine starved of CPU
 * pauses it), new requests get a fast `503 OVERLOADED` with `Retry-After`
 * instead of queueing (all but `/health`: a busy node is alive); once it
 * keeps time again, it serves again.
 */
import assert from "node:assert/strict";
import { deadline, waitFor } from "../deadline.ts";
import { answerOf, startChaosNode } from "./chaos_node.ts";

const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

Deno.test("a node whose event loop runs late sheds new requests with 503 OVERLOADED, then serves again", async () => {
  const node = await startChaosNode({ settings: { overload_lag_ms: 50 } });
  const pid = node.server.proc.pid;
  const page = `http://127.0.0.1:${node.port}/llms.txt`;
  const health = `http://127.0.0.1:${node.port}/health`;
  try {
    assert.equal((await answerOf(await fetch(page))).status, 200, "serving before");
    // Stopped 300 ms, running 20 ms: each of its 100 ms lag samples is late.
    let starving = true;
    const starve = (async () => {
      while (starving) {
        Deno.kill(pid, "SIGSTOP");
        await pause(300);
        Deno.kill(pid, "SIGCONT");
        await pause(20);
      }
    })();
    let shed: { code?: string; retryAfter: string | null; alive: number } | undefined;
    try {
      shed = await deadline(
        (async () => {
          for (;;) {
            const res = await fetch(page);
            const answer = await answerOf(res);
            if (answer.status === 503) {
              // Liveness is answered while the rest is shed.
              const alive = await answerOf(await fetch(health));
              return {
                code: answer.code,
                retryAfter: res.headers.get("retry-after"),
                alive: alive.status,
              };
            }
            assert.equal(answer.status, 200);
          }
        })(),
        "a request shed while the event loop runs late",
      );
    } finally {
      starving = false;
      await starve;
      Deno.kill(pid, "SIGCONT");
    }
    assert.equal(shed.code, "OVERLOADED");
    assert.equal(shed.retryAfter, "1");
    assert.equal(shed.alive, 200, "/health is not shed");
    // Two samples on time end the shedding.
    await waitFor(
      async () => (await answerOf(await fetch(page))).status === 200,
      "a 200 once the event loop keeps time",
    );
    assert.equal(node.server.status, undefined, "the node is still running");
  } finally {
    await node.stop();
  }
});
