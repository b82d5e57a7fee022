/**
 * An app flooding the node beside a modest one is paced: one request at a
 * time at its code while the modest app has requests in flight, every one
 * of them answered (held, never refused), and all its places back the
 * moment the modest app is idle (issue 15, fairness).
 */
import assert from "node:assert/strict";
import { deadline, waitFor } from "./deadline.ts";
import { deployFiles, withTestNode } from "./helpers.ts";

/** Counts its requests at its code; after the first 10 answers, the most at once. */
const FLOODER = `let active = 0;
let answered = 0;
let peak = 0;
let gathered = 0;
let open = () => {};
const barrier = new Promise<void>((r) => open = r);
export default async (req: Request) => {
  const path = new URL(req.url).pathname;
  if (path === "/api/peak") return Response.json({ peak, answered });
  if (path === "/api/together") {
    // Answers only once four are at the code at the same time.
    if (++gathered === 4) open();
    await barrier;
    return new Response("together");
  }
  active++;
  if (answered >= 10) peak = Math.max(peak, active);
  await new Promise((r) => setTimeout(r, 2));
  active--;
  answered++;
  return new Response("flood");
};`;

/**
 * Holds each request a while (I/O: in flight without using the server),
 * for varied times so its clients do not fall into step and all wait
 * between requests at once.
 */
const MODEST = `export default async () => {
  await new Promise((r) => setTimeout(r, 20 + Math.random() * 20));
  return new Response("modest");
};`;

Deno.test("a flooding app beside a modest one gets one request at a time, every one answered, and its places back once alone", async () => {
  await withTestNode(async (node) => {
    await deployFiles(node, "flood", { "api/main.ts": FLOODER });
    await deployFiles(node, "modest", { "api/main.ts": MODEST });
    // Both apps warm before the measured part.
    assert.equal(await (await node.fetch("/api/", { host: "flood.localhost" })).text(), "flood");
    assert.equal(await (await node.fetch("/api/", { host: "modest.localhost" })).text(), "modest");
    let stop = false;
    let modestAnswers = 0;
    // Four clients, each asking again the moment it is answered: the modest
    // app always has requests in flight, never more than its floor.
    const modest = Array.from({ length: 4 }, async (_, i) => {
      await new Promise((r) => setTimeout(r, i * 10));
      while (!stop) {
        const res = await node.fetch("/api/", { host: "modest.localhost" });
        assert.equal(await res.text(), "modest");
        modestAnswers++;
      }
    });
    try {
      await waitFor(() => modestAnswers >= 8, "the modest app's first answers");
      const flood = await deadline(
        Promise.all(
          Array.from({ length: 40 }, async () => {
            const res = await node.fetch("/api/", { host: "flood.localhost" });
            return `${res.status} ${await res.text()}`;
          }),
        ),
        "the flood's answers",
      );
      assert.deepEqual(new Set(flood), new Set(["200 flood"]), "held, never refused");
      const { peak, answered } = await (await node.fetch("/api/peak", {
        host: "flood.localhost",
      })).json();
      assert.equal(answered, 41);
      assert.equal(peak, 1, `one at a time past the first burst: ${peak}`);
    } finally {
      stop = true;
      await Promise.all(modest);
    }
    // Alone again: four of its requests reach its code at once (if it were
    // still held to one at a time, none of them would ever be answered).
    const together = await deadline(
      Promise.all(
        Array.from(
          { length: 4 },
          async () => await (await node.fetch("/api/together", { host: "flood.localhost" })).text(),
        ),
      ),
      "four of the flooder's requests at its code at once",
    );
    assert.deepEqual(together, ["together", "together", "together", "together"]);
  });
});
