/**
 * Deno KV queues while the app is stopped (issue 19's gap): a message due
 * after the app idled out starts the app, with no request, and its
 * `listenQueue` handler runs; an app that does not listen is not started;
 * the wake survives a restart of the node; a failing handler's retries are
 * delivered while the app is stopped. The apps are what `fazt deploy` sends
 * for a Deno Deploy project (`api/main.ts`, every path to the code).
 */
import assert from "node:assert/strict";
import { waitFor } from "./deadline.ts";
import { deployFiles, startTestNode, type TestNode } from "./helpers.ts";

// deno-lint-ignore no-explicit-any -- JSON answers
type Json = any;

/** Every path goes to the handler, as `fazt deploy` writes it for a Deno Deploy project. */
const ALL_ROUTES = JSON.stringify({ routes: ["/*"], static_first: false });

/**
 * A Deno Deploy app with a queue: `POST /enqueue` queues `{id, fail}` with
 * the given delay and backoff; the handler counts each attempt, fails the
 * first `fail` of them, then records the delivery.
 */
const LISTENER = `
const kv = await Deno.openKv();
console.log("loaded");
kv.listenQueue(async (msg: { id: string; fail: number }) => {
  await kv.atomic().sum(["attempts", msg.id], 1n).commit();
  const n = Number((await kv.get<Deno.KvU64>(["attempts", msg.id])).value!.value);
  console.log("queue " + msg.id + " attempt " + n);
  if (n <= msg.fail) throw new Error("not yet");
  await kv.set(["delivered", msg.id], { attempt: n, at: Date.now() });
});
Deno.serve(async (req) => {
  const url = new URL(req.url);
  if (url.pathname === "/enqueue") {
    const { id, delay, fail = 0, backoff } = await req.json();
    await kv.enqueue({ id, fail }, { delay, backoffSchedule: backoff });
    return new Response("queued");
  }
  const id = url.pathname.slice("/delivered/".length);
  return Response.json((await kv.get(["delivered", id])).value);
});
`;

/** Enqueues, and mentions listenQueue, but never calls it while it loads. */
const DEAF = `
const kv = await Deno.openKv();
console.log("loaded");
Deno.serve(async (req) => {
  const url = new URL(req.url);
  if (url.pathname === "/enqueue") {
    const { id, delay } = await req.json();
    await kv.enqueue({ id }, { delay });
    return new Response("queued");
  }
  if (url.pathname === "/listen") kv.listenQueue(() => {});
  return new Response("ok");
});
`;

const SETTINGS = { app_idle_ms: 1000 };
/** Waits that include an app's whole message delay. */
const LONG_WAIT = 40_000;

function deployApp(node: TestNode, name: string, code: string) {
  return deployFiles(node, name, { "api/main.ts": code, "manifest.json": ALL_ROUTES });
}

async function enqueue(
  node: TestNode,
  app: string,
  msg: { id: string; delay?: number; fail?: number; backoff?: number[] },
): Promise<void> {
  const res = await node.fetch("/enqueue", {
    host: `${app}.localhost`,
    token: null,
    method: "POST",
    body: JSON.stringify(msg),
  });
  assert.equal(await res.text(), "queued");
}

const running = (node: TestNode, app: string) =>
  node.server.context.runtime.hosts().some((h) => h.appName === app);

/** The app's Deno KV as the owner sees it (the admin API: no request reaches the app). */
async function denoKv(node: TestNode, app: string): Promise<Map<string, string>> {
  const res = await node.fetch(`/api/apps/${app}/denokv?limit=100`);
  assert.equal(res.status, 200);
  const items: Json[] = (await res.json()).data.items;
  return new Map(items.map((i) => [i.key, i.value]));
}

async function logLines(node: TestNode, app: string): Promise<string[]> {
  const res = await node.fetch(`/api/apps/${app}/logs?limit=1000`);
  assert.equal(res.status, 200);
  return (await res.json()).data.map((l: Json) => l.message);
}

async function delivered(node: TestNode, app: string, id: string): Promise<Json> {
  const res = await node.fetch(`/delivered/${id}`, { host: `${app}.localhost`, token: null });
  assert.equal(res.status, 200);
  return await res.json();
}

async function idledOut(node: TestNode, app: string): Promise<void> {
  await waitFor(() => !running(node, app), `${app} to idle out`);
}

Deno.test("a message due while the app is stopped starts it, and its handler runs with no request", async () => {
  const node = await startTestNode({ settings: SETTINGS });
  try {
    await deployApp(node, "cleaner", LISTENER);
    await enqueue(node, "cleaner", { id: "cleanup", delay: 8000 });
    await idledOut(node, "cleaner");
    assert.equal(
      (await denoKv(node, "cleaner")).has('["delivered", "cleanup"]'),
      false,
      "the message was delivered before the app idled out: its delay is too short here",
    );
    await waitFor(
      async () => (await denoKv(node, "cleaner")).has('["delivered", "cleanup"]'),
      "the delivery while the app was stopped",
      LONG_WAIT,
    );
    // Started by the node, not by a visitor: the code loaded twice, the message was taken once.
    // An app's logs are shipped in batches: the stored value can be seen before its line.
    const lines = await waitFor(async () => {
      const all = await logLines(node, "cleaner");
      return all.some((l) => l.startsWith("queue ")) && all;
    }, "the handler's log line");
    assert.equal(lines.filter((l) => l === "loaded").length, 2, lines.join("\n"));
    assert.deepEqual(lines.filter((l) => l.startsWith("queue ")), ["queue cleanup attempt 1"]);
    assert.equal((await delivered(node, "cleaner", "cleanup")).attempt, 1);
    assert.equal(node.storage.denoKv.usage(node.storage.apps.get("cleaner")!.id).queued, 0);
  } finally {
    await node.close();
  }
});

Deno.test("an app that does not listen on its queue is not started by its messages", async () => {
  const node = await startTestNode({ settings: SETTINGS });
  try {
    await deployApp(node, "deaf", DEAF);
    await deployApp(node, "hears", LISTENER);
    // The deaf app's message is due first: by the time the listener's is
    // delivered, the deaf app would have been started if it were going to be.
    await enqueue(node, "deaf", { id: "ignored", delay: 3000 });
    await enqueue(node, "hears", { id: "heard", delay: 8000 });
    await idledOut(node, "deaf");
    await idledOut(node, "hears");
    await waitFor(
      async () => (await denoKv(node, "hears")).has('["delivered", "heard"]'),
      "the listening app's delivery",
      LONG_WAIT,
    );
    assert.equal(running(node, "deaf"), false);
    assert.deepEqual(await logLines(node, "deaf"), ["loaded"], "loaded once, by its request");
    const deaf = node.storage.apps.get("deaf")!;
    assert.equal(node.storage.apps.listensQueue(deaf.id, deaf.live_version!), false);
    assert.equal(node.storage.denoKv.usage(deaf.id).queued, 1, "its message still waits");
  } finally {
    await node.close();
  }
});

Deno.test("after a restart of the node, a message due is still delivered with no request", async () => {
  const dir = await Deno.makeTempDir({ prefix: "fazt-test-" });
  try {
    const first = await startTestNode({ dir, settings: SETTINGS });
    try {
      await deployApp(first, "later", LISTENER);
      await enqueue(first, "later", { id: "after-restart", delay: 5000 });
    } finally {
      await first.close();
    }
    const second = await startTestNode({ dir });
    const restarted = Date.now();
    try {
      await waitFor(
        async () => (await denoKv(second, "later")).has('["delivered", "after-restart"]'),
        "the delivery after the restart",
        LONG_WAIT,
      );
      const got = await delivered(second, "later", "after-restart");
      assert.ok(got.at >= restarted, "delivered by the restarted node");
      assert.equal(got.attempt, 1);
    } finally {
      await second.close();
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a failing handler's retry falls after the app idled out and is still delivered", async () => {
  const node = await startTestNode({ settings: SETTINGS });
  try {
    await deployApp(node, "retry", LISTENER);
    await enqueue(node, "retry", { id: "flaky", fail: 1, backoff: [8000] });
    await waitFor(
      async () => (await logLines(node, "retry")).includes("queue flaky attempt 1"),
      "the first attempt, while the app runs",
    );
    await idledOut(node, "retry");
    const before = await denoKv(node, "retry");
    assert.equal(
      before.has('["delivered", "flaky"]'),
      false,
      "the retry came before the app idled out: its backoff is too short here",
    );
    await waitFor(
      async () => (await denoKv(node, "retry")).has('["delivered", "flaky"]'),
      "the retry while the app was stopped",
      LONG_WAIT,
    );
    assert.equal((await delivered(node, "retry", "flaky")).attempt, 2);
    const lines = await logLines(node, "retry");
    assert.equal(lines.filter((l) => l === "loaded").length, 2, lines.join("\n"));
  } finally {
    await node.close();
  }
});

/** A handler that never gives its thread back. */
const SPINNER = `
const kv = await Deno.openKv();
kv.listenQueue(() => { for (;;) {} });
Deno.serve(async (req) => {
  await kv.enqueue("spin", { delay: (await req.json()).delay });
  return new Response("queued");
});
`;

Deno.test("an app stopped for spinning in a handler it was started for is not started again at once", async () => {
  const node = await startTestNode({ settings: SETTINGS });
  try {
    await deployApp(node, "spinner", SPINNER);
    await enqueue(node, "spinner", { id: "spin", delay: 5000 });
    await idledOut(node, "spinner");
    // Its handler holds a message: it is not stopped as idle, but for the loop.
    await waitFor(
      () => node.logs.find((l) => /^app host \d+ stopped: spinner it kept using CPU/.test(l)),
      "the spinning handler's host to be stopped",
      LONG_WAIT,
    );
    const paused = await waitFor(
      () => node.server.context.crons.queues.pausedUntil(node.storage.apps.get("spinner")!.id),
      "the next start for the queue to be held back",
    );
    assert.ok(paused > Date.now());
    assert.ok(
      node.logs.some((l) => /^app spinner went wrong after it was started for its queue/.test(l)),
      node.logs.join("\n"),
    );
    assert.equal(running(node, "spinner"), false);
  } finally {
    await node.close();
  }
});

/** A handler that takes longer than the app may stay idle. */
const SLOW_HANDLER = `
const kv = await Deno.openKv();
console.log("loaded");
kv.listenQueue(async (msg: string) => {
  await new Promise((r) => setTimeout(r, 3000));
  await kv.set(["done", msg], true);
});
Deno.serve(async () => {
  await kv.enqueue("slow");
  return new Response("queued");
});
`;

Deno.test("an app is not stopped as idle while its handler holds a message", async () => {
  const node = await startTestNode({ settings: SETTINGS });
  try {
    await deployApp(node, "patient", SLOW_HANDLER);
    await enqueue(node, "patient", { id: "slow" });
    await waitFor(
      async () => (await denoKv(node, "patient")).has('["done", "slow"]'),
      "the slow handler to finish",
    );
    assert.deepEqual(await logLines(node, "patient"), ["loaded"], "never cut short and restarted");
    await idledOut(node, "patient");
  } finally {
    await node.close();
  }
});
