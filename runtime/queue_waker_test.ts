import assert from "node:assert/strict";
import { Storage } from "../storage/mod.ts";
import { waitFor } from "../tests/deadline.ts";
import type { AppRuntime, AppTarget } from "./app_runtime.ts";
import { KvSignals } from "./kv_signals.ts";
import { QueueWaker } from "./queue_waker.ts";

/** The parts of the runtime the waker uses, with what it asked recorded. */
class FakeRuntime {
  kvSignals = new KvSignals();
  onStopped: (appId: number) => void = () => {};
  started: AppTarget[] = [];
  runningIds = new Set<number>();
  trouble = new Map<number, number>();
  restart = new Map<number, number>();
  running(appId: number) {
    return this.runningIds.has(appId);
  }
  runningApps() {
    return [...this.runningIds];
  }
  restartAt(appId: number) {
    return this.restart.get(appId) ?? 0;
  }
  troubleAt(appId: number) {
    return this.trouble.get(appId) ?? 0;
  }
  discover(target: AppTarget) {
    this.started.push(target);
    this.runningIds.add(target.appId);
    return Promise.resolve();
  }
  /** The app idles out (or is swept after a failure). */
  stop(appId: number) {
    this.runningIds.delete(appId);
    this.onStopped(appId);
  }
}

function setup() {
  const storage = Storage.open(":memory:");
  const runtime = new FakeRuntime();
  const logs: string[] = [];
  const waker = new QueueWaker(storage, runtime as unknown as AppRuntime, (m) => logs.push(m));
  const app = (name: string, listens: boolean | undefined, code = "kv.listenQueue(h)") => {
    const id = storage.apps.createVersion(name, [], {
      keep: 5,
      build: { style: "module", entry: "api/main.ts", code },
      manifest: "{}",
    }).app.id;
    if (listens !== undefined) storage.apps.setListensQueue(id, 1, listens);
    return id;
  };
  const enqueue = (appId: number, delay = 0) =>
    storage.db.transaction(() =>
      storage.denoKv.commit(appId, [], [], [{ payload: new Uint8Array([1]), delay }])
    );
  /** A look has run: the waker's zero-delay timer was set before this one. */
  const looked = () => new Promise((r) => setTimeout(r, 0));
  const done = () => {
    waker.close();
    storage.close();
  };
  return { storage, runtime, waker, app, enqueue, looked, logs, done };
}

Deno.test("the waker starts a stopped app that listens when its message is due, and no other", async () => {
  const { runtime, waker, app, enqueue, looked, done } = setup();
  try {
    const listens = app("listens", true);
    const deaf = app("deaf", false);
    const unknown = app("unknown", undefined);
    const plain = app("plain", undefined, "export default {}");
    const busy = app("busy", true);
    for (const id of [listens, deaf, unknown, plain, busy]) enqueue(id);
    runtime.runningIds.add(busy);
    waker.start();
    await waitFor(() => runtime.started.length === 2, "two apps started");
    await looked();
    assert.deepEqual(runtime.started.map((t) => t.appName).sort(), ["listens", "unknown"]);
    assert.deepEqual(runtime.started.find((t) => t.appId === listens), {
      appId: listens,
      appName: "listens",
      version: 1,
    });
    // Its own listener takes the running app's messages; stopped with one left, it is started.
    runtime.stop(busy);
    await waitFor(() => runtime.started.some((t) => t.appId === busy), "the app that stopped");
    assert.equal(runtime.started.length, 3);
  } finally {
    done();
  }
});

Deno.test("the waker waits for a message's due time, and hears of messages put while the app is stopped", async () => {
  const { storage, runtime, waker, app, enqueue, looked, done } = setup();
  try {
    const later = app("later", true);
    enqueue(later, 300);
    waker.start();
    await looked();
    assert.equal(runtime.started.length, 0, "not due yet");
    await waitFor(() => runtime.started.length === 1, "the start when the message is due");
    assert.ok(storage.denoKv.wakeups([], 1)[0].due <= Date.now());

    const quiet = app("quiet", true);
    await looked();
    assert.equal(runtime.started.length, 1, "no message, no start");
    enqueue(quiet);
    runtime.kvSignals.enqueued(quiet);
    await waitFor(() => runtime.started.some((t) => t.appId === quiet), "the start on enqueue");
  } finally {
    done();
  }
});

Deno.test("a start that went wrong pauses the next one, longer each time; a good run resets it", async () => {
  const { runtime, waker, app, enqueue, looked, logs, done } = setup();
  try {
    const bad = app("bad", true);
    enqueue(bad);
    waker.start();
    await waitFor(() => runtime.started.length === 1, "the first start");
    // Its host was stopped for what it did (a loop, memory): the message is still due.
    let at = Date.now();
    runtime.trouble.set(bad, at);
    runtime.stop(bad);
    assert.ok(waker.pausedUntil(bad)! >= at + 1000, "a pause of a second");
    await looked();
    assert.equal(runtime.started.length, 1, "not started again at once");
    assert.match(logs.join("\n"), /app bad went wrong after it was started for its queue/);
    await waitFor(() => runtime.started.length === 2, "the start after the pause");
    at = Date.now();
    runtime.trouble.set(bad, at);
    runtime.stop(bad);
    assert.ok(waker.pausedUntil(bad)! >= at + 2000, "the pause doubled");
    await waitFor(() => runtime.started.length === 3, "the start after the second pause");
    // A run with no trouble and no handler cut short: the next start is not held back.
    runtime.stop(bad);
    assert.equal(waker.pausedUntil(bad), undefined);
  } finally {
    done();
  }
});

Deno.test("an app in its crash pause is started when the pause ends, not before", async () => {
  const { runtime, waker, app, enqueue, looked, done } = setup();
  try {
    const crashed = app("crashed", true);
    enqueue(crashed);
    runtime.restart.set(crashed, Date.now() + 300);
    waker.start();
    await looked();
    assert.equal(runtime.started.length, 0);
    await waitFor(() => runtime.started.length === 1, "the start after the crash pause");
    assert.ok(Date.now() >= runtime.restartAt(crashed));
  } finally {
    done();
  }
});

Deno.test("a redeploy clears an app's pause", async () => {
  const { storage, runtime, waker, app, enqueue, done } = setup();
  try {
    const id = app("fixed", true);
    enqueue(id);
    waker.start();
    await waitFor(() => runtime.started.length === 1, "the first start");
    runtime.trouble.set(id, Date.now());
    runtime.stop(id);
    assert.ok(waker.pausedUntil(id) !== undefined);
    storage.apps.createVersion("fixed", [], {
      keep: 5,
      build: { style: "module", entry: "api/main.ts", code: "kv.listenQueue(h)" },
      manifest: "{}",
    });
    waker.changed(id);
    assert.equal(waker.pausedUntil(id), undefined);
    await waitFor(() => runtime.started.length === 2, "the new version started at once");
    assert.equal(runtime.started[1].version, 2);
  } finally {
    done();
  }
});
