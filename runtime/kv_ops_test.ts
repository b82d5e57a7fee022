import assert from "node:assert/strict";
import { Storage } from "../storage/mod.ts";
import { type CallResult, handleCall } from "./bridge.ts";
import { KvSignals } from "./kv_signals.ts";
import { WriteQueue } from "./write_queue.ts";
import { waitFor } from "../tests/deadline.ts";

const b64 = (s: string) => new TextEncoder().encode(s).toBase64();

function setup(maxStoredBytes = 0) {
  const storage = Storage.open(":memory:");
  const writes = new WriteQueue(storage.db);
  const signals = new KvSignals();
  const appId = storage.apps.createVersion("a", [], { keep: 1 }).app.id;
  const other = storage.apps.createVersion("b", [], { keep: 1 }).app.id;
  const call = (op: string, args: unknown, id = appId): Promise<CallResult> =>
    handleCall(
      { storage, writes, appId: id, log: () => {}, maxStoredBytes, signals },
      op,
      args,
      new Uint8Array(),
    );
  const done = () => {
    signals.close();
    storage.close();
  };
  return { call, signals, other, done, storage, appId };
}

const set = (
  key: string,
) => [[], [{ type: "set", key: b64(key), value: b64("v"), encoding: 3 }], []];

Deno.test("denokv.watch answers when a watched key changes, not before", async () => {
  const { call, signals, done } = setup();
  try {
    const [now] = (await call("denokv.get", [[b64("k")]])).value as (null)[];
    assert.equal(now, null);
    const watching = call("denokv.watch", [[b64("k")], [null]]);
    // It waits on the app's next commit; an unrelated key wakes it, and it waits on.
    assert.equal(signals.waiting, 1);
    await call("denokv.commit", set("other"));
    assert.equal(signals.waiting, 1);
    await call("denokv.commit", set("k"));
    const changed = (await watching).value as { versionstamp: string }[];
    assert.match(changed[0].versionstamp, /^[0-9a-f]{20}$/);
    assert.equal(signals.waiting, 0);
  } finally {
    done();
  }
});

Deno.test("denokv.release ends the app's waiting calls with null; another app's keep waiting", async () => {
  const { call, signals, other, done } = setup();
  try {
    const mine = call("denokv.take", []);
    const theirs = call("denokv.take", [], other);
    // Each takes (through the write queue) before it waits.
    await waitFor(() => signals.waiting === 2, "both takers waiting");
    await call("denokv.release", []);
    assert.deepEqual(await mine, { value: null });
    assert.equal(signals.waiting, 1);
    await call("denokv.commit", [[], [], [{ payload: b64("m") }]], other);
    const got = (await theirs).value as { payload: string; attempt: number };
    assert.equal(got.payload, b64("m"));
    assert.equal(got.attempt, 1);
  } finally {
    done();
  }
});

Deno.test("denokv calls refuse malformed arguments with VALIDATION_FAILED", async () => {
  const { call, done } = setup();
  try {
    const bad: [string, unknown][] = [
      ["denokv.get", ["not a list"]],
      ["denokv.get", [[42]]],
      ["denokv.commit", [[{ key: b64("k"), versionstamp: "nothex" }], [], []]],
      ["denokv.commit", [[], [{ type: "explode", key: b64("k") }], []]],
      ["denokv.commit", [[], [{ type: "set", key: b64("k"), value: b64("v"), encoding: 9 }], []]],
      ["denokv.range", [b64("a"), b64("b"), 0, false]],
      ["denokv.settle", ["one", true]],
    ];
    for (const [op, args] of bad) {
      const r = await call(op, args);
      assert.equal(r.error?.code, "VALIDATION_FAILED", `${op} ${JSON.stringify(args)}`);
    }
  } finally {
    done();
  }
});

Deno.test("denokv.commit counts toward the storage quota: past it, refused and nothing kept", async () => {
  const { call, done, storage, appId } = setup(64);
  try {
    assert.equal((await call("denokv.commit", set("small"))).error, undefined);
    const used = storage.usage.stored(appId);
    assert.ok(used > 0, "Deno KV bytes are counted");
    const big = [
      [],
      [{ type: "set", key: b64("big"), value: b64("v".repeat(200)), encoding: 3 }],
      [],
    ];
    const refused = await call("denokv.commit", big);
    assert.equal(refused.error?.code, "QUOTA_EXCEEDED");
    assert.deepEqual((await call("denokv.get", [[b64("big")]])).value, [null]);
    assert.equal(storage.usage.stored(appId), used, "the refused commit left nothing");
  } finally {
    done();
  }
});

Deno.test("denokv.commit counts queued messages toward the quota until they are delivered", async () => {
  const { call, done, storage, appId } = setup(1000);
  // A message stores its payload and its keys if undelivered ("[]": none).
  const message = (size: number, delay = 30 * 24 * 3600 * 1000) => [
    [],
    [],
    [{ payload: b64("m".repeat(size)), delay }],
  ];
  try {
    assert.equal((await call("denokv.commit", message(400))).error, undefined);
    assert.equal(storage.usage.stored(appId), 402, "a waiting message is counted");
    assert.equal((await call("denokv.commit", message(400))).error, undefined);
    assert.equal(storage.usage.stored(appId), 804);
    // A set past the quota and an enqueue past it are refused alike.
    const refused = await call("denokv.commit", message(400));
    assert.equal(refused.error?.code, "QUOTA_EXCEEDED");
    const setRefused = await call("denokv.commit", [
      [],
      [{ type: "set", key: b64("k"), value: b64("v".repeat(400)), encoding: 3 }],
      [],
    ]);
    assert.equal(setRefused.error?.code, "QUOTA_EXCEEDED");
    assert.equal(storage.denoKv.usage(appId).queued, 2, "the refused message was not kept");
    assert.equal(storage.usage.stored(appId), 804);
    // A message due now, once delivered, gives its bytes back.
    assert.equal((await call("denokv.commit", message(100, 0))).error, undefined);
    assert.equal(storage.usage.stored(appId), 906);
    const taken = (await call("denokv.take", [])).value as { id: number };
    assert.equal((await call("denokv.settle", [taken.id, true])).value, true);
    assert.equal(storage.usage.stored(appId), 804, "a delivered message is no longer counted");
    // One dropped after its last try, its payload kept under its key: the entry counts instead.
    const undelivered = { payload: b64("d".repeat(50)), backoffSchedule: [] };
    const dropped = [[], [], [{ ...undelivered, keysIfUndelivered: [b64("u")] }]];
    assert.equal((await call("denokv.commit", dropped)).error, undefined);
    assert.equal(storage.usage.stored(appId), 804 + 50 + `["${b64("u")}"]`.length);
    const last = (await call("denokv.take", [])).value as { id: number };
    assert.equal((await call("denokv.settle", [last.id, false])).value, true);
    assert.equal(storage.usage.stored(appId), 804 + 1 + 50, "key and value of the entry");
  } finally {
    done();
  }
});

Deno.test("denokv.take of a Worker that has gone leases nothing; a commit with messages is told", async () => {
  const storage = Storage.open(":memory:");
  const writes = new WriteQueue(storage.db);
  const signals = new KvSignals();
  const appId = storage.apps.createVersion("a", [], { keep: 1 }).app.id;
  let alive = true;
  const told: number[] = [];
  signals.onEnqueue = (id) => told.push(id);
  const call = (op: string, args: unknown) =>
    handleCall(
      { storage, writes, appId, log: () => {}, signals, alive: () => alive },
      op,
      args,
      new Uint8Array(),
    );
  try {
    await call("denokv.commit", set("no message"));
    assert.deepEqual(told, [], "a commit without messages is not news");
    // The Worker waits for a message, and stops before one is due.
    const waiting = call("denokv.take", []);
    await waitFor(() => signals.waiting === 1, "the take to wait");
    alive = false;
    await call("denokv.commit", [[], [], [{ payload: b64("m") }]]);
    assert.deepEqual(told, [appId]);
    assert.deepEqual(await waiting, { value: null });
    assert.equal(storage.denoKv.leased(appId), false, "the message is left for the next taker");
    alive = true;
    const taken = (await call("denokv.take", [])).value as { payload: string };
    assert.equal(taken.payload, b64("m"));
  } finally {
    signals.close();
    storage.close();
  }
});
