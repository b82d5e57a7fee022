import assert from "node:assert/strict";
import { parseSamples, ProcWatch } from "./proc_watch.ts";

Deno.test("samples are parsed from the reader's lines, thread names with spaces included", () => {
  const text = [
    "P 10 5120 900000",
    "T 10 V8 DefaultWorke|1000 500 3|11 (V8 DefaultWorke) S 1 2 3 4 5 6 7 8 9 10 20 30 0 0",
    "T 10 worker-1|9000000 1000 40|12 (worker-1) R 1 2 3 4 5 6 7 8 9 10 70 5 0 0",
    "T 10 odd (name)|bad|13 (odd (name)) S 1 2 3 4 5 6 7 8 9 10 1 2 0 0",
    "P 11 100 200",
  ].join("\n");
  const s = parseSamples(text);
  assert.deepEqual(s.get(11), { rssKb: 100, dataKb: 200, threads: [] });
  const p = s.get(10)!;
  assert.equal(p.rssKb, 5120);
  assert.equal(p.dataKb, 900000);
  assert.deepEqual(p.threads, [
    { tid: 11, name: "V8 DefaultWorke", ticks: 50, runnableNs: 1500 },
    { tid: 12, name: "worker-1", ticks: 75, runnableNs: 9001000 },
    { tid: 13, name: "odd (name)", ticks: 3, runnableNs: undefined },
  ]);
});

Deno.test("the reader reads a live process, and answers nothing for one that is gone", async () => {
  const watch = new ProcWatch();
  const child = new Deno.Command("sleep", { args: ["30"] }).spawn();
  try {
    const s = await watch.sample([child.pid, 2 ** 22 + 7], true);
    const p = s.get(child.pid);
    assert.ok(p && p.rssKb > 0 && p.dataKb > 0);
    assert.equal(p.threads.length, 1);
    assert.equal(p.threads[0].name, "sleep");
    assert.equal(s.has(2 ** 22 + 7), false);
    // Queued calls each get their own answer.
    const [a, b] = await Promise.all([watch.sample([child.pid]), watch.sample([])]);
    assert.equal(a.get(child.pid)!.threads.length, 0);
    assert.equal(b.size, 0);
  } finally {
    child.kill("SIGKILL");
    await child.status;
    watch.close();
  }
});
