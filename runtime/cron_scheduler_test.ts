import assert from "node:assert/strict";
import { Storage } from "../storage/mod.ts";
import { waitFor } from "../tests/deadline.ts";
import type { AppRuntime, AppTarget, JobResult } from "./app_runtime.ts";
import { CronScheduler } from "./cron_scheduler.ts";
import { KvSignals } from "./kv_signals.ts";

/** The parts of the runtime the scheduler (and its queue waker) use; jobs run as `run` says. */
class FakeRuntime {
  kvSignals = new KvSignals();
  onStopped: (appId: number) => void = () => {};
  onCodeCrons: (appId: number) => void = () => {};
  writes = { run: <T>(_appId: number, fn: () => T) => Promise.resolve(fn()) };
  run: (job: { name: string }) => Promise<JobResult> = () =>
    Promise.resolve({ outcome: "ok", logs: [] });
  running() {
    return false;
  }
  runningApps() {
    return [];
  }
  restartAt() {
    return 0;
  }
  troubleAt() {
    return 0;
  }
  discover(_target: AppTarget) {
    return Promise.resolve();
  }
  runJob(_target: AppTarget, _manifest: unknown, job: { name: string }) {
    return this.run(job);
  }
}

/** A node's scheduler over a fake runtime, with an app whose job fails each run, retried once. */
function setup(backoffMs: number) {
  const storage = Storage.open(":memory:");
  const runtime = new FakeRuntime();
  const scheduler = new CronScheduler(
    storage,
    runtime as unknown as AppRuntime,
    storage.settings.load(),
    () => {},
  );
  const manifest = JSON.stringify({
    crons: [{ name: "doomed", schedule: "* * * * * *", backoff: [backoffMs] }],
  });
  const id = storage.apps.createVersion("retries", [], {
    keep: 5,
    build: { style: "module", entry: "api/main.ts", code: "export default {}" },
    manifest,
  }).app.id;
  /** The first three finished runs' triggers, oldest first. */
  const triggers = () =>
    waitFor(() => {
      const done = storage.crons.runs(id, { job: "doomed", limit: 10 })
        .filter((r) => r.outcome !== "running").reverse();
      return done.length >= 3 && done.slice(0, 3).map((r) => r.trigger);
    }, "three finished runs of the job");
  /** Starts the scheduler and gives `triggers()`; closes everything either way. */
  const firstTriggers = async () => {
    try {
      scheduler.start();
      return await triggers();
    } finally {
      scheduler.close();
      storage.close();
    }
  };
  return { runtime, id, firstTriggers };
}

const FAILED: JobResult = { outcome: "error", error: "Error: never works", logs: [] };

Deno.test("a retry survives the job being rebuilt while its failed run was going", async () => {
  const { runtime, id, firstTriggers } = setup(50);
  let calls = 0;
  runtime.run = () => {
    calls++;
    // The first run loads the version, which reports its jobs: the
    // scheduler rebuilds them before this run has failed.
    if (calls === 1) runtime.onCodeCrons(id);
    return Promise.resolve(FAILED);
  };
  assert.deepEqual(await firstTriggers(), ["schedule", "retry", "schedule"]);
});

Deno.test("a retry waiting when the job is rebuilt still runs, once", async () => {
  const { runtime, id, firstTriggers } = setup(300);
  let calls = 0;
  runtime.run = () => {
    // Rebuilt while the first run's retry waits (twice, to see it is not doubled).
    if (++calls === 1) {
      setTimeout(() => {
        runtime.onCodeCrons(id);
        runtime.onCodeCrons(id);
      }, 100);
    }
    return Promise.resolve(FAILED);
  };
  assert.deepEqual(await firstTriggers(), ["schedule", "retry", "schedule"]);
});
