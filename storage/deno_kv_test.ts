import assert from "node:assert/strict";
import { AppStore, DenoKvStore, KV_ENCODING, KV_LIMITS, LEASE_MS, openDatabase } from "./mod.ts";
import { refused } from "./testing.ts";

const te = new TextEncoder();
const key = (s: string) => te.encode(s);
const value = (s: string) => te.encode(s);

function setup() {
  const db = openDatabase(":memory:");
  const apps = new AppStore(db);
  const a = apps.createVersion("alpha", [], { keep: 10 }).app.id;
  const b = apps.createVersion("beta", [], { keep: 10 }).app.id;
  let now = 1_000_000;
  const clock = { advance: (ms: number) => (now += ms) };
  const kv = new DenoKvStore(db, { now: () => now });
  const set = (app: number, k: string, v: string, expireIn?: number) =>
    kv.commit(app, [], [{
      type: "set",
      key: key(k),
      value: value(v),
      encoding: KV_ENCODING.bytes,
      expireIn,
    }], []);
  return { db, apps, kv, a, b, clock, set };
}

Deno.test("deno kv: each app has its own keys and its own versionstamps", () => {
  const { kv, a, b, set } = setup();
  const first = set(a, "k", "a's");
  set(b, "k", "b's");
  assert.ok(first.ok);
  assert.match(first.versionstamp, /^[0-9a-f]{20}$/);
  assert.deepEqual(kv.get(a, [key("k")]).map((e) => e && new TextDecoder().decode(e.value)), [
    "a's",
  ]);
  assert.deepEqual(kv.get(b, [key("k")]).map((e) => e && new TextDecoder().decode(e.value)), [
    "b's",
  ]);
  assert.equal(kv.range(a, key("a"), key("z"), 10, false).length, 1);
  assert.deepEqual(kv.usage(a), { entries: 1, bytes: 4, queued: 0 });
});

Deno.test("deno kv: a failed check writes nothing, not even its messages", () => {
  const { kv, a, set } = setup();
  set(a, "k", "v1");
  const r = kv.commit(
    a,
    [{ key: key("k"), versionstamp: null }],
    [{ type: "delete", key: key("k") }],
    [{ payload: value("m") }],
  );
  assert.deepEqual(r, { ok: false });
  assert.equal(kv.get(a, [key("k")])[0]?.encoding, KV_ENCODING.bytes);
  assert.equal(kv.usage(a).queued, 0);
});

Deno.test("deno kv: expired entries read as absent and are purged later", () => {
  const { kv, a, clock, set, db } = setup();
  set(a, "k", "v", 50);
  assert.ok(kv.get(a, [key("k")])[0]);
  clock.advance(50);
  assert.equal(kv.get(a, [key("k")])[0], null);
  assert.equal(kv.range(a, key("a"), key("z"), 10, false).length, 0);
  assert.equal(db.get<{ n: number }>("SELECT count(*) AS n FROM app_denokv")!.n, 1);
  assert.equal(kv.purgeExpired(), 1);
  assert.equal(db.get<{ n: number }>("SELECT count(*) AS n FROM app_denokv")!.n, 0);
});

Deno.test("deno kv: a message is leased to one taker, retried on its backoff, then written to its keys", () => {
  const { kv, a, b, clock } = setup();
  kv.commit(a, [], [], [{
    payload: value("job"),
    backoffSchedule: [100],
    keysIfUndelivered: [key("dead")],
  }]);
  const first = kv.take(a);
  assert.ok("message" in first);
  assert.equal(first.message.attempt, 1);
  assert.deepEqual(kv.take(a), { next: 1_000_000 + 60_000 }, "leased: nobody else gets it");
  assert.deepEqual(kv.take(b), { next: null }, "another app's queue is empty");
  assert.equal(kv.settle(b, first.message.id, true), false, "another app cannot settle it");
  assert.equal(kv.settle(a, first.message.id, false), true);
  assert.deepEqual(kv.take(a), { next: 1_000_100 }, "back after its backoff");
  clock.advance(100);
  const second = kv.take(a);
  assert.ok("message" in second);
  assert.equal(second.message.attempt, 2);
  kv.settle(a, second.message.id, false);
  assert.deepEqual(kv.take(a), { next: null }, "no retries left: dropped");
  assert.equal(new TextDecoder().decode(kv.get(a, [key("dead")])[0]!.value), "job");
});

Deno.test("deno kv: a lapsed lease is offered again (the taker died)", () => {
  const { kv, a, clock } = setup();
  kv.commit(a, [], [], [{ payload: value("job"), delay: 10 }]);
  assert.deepEqual(kv.take(a), { next: 1_000_010 }, "delayed");
  clock.advance(10);
  const first = kv.take(a);
  assert.ok("message" in first);
  clock.advance(60_000);
  const again = kv.take(a);
  assert.ok("message" in again);
  assert.equal(again.message.id, first.message.id);
  assert.equal(again.message.attempt, 2);
  kv.settle(a, again.message.id, true);
  assert.deepEqual(kv.take(a), { next: null });
});

Deno.test("deno kv: a lease that lapses after the last retry leaves the message undelivered", () => {
  const { kv, a, clock } = setup();
  kv.commit(a, [], [], [{
    payload: value("stuck"),
    backoffSchedule: [100],
    keysIfUndelivered: [key("dead")],
  }]);
  kv.commit(a, [], [], [{ payload: value("next"), delay: 150_000 }]);
  const first = kv.take(a);
  assert.ok("message" in first);
  clock.advance(60_000);
  const again = kv.take(a);
  assert.ok("message" in again, "one retry left: offered again");
  assert.equal(again.message.id, first.message.id);
  clock.advance(60_000);
  // The handler never ended twice: the message is dropped, the next one waits.
  assert.deepEqual(kv.take(a), { next: 1_000_000 + 150_000 });
  assert.equal(new TextDecoder().decode(kv.get(a, [key("dead")])[0]!.value), "stuck");
  clock.advance(30_000);
  const next = kv.take(a);
  assert.ok("message" in next);
  assert.equal(new TextDecoder().decode(next.message.payload), "next");
  kv.settle(a, next.message.id, true);
  assert.deepEqual(kv.take(a), { next: null });
});

Deno.test("deno kv: limits are Deno KV's", () => {
  const { kv, a } = setup();
  const big = new Uint8Array(KV_LIMITS.valueBytes + 1);
  refused(
    () => kv.commit(a, [], [{ type: "set", key: key("k"), value: big, encoding: 3 }], []),
    "LIMIT_EXCEEDED",
  );
  refused(
    () =>
      kv.commit(a, [], [{
        type: "set",
        key: new Uint8Array(KV_LIMITS.keyBytes + 1),
        value: value("v"),
        encoding: 3,
      }], []),
    "LIMIT_EXCEEDED",
  );
  refused(
    () => kv.commit(a, [], [{ type: "sum", key: key("n"), value: value("not8") }], []),
    "VALIDATION_FAILED",
  );
  refused(
    () => kv.commit(a, [], [], [{ payload: value("m"), backoffSchedule: [-1] }]),
    "VALIDATION_FAILED",
  );
  const many = Array.from({ length: 13 }, (_, i) => ({
    type: "set" as const,
    key: key(`k${i}`),
    value: new Uint8Array(KV_LIMITS.valueBytes),
    encoding: 3 as const,
  }));
  refused(() => kv.commit(a, [], many, []), "LIMIT_EXCEEDED");
  assert.equal(kv.usage(a).entries, 0);
});

Deno.test("deno kv: an app's entries and messages go with the app", () => {
  const { kv, a, apps, set, db } = setup();
  set(a, "k", "v");
  kv.commit(a, [], [], [{ payload: value("m") }]);
  apps.delete("alpha");
  for (const table of ["app_denokv", "app_denokv_queue", "app_denokv_version"]) {
    assert.equal(db.get<{ n: number }>(`SELECT count(*) AS n FROM ${table}`)!.n, 0, table);
  }
});

Deno.test("deno kv: the queue waker sees apps that listen, or may, with their next due message", () => {
  const db = openDatabase(":memory:");
  const apps = new AppStore(db);
  let now = 1_000_000;
  const kv = new DenoKvStore(db, { now: () => now });
  const build = (code: string) => ({ style: "module" as const, entry: "api/main.ts", code });
  const listens = apps.createVersion("listens", [], {
    keep: 10,
    build: build("kv.listenQueue(h)"),
  }).app.id;
  const unknown = apps.createVersion("unknown", [], {
    keep: 10,
    build: build("kv.listenQueue(h)"),
  }).app.id;
  const deaf = apps.createVersion("deaf", [], { keep: 10, build: build("kv.listenQueue(h)") })
    .app.id;
  const silent = apps.createVersion("silent", [], { keep: 10, build: build("kv.enqueue(m)") })
    .app.id;
  const idle = apps.createVersion("idle", [], { keep: 10, build: build("kv.listenQueue(h)") })
    .app.id;
  const put = (app: number, delay: number) =>
    kv.commit(app, [], [], [{ payload: value("m"), delay }]);
  assert.equal(apps.listensQueue(listens, 1), undefined, "not known before the code loads");
  apps.setListensQueue(listens, 1, true);
  apps.setListensQueue(deaf, 1, false);
  apps.setListensQueue(idle, 1, true);
  assert.equal(apps.listensQueue(listens, 1), true);
  assert.equal(apps.listensQueue(deaf, 1), false);
  put(listens, 500);
  put(listens, 100);
  put(unknown, 300);
  put(deaf, 0);
  put(silent, 0);
  // `idle` listens but has no messages: nothing to wake it for.
  assert.deepEqual(kv.wakeups([], 10), [
    { appId: listens, name: "listens", version: 1, listens: true, due: now + 100 },
    { appId: unknown, name: "unknown", version: 1, listens: undefined, due: now + 300 },
  ]);
  assert.deepEqual(kv.wakeups([listens], 10).map((w) => w.name), ["unknown"], "skipped");
  assert.deepEqual(kv.wakeups([], 1).map((w) => w.name), ["listens"], "bounded");

  // A taken message is due again when its lease lapses.
  now += 100;
  const taken = kv.take(listens);
  assert.ok("message" in taken);
  assert.equal(kv.leased(listens), true);
  assert.equal(kv.wakeups([unknown], 10)[0].due, now + 400, "the other message, sooner");
  now += 400;
  const second = kv.take(listens);
  assert.ok("message" in second);
  assert.equal(kv.wakeups([unknown], 10)[0].due, now - 400 + LEASE_MS, "the first lease's end");
  db.transaction(() => kv.settle(listens, taken.message.id, true));
  db.transaction(() => kv.settle(listens, second.message.id, true));
  assert.equal(kv.leased(listens), false);
  assert.deepEqual(kv.wakeups([], 10).map((w) => w.name), ["unknown"]);

  // A new live version is not known until it loads.
  apps.createVersion("listens", [], { keep: 10, build: build("kv.listenQueue(h)") });
  put(listens, 0);
  assert.deepEqual(kv.wakeups([], 10).find((w) => w.appId === listens)?.listens, undefined);
  assert.equal(apps.listensQueue(listens, 1), true, "the old version's fact is kept with it");
});
