/**
 * A front door alone in its own process, for tests that need a process of
 * its own (run under a small descriptor limit by descriptors_test.ts). Its
 * connection cap is far above that limit, so accept() itself runs out of
 * descriptors: the path the cap otherwise keeps a node away from.
 *   deno run --allow-net door_process.ts MAX_CONNECTIONS
 * Prints `listening PORT`; answers `/stats` with the door's counters and
 * anything else with `ok`.
 */
import { FrontDoor } from "../server/front_door.ts";

const max = Number(Deno.args[0] ?? 1000);
const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
const door: FrontDoor = new FrontDoor({
  limits: {
    maxConnections: max,
    maxConnectionsPerIp: 100_000,
    headerTimeoutMs: 60_000,
    idleTimeoutMs: 60_000,
    bodyStallTimeoutMs: 60_000,
    maxRequestsInFlight: 1000,
    overloadLagMs: 0,
  },
  handler: (req) =>
    new URL(req.url).pathname === "/stats" ? Response.json(door.stats) : new Response("ok"),
  onError: () => new Response("error", { status: 500 }),
  log: (m) => console.error(m),
});
door.listen(listener);
console.log(`listening ${listener.addr.port}`);
