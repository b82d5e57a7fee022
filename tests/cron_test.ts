/**
 * Scheduled jobs (issue 14): the manifest's `crons` run by the default
 * export's `scheduled(event, ctx)`, and `Deno.cron` at a module's top
 * level, run by the node on their schedule, never two runs of one job at
 * once, each run recorded; run now over the API; the refusals.
 */
import assert from "node:assert/strict";
import { assertOk, assertRefused, CliSandbox, parseJson } from "./cli_runner.ts";
import { waitFor } from "./deadline.ts";
import { deployFiles, makeZip, type TestNode, withTestNode } from "./helpers.ts";

// deno-lint-ignore no-explicit-any -- JSON answers
type Json = any;

const crons = async (node: TestNode, app: string): Promise<Json> => {
  const res = await node.fetch(`/api/apps/${app}/crons?limit=100`);
  assert.equal(res.status, 200);
  return (await res.json()).data;
};

/**
 * A job that lasts longer than the second between its runs: it counts how
 * many of its runs are in progress at once, and the most it ever saw.
 */
const SLOW_JOB = {
  "manifest.json": JSON.stringify({
    crons: [{ name: "tick", schedule: "* * * * * *" }, { name: "slow", schedule: "0 0 1 1 *" }],
  }),
  "api/main.ts": `const seen = { runs: 0, active: 0, most: 0, events: [] as unknown[] };
  export default {
    fetch(req: Request) { return Response.json(seen); },
    async scheduled(event: { name: string; cron: string; scheduledTime: number; type: string }, ctx: { log: { info(m: string): void } }) {
      seen.runs++;
      seen.active++;
      seen.most = Math.max(seen.most, seen.active);
      seen.events.push({ name: event.name, cron: event.cron, type: event.type, t: typeof event.scheduledTime });
      console.log("run " + seen.runs + " of " + event.name);
      // Longer than the second between two runs.
      await new Promise((r) => setTimeout(r, event.name === "slow" ? 3000 : 1500));
      seen.active--;
    },
  };`,
};

Deno.test("a job with a seconds schedule runs again and again, never two runs at once", async () => {
  await withTestNode(async (node) => {
    await deployFiles(node, "ticker", SLOW_JOB);
    const done = await waitFor(async () => {
      const runs = (await crons(node, "ticker")).runs.filter((r: Json) =>
        r.job === "tick" && r.outcome !== "running"
      );
      return runs.length >= 2 && runs;
    }, "two finished runs of the job");
    for (const run of done) {
      assert.equal(run.outcome, "ok", JSON.stringify(run));
      assert.equal(run.trigger, "schedule");
      assert.ok(run.logs.some((l: Json) => /^run \d+ of tick$/.test(l.message)), "its log lines");
    }
    // Oldest first: each run started after the one before it ended.
    const ordered = [...done].reverse();
    for (let i = 1; i < ordered.length; i++) {
      const before = ordered[i - 1];
      assert.ok(
        ordered[i].started_at >= before.started_at + before.duration_ms,
        "runs of one job never overlap",
      );
    }
    const state = await (await node.fetch("/api/state", { host: "ticker.localhost" })).json();
    assert.equal(state.most, 1, "the app never saw two runs at once");
    assert.deepEqual(state.events[0], {
      name: "tick",
      cron: "* * * * * *",
      type: "scheduled",
      t: "number",
    });
    const list = await crons(node, "ticker");
    const tick = list.jobs.find((j: Json) => j.name === "tick");
    assert.equal(tick.source, "manifest");
    assert.equal(tick.tz, null);
    assert.ok(tick.next_run > Date.now() - 2000, "a next run is planned");
  });
});

Deno.test("a job runs now on request; a running job refuses a second run; unknown jobs are 404", async () => {
  await withTestNode(async (node) => {
    await deployFiles(node, "ticker", SLOW_JOB);
    const first = node.fetch("/api/apps/ticker/crons/slow/run", {
      method: "POST",
      token: node.tokens.deploy,
    });
    await waitFor(
      async () => (await crons(node, "ticker")).jobs.find((j: Json) => j.name === "slow").running,
      "the manual run to start",
    );
    const second = await node.fetch("/api/apps/ticker/crons/slow/run", { method: "POST" });
    assert.equal(second.status, 409);
    assert.equal((await second.json()).error.code, "CRON_RUNNING");
    const res = await first;
    assert.equal(res.status, 200);
    const run = (await res.json()).data;
    assert.equal(run.job, "slow");
    assert.equal(run.trigger, "manual");
    assert.equal(run.outcome, "ok");
    assert.ok(run.duration_ms >= 0);
    const unknown = await node.fetch("/api/apps/ticker/crons/nope/run", { method: "POST" });
    assert.equal(unknown.status, 404);
    assert.equal((await unknown.json()).error.code, "CRON_NOT_FOUND");
    const noApp = await node.fetch("/api/apps/ghost/crons/slow/run", { method: "POST" });
    assert.equal(noApp.status, 404);
    assert.equal((await noApp.json()).error.code, "APP_NOT_FOUND");
    const readOnly = await node.fetch("/api/apps/ticker/crons/slow/run", {
      method: "POST",
      token: node.tokens.read,
    });
    assert.equal(readOnly.status, 403);
    await readOnly.body?.cancel();
  });
});

Deno.test("a failing job is recorded as an error with its reason", async () => {
  await withTestNode(async (node) => {
    await deployFiles(node, "broken", {
      "manifest.json": JSON.stringify({ crons: [{ name: "boom", schedule: "0 0 1 1 *" }] }),
      "api/main.ts": `export default {
        fetch: () => new Response("ok"),
        scheduled() { console.warn("about to fail"); throw new Error("the disk is full"); },
      };`,
    });
    const res = await node.fetch("/api/apps/broken/crons/boom/run", { method: "POST" });
    assert.equal(res.status, 200);
    const run = (await res.json()).data;
    assert.equal(run.outcome, "error");
    assert.match(run.error, /the disk is full/);
    assert.ok(run.logs.some((l: Json) => l.message === "about to fail" && l.level === "warn"));
  });
});

Deno.test("Deno.cron at the top level registers a job like a manifest entry", async () => {
  await withTestNode(async (node) => {
    await deployFiles(node, "denocron", {
      "api/main.ts": `let runs = 0;
      Deno.cron("cleanup", "* * * * * *", () => { runs++; console.log("cleaned " + runs); });
      export default { fetch: () => Response.json({ runs }) };`,
    });
    const job = await waitFor(
      async () => (await crons(node, "denocron")).jobs.find((j: Json) => j.name === "cleanup"),
      "the job registered in code",
    );
    assert.equal(job.source, "code");
    assert.equal(job.schedule, "* * * * * *");
    const runs = await waitFor(async () => {
      const r = (await crons(node, "denocron")).runs.filter((x: Json) => x.outcome === "ok");
      return r.length >= 2 && r;
    }, "two runs of the Deno.cron job");
    assert.ok(runs.every((r: Json) => r.job === "cleanup" && r.trigger === "schedule"));
    const manual = await node.fetch("/api/apps/denocron/crons/cleanup/run", { method: "POST" });
    assert.equal((await manual.json()).data.outcome, "ok");
  });
});

Deno.test("Deno.cron's backoffSchedule retries a failed run, each retry in the job's history", async () => {
  await withTestNode(async (node) => {
    await deployFiles(node, "retries", {
      // A manifest entry takes a backoff too: this one always fails.
      "manifest.json": JSON.stringify({
        crons: [{ name: "doomed", schedule: "* * * * * *", backoff: [50] }],
      }),
      "api/main.ts": `let flaky = 0;
      // Fails twice, then the second retry succeeds.
      Deno.cron("flaky", "* * * * * *", { backoffSchedule: [100, 200] }, () => {
        flaky++;
        console.log("flaky attempt " + flaky);
        if (flaky <= 2) throw new Error("attempt " + flaky + " failed");
      });
      // The object form of a schedule, as Deno reads it.
      Deno.cron("every5", { minute: { every: 5 } }, () => {});
      let refused = "none";
      try {
        Deno.cron("greedy", "* * * * *", { backoffSchedule: [1, 2, 3, 4, 5, 6] }, () => {});
      } catch (err) {
        refused = String(err);
      }
      let tooLong = "none";
      try {
        Deno.cron("slowpoke", "* * * * *", { backoffSchedule: [3_600_001] }, () => {});
      } catch (err) {
        tooLong = String(err);
      }
      export default {
        fetch: () => Response.json({ refused, tooLong }),
        scheduled() { throw new Error("never works"); },
      };`,
    });
    const finished = (list: Json, job: string) =>
      list.runs.filter((r: Json) => r.job === job && r.outcome !== "running").reverse();
    const flaky = await waitFor(async () => {
      const runs = finished(await crons(node, "retries"), "flaky");
      return runs.length >= 3 && runs;
    }, "the flaky job's run and two retries");
    assert.deepEqual(
      flaky.slice(0, 3).map((r: Json) => [r.trigger, r.outcome, r.error]),
      [
        ["schedule", "error", "Error: attempt 1 failed"],
        ["retry", "error", "Error: attempt 2 failed"],
        ["retry", "ok", null],
      ],
    );
    assert.ok(flaky[2].logs.some((l: Json) => l.message === "flaky attempt 3"));
    // The manifest's job: one retry at most, then the schedule again.
    const doomed = await waitFor(async () => {
      const runs = finished(await crons(node, "retries"), "doomed");
      return runs.length >= 3 && runs;
    }, "the doomed job's runs");
    assert.deepEqual(doomed.slice(0, 3).map((r: Json) => [r.trigger, r.outcome]), [
      ["schedule", "error"],
      ["retry", "error"],
      ["schedule", "error"],
    ]);
    for (let i = 1; i < 3; i++) {
      assert.ok(
        doomed[i].started_at >= doomed[i - 1].started_at + doomed[i - 1].duration_ms,
        "a retry never overlaps the run it follows",
      );
    }
    const jobs = (await crons(node, "retries")).jobs;
    const every5 = jobs.find((j: Json) => j.name === "every5");
    assert.equal(every5.schedule, "*/5 * * * *");
    assert.equal(every5.source, "code");
    assert.deepEqual(jobs.map((j: Json) => j.name).sort(), ["doomed", "every5", "flaky"]);
    const said = await (await node.fetch("/api/said", { host: "retries.localhost" })).json();
    assert.deepEqual(said, {
      refused: "TypeError: Invalid backoff schedule",
      tooLong: "TypeError: Invalid backoff schedule",
    });
  });
});

Deno.test("Deno.cron after the module has loaded is an error the app can catch", async () => {
  await withTestNode(async (node) => {
    await deployFiles(node, "late", {
      "api/main.ts": `export default { fetch() {
        try { Deno.cron("late", "* * * * *", () => {}); return new Response("registered"); }
        catch (err) { return new Response(String(err)); }
      } };`,
    });
    const text = await (await node.fetch("/api/x", { host: "late.localhost" })).text();
    assert.match(text, /top level/);
    assert.deepEqual((await crons(node, "late")).jobs, []);
  });
});

Deno.test("a bad schedule is refused at deploy with INVALID_CRON, and nothing changes", async () => {
  await withTestNode(async (node) => {
    await deployFiles(node, "ticker", SLOW_JOB);
    const before = ["versions", "files"].map((t) => node.count(t));
    for (
      const crons of [
        [{ name: "x", schedule: "*/5 * * *" }],
        [{ name: "x", schedule: "99 * * * *" }],
        [{ name: "x", schedule: "* * * * *", tz: "Nowhere/Land" }],
        [{ name: "bad name", schedule: "* * * * *" }],
      ]
    ) {
      const r = await node.deploy(
        "ticker",
        await makeZip({
          "manifest.json": JSON.stringify({ crons }),
          "api/main.ts": "export default { fetch: () => new Response('v2') };",
        }),
      );
      assert.equal(r.status, 400, JSON.stringify(crons));
      assert.equal(r.body.error.code, "INVALID_CRON");
      assert.match(r.body.error.message, /^manifest\.json: cron/);
    }
    assert.deepEqual(["versions", "files"].map((t) => node.count(t)), before);
    assert.deepEqual((await crons(node, "ticker")).jobs.map((j: Json) => j.name).sort(), [
      "slow",
      "tick",
    ]);
  });
});

Deno.test("fazt app cron list and run, under the task's permissions", async () => {
  const sb = await CliSandbox.create();
  try {
    await sb.start({ firstRun: true });
    const app = await sb.folder("jobs", {
      "manifest.json": JSON.stringify({
        crons: [{ name: "cleanup", schedule: "0 3 * * *", tz: "Europe/Oslo" }, {
          name: "fail",
          schedule: "0 0 1 1 *",
        }],
      }),
      "api/main.ts": `export default {
        fetch: () => new Response("ok"),
        scheduled(event: { name: string }) {
          console.log("cleaning up");
          if (event.name === "fail") throw new Error("no luck");
        },
      };`,
    });
    assertOk(await sb.cli(["deploy", app]));
    const list = assertOk(await sb.cli(["app", "cron", "list", "jobs"]));
    assert.match(list.stdout, /cleanup +0 3 \* \* \* \(Europe\/Oslo\) +manifest/);
    const run = assertOk(await sb.cli(["app", "cron", "run", "jobs", "cleanup"]));
    assert.match(run.stdout, /INFO {2}cleaning up/);
    assert.match(run.stdout, /jobs cleanup: ok in \d+ ms/);
    const json = parseJson<{ jobs: { name: string; last_run: { outcome: string } | null }[] }>(
      assertOk(await sb.cli(["app", "cron", "list", "jobs", "--json"])),
    );
    assert.equal(json.jobs.find((j) => j.name === "cleanup")!.last_run!.outcome, "ok");
    assertRefused(await sb.cli(["app", "cron", "run", "jobs", "fail"]), /CRON_FAILED|no luck/);
    assertRefused(await sb.cli(["app", "cron", "run", "jobs", "nope"]), /CRON_NOT_FOUND/);
    assertRefused(await sb.cli(["app", "cron", "list", "ghost"]), /APP_NOT_FOUND/);
  } finally {
    for (const s of sb.servers) await s.kill();
    await Deno.remove(sb.dir, { recursive: true });
  }
});
