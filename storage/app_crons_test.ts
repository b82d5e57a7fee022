import assert from "node:assert/strict";
import { AppStore, CronStore, openDatabase } from "./mod.ts";

function setup() {
  const db = openDatabase(":memory:");
  const apps = new AppStore(db);
  const a = apps.createVersion("alpha", [], { keep: 10 }).app.id;
  const b = apps.createVersion("beta", [], { keep: 10 }).app.id;
  return { db, apps, crons: new CronStore(db), a, b };
}

Deno.test("cron runs: start, finish, newest first, per app and job", () => {
  const { crons, a, b } = setup();
  const id = crons.start(a, "tick", "schedule", 1000);
  assert.equal(crons.runs(a)[0].outcome, "running");
  crons.finish(a, id, {
    outcome: "error",
    durationMs: 12.4,
    error: "x".repeat(5000),
    logs: [{ level: "info", message: "hi", at: 1001 }],
  }, 10);
  const [run] = crons.runs(a);
  assert.equal(run.outcome, "error");
  assert.equal(run.duration_ms, 12);
  assert.equal(run.error!.length, 2000, "errors are cut");
  assert.deepEqual(run.logs, [{ level: "info", message: "hi", at: 1001 }]);
  crons.start(a, "other", "manual", 2000);
  assert.deepEqual(crons.runs(a).map((r) => r.job), ["other", "tick"]);
  assert.deepEqual(crons.runs(a, { job: "tick" }).map((r) => r.job), ["tick"]);
  assert.deepEqual(crons.runs(b), [], "another app's runs are its own");
  // Finishing another app's run changes nothing.
  crons.finish(b, id, { outcome: "ok", durationMs: 1, logs: [] }, 10);
  assert.equal(crons.runs(a, { job: "tick" })[0].outcome, "error");
});

Deno.test("cron runs: each job keeps its newest `keep` runs", () => {
  const { crons, a } = setup();
  for (let i = 0; i < 5; i++) {
    const id = crons.start(a, "tick", "schedule", i);
    crons.finish(a, id, { outcome: "ok", durationMs: 1, logs: [] }, 3);
  }
  const other = crons.start(a, "other", "schedule", 9);
  crons.finish(a, other, { outcome: "ok", durationMs: 1, logs: [] }, 3);
  assert.deepEqual(crons.runs(a, { job: "tick" }).map((r) => r.started_at), [4, 3, 2]);
  assert.equal(crons.runs(a, { job: "other" }).length, 1);
});

Deno.test("cron runs left running by a stopped node end as errors", () => {
  const { crons, a } = setup();
  crons.start(a, "tick", "schedule", 1000);
  assert.equal(crons.abandonRunning(1500), 1);
  const [run] = crons.runs(a);
  assert.equal(run.outcome, "error");
  assert.equal(run.duration_ms, 500);
  assert.match(run.error!, /stopped/);
});

Deno.test("jobs registered in code: replaced per version, deleted with the app", () => {
  const { apps, crons, a } = setup();
  assert.deepEqual(crons.codeCrons(a, 1), []);
  crons.setCodeCrons(a, 1, [{ name: "b", schedule: "* * * * *" }, {
    name: "a",
    schedule: "0 * * * *",
  }]);
  assert.deepEqual(crons.codeCrons(a, 1).map((c) => c.name), ["a", "b"]);
  crons.setCodeCrons(a, 1, [{ name: "c", schedule: "* * * * *" }]);
  assert.deepEqual(crons.codeCrons(a, 1), [{ name: "c", schedule: "* * * * *" }]);
  assert.deepEqual(crons.codeCrons(a, 2), []);
  crons.setCodeCrons(a, 2, [{ name: "r", schedule: "* * * * *", backoff: [100, 2000] }]);
  assert.deepEqual(crons.codeCrons(a, 2), [
    { name: "r", schedule: "* * * * *", backoff: [100, 2000] },
  ]);
  crons.start(a, "c", "schedule", 1);
  apps.delete("alpha");
  assert.deepEqual(crons.codeCrons(a, 1), []);
  assert.deepEqual(crons.runs(a), []);
});
