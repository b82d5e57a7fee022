import assert from "node:assert/strict";
import { Storage } from "../storage/mod.ts";
import { type CallResult, handleCall, resultJson } from "./bridge.ts";
import { FRAME } from "./protocol.ts";
import { WriteQueue } from "./write_queue.ts";

const te = new TextEncoder();
const NO_BODY = new Uint8Array();

/** Two apps over one in-memory database, and a caller bound to each. */
function setup() {
  const storage = Storage.open(":memory:");
  const writes = new WriteQueue(storage.db);
  const logs: string[] = [];
  const idOf = (name: string) =>
    storage.apps.createVersion(name, [{
      path: "i",
      hash: name.padEnd(64, "0"),
      data: te.encode(name),
    }], {
      keep: 1,
    }).app.id;
  const a = idOf("a");
  const b = idOf("b");
  const call = (appId: number) => (op: unknown, args: unknown, body = NO_BODY) =>
    handleCall({ storage, writes, appId, log: (m) => logs.push(m) }, op, args, body);
  return { storage, writes, logs, a, b, callA: call(a), callB: call(b) };
}

/** The value, as the Worker reads it off the wire. */
const ok = (r: CallResult) => {
  assert.equal(r.error, undefined, JSON.stringify(r.error));
  return JSON.parse(resultJson(FRAME.RESULT, r)).value;
};
const code = (r: CallResult) => r.error?.code;

Deno.test("calls act on the app of the channel, never on one named in the message", async () => {
  const { storage, callA, callB, a, b } = setup();
  try {
    ok(await callA("kv.set", ["k", { v: "a's" }]));
    ok(await callB("kv.set", ["k", { v: "b's" }]));
    assert.deepEqual(ok(await callA("kv.get", ["k"])), { v: "a's" });
    assert.deepEqual(ok(await callB("kv.get", ["k"])), { v: "b's" });
    // An app id smuggled in the arguments is just data.
    assert.equal(ok(await callA("kv.get", [String(b)])), undefined);
    ok(await callA("docs.insert", ["notes", { id: "n1", text: "hi" }]));
    assert.equal(ok(await callB("docs.count", ["notes", {}])), 0);
    assert.equal(storage.docs.count(a, "notes"), 1);
    ok(await callA("kv.delete", ["k"]));
    assert.deepEqual(storage.kv.get(b, "k"), { v: "b's" }, "b's key is untouched");
  } finally {
    storage.close();
  }
});

Deno.test("unknown operations and inherited names are refused", async () => {
  const { storage, callA } = setup();
  try {
    for (
      const op of ["kv.nope", "constructor", "__proto__", "toString", "hasOwnProperty", 42, null]
    ) {
      const r = await callA(op, []);
      assert.equal(code(r), "UNKNOWN_OPERATION", String(op));
    }
    assert.equal(code(await callA("kv.get", "k")), "VALIDATION_FAILED", "arguments must be a list");
    assert.equal(code(await callA("kv.get", { 0: "k" })), "VALIDATION_FAILED");
  } finally {
    storage.close();
  }
});

Deno.test("bad arguments come back as VALIDATION_FAILED values, not exceptions", async () => {
  const { storage, callA, logs } = setup();
  try {
    const bad: [string, unknown[]][] = [
      ["kv.get", [1]],
      ["kv.set", [null, 1]],
      ["kv.set", ["k", 1, "options"]],
      ["kv.set", ["k", 1, { ttl: 0 }]],
      ["kv.set", ["k", 1, { ttl: "60" }]],
      ["kv.increment", ["n", "1"]],
      ["kv.increment", ["n", Infinity]],
      ["kv.list", [[]]],
      ["docs.insert", ["c", "not an object"]],
      ["docs.find", ["c", [1]]],
      ["blobs.put", ["k", { contentType: 3 }]],
      ["blobs.putText", ["p", "x", 3]],
    ];
    for (const [op, args] of bad) {
      const r = await callA(op, args);
      assert.equal(code(r), "VALIDATION_FAILED", `${op} ${JSON.stringify(args)}`);
      assert.equal(typeof r.error!.message, "string");
    }
    assert.deepEqual(logs, [], "refusals are not server errors");
  } finally {
    storage.close();
  }
});

Deno.test("kv: ttl, increment and list", async () => {
  const { storage, callA } = setup();
  try {
    ok(await callA("kv.set", ["k", 1, { ttl: 60_000 }]));
    assert.equal(ok(await callA("kv.increment", ["n"])), 1);
    assert.equal(ok(await callA("kv.increment", ["n", 5])), 6);
    assert.equal(ok(await callA("kv.increment", ["n", -2.5])), 3.5);
    const page = ok(await callA("kv.list", [{ prefix: "" }])) as { items: { key: string }[] };
    assert.deepEqual(page.items.map((i) => i.key), ["k", "n"]);
    const all = ok(await callA("kv.list", [])) as { items: { key: string }[] };
    assert.deepEqual(all.items.map((i) => i.key), ["k", "n"], "options may be left out");
  } finally {
    storage.close();
  }
});

Deno.test("writes go through the write queue, reads do not", async () => {
  const { storage, writes, callA } = setup();
  try {
    const before = writes.batches;
    await Promise.all([callA("kv.set", ["x", 1]), callA("kv.set", ["y", 2])]);
    assert.equal(writes.batches, before + 1, "two writes, one group commit");
    await callA("kv.get", ["x"]);
    await callA("docs.find", ["c", {}]);
    assert.equal(writes.batches, before + 1, "reads are not queued");
  } finally {
    storage.close();
  }
});

Deno.test("blobs travel as bytes; the original's text API reads back as base64", async () => {
  const { storage, callA } = setup();
  try {
    const bytes = new Uint8Array([0, 1, 2, 250, 255]);
    const meta = ok(await callA("blobs.put", ["img/a.bin", { contentType: "image/png" }], bytes));
    assert.equal((meta as { size: number }).size, 5);
    const got = await callA("blobs.get", ["img/a.bin"]);
    assert.deepEqual(got.body, bytes);
    assert.equal((got.value as { content_type: string }).content_type, "image/png");
    assert.equal((got.value as Record<string, unknown>).data, undefined, "bytes only in the body");
    assert.equal(ok(await callA("blobs.get", ["missing"])), undefined);
    ok(await callA("blobs.putText", ["notes/a.txt", "héllo", "text/plain"]));
    assert.deepEqual(ok(await callA("blobs.getBase64", ["notes/a.txt"])), {
      data: "aMOpbGxv", /* "héllo" as UTF-8 */
      mime: "text/plain",
      size: te.encode("héllo").byteLength,
    });
    // Large: too many bytes to spread into one String.fromCharCode call.
    const big = new Uint8Array(100_000).map((_, i) => i % 251);
    ok(await callA("blobs.put", ["big", {}], big));
    await callA("blobs.putText", ["big.txt", "x".repeat(100_000)]);
    const b64 = ok(await callA("blobs.getBase64", ["big.txt"])) as { data: string };
    assert.equal(atob(b64.data), "x".repeat(100_000));
    assert.deepEqual(
      (ok(await callA("blobs.list", [])) as { items: { key: string }[] }).items.map((i) => i.key),
      ["big", "big.txt", "img/a.bin", "notes/a.txt"],
    );
    assert.equal(ok(await callA("blobs.delete", ["big"])), true);
    assert.equal(ok(await callA("blobs.getBase64", ["nope"])), undefined);
  } finally {
    storage.close();
  }
});

Deno.test("an unexpected failure is logged and answered without its details", async () => {
  const { storage, callA, logs } = setup();
  storage.close();
  const r = await callA("kv.get", ["k"]);
  assert.deepEqual(r.error, { code: "INTERNAL_ERROR", message: "the storage call failed" });
  assert.equal(logs.length, 1);
  assert.match(logs[0], /^storage call kv\.get failed: /);
});

Deno.test("a write past the storage quota is refused whole, in a batch with others that stay", async () => {
  const { storage, writes, a } = setup();
  try {
    const call = (op: string, args: unknown[], body = NO_BODY, quota = 400) =>
      handleCall(
        { storage, writes, appId: a, log: () => {}, maxStoredBytes: quota },
        op,
        args,
        body,
      );
    ok(await call("kv.set", ["small", "x".repeat(50)]));
    const before = storage.usage.stored(a);
    // Issued together, these share one transaction: the refused one undoes only itself.
    const results = await Promise.all([
      call("kv.set", ["one", 1]),
      call("docs.insert", ["c", { big: "y".repeat(500) }]),
      call("blobs.put", ["b", {}], new Uint8Array(600)),
      call("kv.set", ["two", 2]),
    ]);
    assert.deepEqual(results.map(code), [undefined, "QUOTA_EXCEEDED", "QUOTA_EXCEEDED", undefined]);
    assert.equal(storage.docs.count(a, "c", {}), 0);
    assert.equal(storage.blobs.head(a, "b"), undefined);
    assert.equal(ok(await call("kv.get", ["two"])), 2);
    assert.equal(storage.usage.stored(a), before + "one1".length + "two2".length);
    // An update that would grow a document past the quota changes no document.
    ok(await call("docs.insert", ["c", { id: "d", v: "" }]));
    assert.equal(
      code(await call("docs.update", ["c", {}, { $set: { v: "z".repeat(400) } }])),
      "QUOTA_EXCEEDED",
    );
    assert.deepEqual(ok(await call("docs.get", ["c", "d"])), { id: "d", v: "" });
    // Over the quota (a lowered limit), deletes still go through; 0 is no limit.
    assert.equal(code(await call("kv.set", ["x", 1], NO_BODY, 10)), "QUOTA_EXCEEDED");
    assert.equal(ok(await call("kv.delete", ["small"], NO_BODY, 10)), true);
    ok(await call("blobs.put", ["free", {}], new Uint8Array(5000), 0));
  } finally {
    storage.close();
  }
});

Deno.test("over a lowered quota, a write that shrinks the app goes through and one that grows it does not", async () => {
  const { storage, writes, a } = setup();
  try {
    const call = (op: string, args: unknown[], quota: number) =>
      handleCall(
        { storage, writes, appId: a, log: () => {}, maxStoredBytes: quota },
        op,
        args,
        NO_BODY,
      );
    ok(await call("kv.set", ["k", "x".repeat(300)], 0));
    ok(await call("docs.insert", ["c", { id: "d", v: "y".repeat(300) }], 0));
    // Below what is left even after both shrinking writes.
    const quota = 10;
    // Issued together: each is over the quota after it ran, and only `guard`
    // (which reads the usage before too) can tell which ones shrank the app.
    const results = await Promise.all([
      call("kv.set", ["k", "short"], quota),
      call("kv.set", ["new", 1], quota),
      call("docs.update", ["c", { id: "d" }, { $set: { v: "z" } }], quota),
      call("docs.insert", ["c", { v: 1 }], quota),
    ]);
    assert.deepEqual(results.map(code), [undefined, "QUOTA_EXCEEDED", undefined, "QUOTA_EXCEEDED"]);
    assert.equal(ok(await call("kv.get", ["k"], quota)), "short");
    assert.equal(ok(await call("kv.get", ["new"], quota)), undefined);
    assert.deepEqual(ok(await call("docs.get", ["c", "d"], quota)), { id: "d", v: "z" });
    assert.equal(storage.docs.count(a, "c", {}), 1);
    assert.ok(storage.usage.stored(a) > quota);
    // Within its quota, a write goes through in one optimistic run.
    const retried = writes.retried;
    ok(await call("kv.set", ["new", 1], 10_000));
    assert.equal(writes.retried, retried);
  } finally {
    storage.close();
  }
});

/** Reads of `app_usage` the database runs, counted where every read passes. */
function countUsageReads(storage: Storage): () => number {
  let reads = 0;
  const get = storage.db.get.bind(storage.db);
  storage.db.get = (sql, ...params) => {
    if (/\bapp_usage\b/.test(sql)) reads++;
    return get(sql, ...params);
  };
  return () => reads;
}

/** `docs.insert` of a document with its own id, and what it adds to the app's usage. */
const doc = (id: string, n: number) => ({ id, t: "x".repeat(n) });
const docBytes = (id: string, n: number) =>
  "c".length + id.length + JSON.stringify(doc(id, n)).length;

Deno.test("in a batch of inserts, the last, which crosses the quota, alone is refused", async () => {
  const { storage, writes, a, b } = setup();
  try {
    const C = docBytes("d1", 100);
    const quota = 4 * C + C / 2;
    const insert = (appId: number, id: string) =>
      handleCall(
        { storage, writes, appId, log: () => {}, maxStoredBytes: quota },
        "docs.insert",
        ["c", doc(id, 100)],
        NO_BODY,
      );
    const batches = writes.batches;
    const results = await Promise.all([
      ...["d1", "d2", "d3", "d4", "d5"].map((id) => insert(a, id)),
      insert(b, "d1"),
    ]);
    assert.equal(writes.batches, batches + 1, "one batch");
    assert.deepEqual(results.map(code), [...Array(4).fill(undefined), "QUOTA_EXCEEDED", undefined]);
    assert.deepEqual(storage.docs.find(a, "c").items.map((d) => d.id), ["d1", "d2", "d3", "d4"]);
    assert.equal(storage.usage.stored(a), 4 * C);
    assert.equal(storage.docs.count(b, "c"), 1);
  } finally {
    storage.close();
  }
});

Deno.test("in a batch of inserts, the first to cross the quota is refused, and each later one over it", async () => {
  const { storage, writes, a } = setup();
  try {
    const C = docBytes("big1", 100);
    const small = docBytes("s", 1);
    const c = { storage, writes, appId: a, log: () => {} };
    ok(await handleCall(c, "kv.set", ["k", "v"], NO_BODY));
    const base = storage.usage.stored(a);
    const quota = base + small + 1;
    const insert = (id: string, n: number) =>
      handleCall({ ...c, maxStoredBytes: quota }, "docs.insert", ["c", doc(id, n)], NO_BODY);
    const results = await Promise.all([insert("big1", 100), insert("big2", 100), insert("s", 1)]);
    assert.ok(base + C > quota);
    assert.deepEqual(results.map(code), ["QUOTA_EXCEEDED", "QUOTA_EXCEEDED", undefined]);
    assert.deepEqual(storage.docs.find(a, "c").items.map((d) => d.id), ["s"]);
    assert.equal(storage.usage.stored(a), base + small);
  } finally {
    storage.close();
  }
});

Deno.test("an insert over the quota is refused even when a delete later in its batch frees the room", async () => {
  const { storage, writes, a } = setup();
  try {
    const C = docBytes("d1", 100);
    const quota = C + C / 2;
    const call = (op: string, args: unknown[]) =>
      handleCall(
        { storage, writes, appId: a, log: () => {}, maxStoredBytes: quota },
        op,
        args,
        NO_BODY,
      );
    // After the batch the app is within its quota, but it was over after d2.
    const results = await Promise.all([
      call("docs.insert", ["c", doc("d1", 100)]),
      call("docs.insert", ["c", doc("d2", 100)]),
      call("docs.delete", ["c", {}]),
      call("docs.insert", ["c", doc("d3", 100)]),
    ]);
    assert.deepEqual(results.map(code), [undefined, "QUOTA_EXCEEDED", undefined, undefined]);
    assert.equal(results[2].value, 1, "the delete found d1 alone");
    assert.deepEqual(storage.docs.find(a, "c").items.map((d) => d.id), ["d3"]);
    assert.equal(storage.usage.stored(a), C);
  } finally {
    storage.close();
  }
});

Deno.test("a batch of inserts within the quota reads each app's usage once; other writes once each", async () => {
  const { storage, writes, a, b } = setup();
  try {
    const reads = countUsageReads(storage);
    const quota = 1_000_000;
    const call = (appId: number, op: string, args: unknown[]) =>
      handleCall(
        { storage, writes, appId, log: () => {}, maxStoredBytes: quota },
        op,
        args,
        NO_BODY,
      );
    const ids = Array.from({ length: 10 }, (_, i) => `d${i}`);
    const retried = writes.retried;
    let batches = writes.batches;
    const inserts = await Promise.all([
      ...ids.map((id) => call(a, "docs.insert", ["c", doc(id, 10)])),
      ...ids.map((id) => call(b, "docs.insert", ["c", doc(id, 10)])),
    ]);
    inserts.forEach(ok);
    assert.equal(writes.batches, ++batches, "one batch");
    assert.equal(reads(), 2, "one read for each app");
    // A run of inserts broken by a write that may shrink the app: the
    // inserts before it are checked after the last of them.
    const before = reads();
    const mixed = await Promise.all([
      call(a, "docs.insert", ["c", doc("e1", 10)]),
      call(a, "docs.insert", ["c", doc("e2", 10)]),
      call(a, "kv.set", ["k", "v"]),
      call(a, "docs.insert", ["c", doc("e3", 10)]),
      call(a, "docs.insert", ["c", doc("e4", 10)]),
    ]);
    mixed.forEach(ok);
    assert.equal(writes.batches, ++batches, "one batch");
    assert.equal(reads() - before, 3, "after e2, after the kv.set, after e4");
    // Writes that may shrink the app are checked one by one.
    const sets = await Promise.all(ids.map((id) => call(a, "kv.set", [id, 1])));
    sets.forEach(ok);
    assert.equal(reads() - before - 3, ids.length);
    assert.equal(writes.retried, retried, "nothing was run carefully");
    assert.equal(storage.docs.count(a, "c"), 14);
  } finally {
    storage.close();
  }
});

Deno.test("an inserted document goes back as its stored JSON text, read as the stored document", async () => {
  const { storage, callA, a } = setup();
  try {
    const r = await callA("docs.insert", ["notes", { text: "ünïcode ✓", n: 1, skip: undefined }]);
    assert.equal(r.value, undefined);
    assert.equal(typeof r.json, "string");
    const doc = ok(r);
    assert.deepEqual(doc, { text: "ünïcode ✓", n: 1, id: doc.id });
    assert.deepEqual(storage.docs.get(a, "notes", doc.id), doc);
  } finally {
    storage.close();
  }
});
