import assert from "node:assert/strict";
import { AppStore, type Database, type Doc, DocStore, openDatabase } from "./mod.ts";
import { refused } from "./testing.ts";

function setup() {
  const db = openDatabase(":memory:");
  const apps = new AppStore(db);
  const a = apps.createVersion("alpha", [], { keep: 10 }).app.id;
  const b = apps.createVersion("beta", [], { keep: 10 }).app.id;
  const docs = new DocStore(db, { now: () => 42 });
  return { db, apps, docs, a, b };
}

function snapshot(db: Database): string {
  return JSON.stringify(db.all("SELECT * FROM app_docs ORDER BY app_id, collection, id"));
}

const PEOPLE: Doc[] = [
  { id: "ann", name: "Ann", age: 31, done: true, tags: ["admin", "ops"], addr: { city: "Oslo" } },
  { id: "bob", name: "Bob", age: 25, done: false, tags: ["ops"], addr: { city: "Rome" } },
  { id: "cy", name: "Cy", age: 40, done: true, tags: [], addr: { city: "Oslo" }, note: null },
  { id: "dee", name: "Dee", age: "40", done: 1, tags: "admin-ish", addr: { city: "Lima" } },
  { id: "eve", name: "Eve", tags: [1, 2, true] },
];

function seeded() {
  const s = setup();
  for (const doc of PEOPLE) s.docs.insert(s.a, "people", doc);
  return s;
}

function ids(docs: DocStore, appId: number, filter: Doc, sort?: Record<string, 1 | -1>): string[] {
  return docs.find(appId, "people", filter, { sort }).items.map((d) => d.id as string);
}

Deno.test("docs: replace swaps a whole document, keeps its id, refuses a new id", () => {
  const { db, docs, a } = setup();
  docs.insert(a, "c", { id: "d1", x: 1, gone: true });
  assert.equal(docs.replace(a, "c", "d1", { x: 2, added: "yes" }), true);
  assert.deepEqual(docs.get(a, "c", "d1"), { id: "d1", x: 2, added: "yes" });
  assert.equal(docs.replace(a, "c", "d1", { id: "d1", x: 3 }), true);
  assert.equal(docs.replace(a, "c", "missing", { x: 1 }), false);
  assert.equal(docs.get(a, "c", "missing"), undefined);
  const before = snapshot(db);
  refused(() => docs.replace(a, "c", "d1", { id: "d2" }), "VALIDATION_FAILED", "id");
  refused(() => docs.replace(a, "c", "d1", [] as unknown as Doc), "VALIDATION_FAILED", "doc");
  refused(
    () => docs.replace(a, "c", "d1", { big: "x".repeat(1024 * 1024) }),
    "LIMIT_EXCEEDED",
    "doc",
  );
  assert.equal(snapshot(db), before);
  db.close();
});

Deno.test("docs: generated ids sort in the order they were made, so find() gives creation order", () => {
  const db = openDatabase(":memory:");
  const a = new AppStore(db).createVersion("alpha", [], { keep: 10 }).app.id;
  // Times across the digits' boundaries (64, 64^2, …) and today's clock.
  const times = [0, 1, 63, 64, 65, 4095, 4096, 262_144, 1_764_000_000_000, 1_764_000_000_001];
  let at = 0;
  const docs = new DocStore(db, { now: () => times[at] });
  const ids: string[] = [];
  for (at = 0; at < times.length; at++) {
    // Several in one millisecond: unique, and after every id of an earlier one.
    for (let k = 0; k < 3; k++) ids.push(docs.insert(a, "c", { at, k }).id);
  }
  for (const id of ids) assert.match(id, /^[A-Za-z0-9_-]{16}$/);
  assert.equal(new Set(ids).size, ids.length);
  const found = docs.find(a, "c", {}, { limit: 100 }).items.map((d) => d.at);
  assert.deepEqual(found, times.flatMap((_, i) => [i, i, i]));
  db.close();
});

Deno.test("docs: insert keeps or generates ids, get returns the stored doc", () => {
  const { db, docs, a } = setup();
  const given = docs.insert(a, "c", { id: "mine", x: 1, skip: undefined });
  assert.deepEqual(given, { id: "mine", x: 1 });
  const generated = docs.insert(a, "c", { x: 2 });
  assert.match(generated.id as string, /^[A-Za-z0-9_-]{16}$/);
  assert.deepEqual(docs.get(a, "c", generated.id as string), generated);
  assert.equal(docs.get(a, "c", "nope"), undefined);
  assert.equal(docs.get(a, "other", "mine"), undefined);
  const before = snapshot(db);
  refused(() => docs.insert(a, "c", { id: "mine", x: 3 }), "CONFLICT", "id");
  refused(() => docs.insert(a, "c", { id: 5 }), "VALIDATION_FAILED", "id");
  refused(() => docs.insert(a, "c", { id: "" }), "VALIDATION_FAILED", "id");
  refused(() => docs.insert(a, "bad name", {}), "VALIDATION_FAILED", "collection");
  refused(() => docs.insert(a, "c".repeat(65), {}), "VALIDATION_FAILED", "collection");
  refused(() => docs.insert(a, "c", [] as unknown as Doc), "VALIDATION_FAILED", "doc");
  refused(() => docs.insert(a, "c", { when: new Date() }), "VALIDATION_FAILED", "doc");
  refused(() => docs.insert(a, "c", { n: Infinity }), "VALIDATION_FAILED", "doc");
  refused(() => docs.insert(a, "c", { big: "x".repeat(1024 * 1024) }), "LIMIT_EXCEEDED", "doc");
  refused(() => docs.insert(999, "c", {}), "NOT_FOUND", "appId");
  assert.equal(snapshot(db), before);
  assert.equal(docs.count(a, "c"), 2);
  db.close();
});

Deno.test("docs: equality on fields, nested paths, id, booleans and null", () => {
  const { db, docs, a } = seeded();
  assert.deepEqual(ids(docs, a, { name: "Bob" }), ["bob"]);
  assert.deepEqual(ids(docs, a, { "addr.city": "Oslo" }), ["ann", "cy"]);
  assert.deepEqual(ids(docs, a, { "addr.city": "Oslo", age: 40 }), ["cy"]);
  assert.deepEqual(ids(docs, a, { id: "dee" }), ["dee"]);
  assert.deepEqual(ids(docs, a, { done: true }), ["ann", "cy"], "true is not the number 1");
  assert.deepEqual(ids(docs, a, { done: false }), ["bob"]);
  assert.deepEqual(ids(docs, a, { done: 1 }), ["dee"], "the number 1 is not true");
  assert.deepEqual(ids(docs, a, { age: 40 }), ["cy"], "the string '40' is not 40");
  assert.deepEqual(ids(docs, a, { age: "40" }), ["dee"]);
  assert.deepEqual(ids(docs, a, { note: null }), ["ann", "bob", "cy", "dee", "eve"]);
  assert.deepEqual(ids(docs, a, { age: null }), ["eve"], "missing equals null");
  assert.deepEqual(ids(docs, a, { addr: { city: "Rome" } }), ["bob"], "object equality");
  assert.deepEqual(ids(docs, a, { tags: ["ops"] }), ["bob"], "array equality");
  assert.deepEqual(ids(docs, a, { tags: '["ops"]' }), [], "a string is not an array");
  assert.deepEqual(ids(docs, a, { name: { $eq: "Cy" } }), ["cy"]);
  assert.deepEqual(ids(docs, a, {}), ["ann", "bob", "cy", "dee", "eve"]);
  db.close();
});

Deno.test("docs: comparison, $ne, $in and $contains operators", () => {
  const { db, docs, a } = seeded();
  assert.deepEqual(ids(docs, a, { age: { $gt: 25 } }), ["ann", "cy"], "numbers only");
  assert.deepEqual(ids(docs, a, { age: { $gte: 25, $lt: 40 } }), ["ann", "bob"]);
  assert.deepEqual(ids(docs, a, { age: { $lte: 25 } }), ["bob"]);
  assert.deepEqual(ids(docs, a, { name: { $gt: "Bz" } }), ["cy", "dee", "eve"]);
  assert.deepEqual(ids(docs, a, { id: { $lt: "bz" } }), ["ann", "bob"]);
  assert.deepEqual(ids(docs, a, { name: { $ne: "Ann" } }), ["bob", "cy", "dee", "eve"]);
  assert.deepEqual(ids(docs, a, { age: { $ne: 40 } }), ["ann", "bob", "dee", "eve"]);
  assert.deepEqual(ids(docs, a, { done: { $ne: true } }), ["bob", "dee", "eve"]);
  assert.deepEqual(ids(docs, a, { age: { $ne: null } }), ["ann", "bob", "cy", "dee"]);
  assert.deepEqual(ids(docs, a, { name: { $in: ["Ann", "Eve", "Zed"] } }), ["ann", "eve"]);
  assert.deepEqual(ids(docs, a, { age: { $in: [25, "40"] } }), ["bob", "dee"]);
  assert.deepEqual(ids(docs, a, { done: { $in: [false, null] } }), ["bob", "eve"]);
  assert.deepEqual(ids(docs, a, { id: { $in: ["cy", "bob"] } }), ["bob", "cy"]);
  assert.deepEqual(ids(docs, a, { age: { $in: [] } }), []);
  assert.deepEqual(ids(docs, a, { tags: { $contains: "admin" } }), ["ann", "dee"]);
  assert.deepEqual(ids(docs, a, { tags: { $contains: "ops" } }), ["ann", "bob"]);
  assert.deepEqual(ids(docs, a, { tags: { $contains: 2 } }), ["eve"]);
  assert.deepEqual(ids(docs, a, { tags: { $contains: true } }), ["eve"]);
  assert.deepEqual(ids(docs, a, { tags: { $contains: "ish" } }), ["dee"], "substring of strings");
  assert.deepEqual(ids(docs, a, { name: { $contains: "v" } }), ["eve"]);
  assert.deepEqual(ids(docs, a, { "addr.city": { $contains: "o" } }), ["ann", "bob", "cy"]);
  assert.equal(docs.count(a, "people", { done: true, "addr.city": "Oslo" }), 2);
  db.close();
});

Deno.test("docs: bad filters are refused with the field named", () => {
  const { db, docs, a } = seeded();
  refused(() => docs.find(a, "people", { age: { $regex: "x" } }), "VALIDATION_FAILED", "age");
  refused(() => docs.find(a, "people", { age: { $gt: true } }), "VALIDATION_FAILED", "age");
  refused(() => docs.find(a, "people", { age: { $gt: 1, x: 2 } }), "VALIDATION_FAILED", "age");
  refused(() => docs.find(a, "people", { age: { $in: "x" } }), "VALIDATION_FAILED", "age");
  refused(() => docs.find(a, "people", { tags: { $contains: [1] } }), "VALIDATION_FAILED", "tags");
  refused(() => docs.find(a, "people", { $or: [] }), "VALIDATION_FAILED", "$or");
  refused(() => docs.find(a, "people", { "a..b": 1 }), "VALIDATION_FAILED", "a..b");
  refused(() => docs.find(a, "people", { "1a": 1 }), "VALIDATION_FAILED", "1a");
  refused(() => docs.find(a, "people", { "a.__proto__": 1 }), "VALIDATION_FAILED");
  refused(() => docs.count(a, "people", { age: NaN }), "VALIDATION_FAILED", "age");
  refused(() => docs.find(a, "people", {}, { sort: { age: 2 as 1 } }), "VALIDATION_FAILED", "age");
  refused(() => docs.find(a, "people", {}, { limit: -1 }), "VALIDATION_FAILED", "limit");
  refused(() => docs.find(a, "people", {}, { cursor: "bm9wZQ" }), "VALIDATION_FAILED", "cursor");
  const many = Object.fromEntries(Array.from({ length: 33 }, (_, i) => [`f${i}`, i]));
  refused(() => docs.find(a, "people", many), "LIMIT_EXCEEDED", "filter");
  db.close();
});

Deno.test("docs: injection-looking fields are refused, values stored and matched literally", () => {
  const { db, docs, a } = setup();
  const evil = "x') OR 1=1; DROP TABLE app_docs; --";
  docs.insert(a, "c", { id: evil, v: evil, "odd key'": evil });
  docs.insert(a, "c", { id: "plain", v: "plain" });
  assert.deepEqual(docs.find(a, "c", { v: evil }).items.map((d) => d.id), [evil]);
  assert.deepEqual(docs.find(a, "c", { v: { $contains: "') OR 1=1" } }).items.length, 1);
  refused(() => docs.find(a, "c", { "v') OR 1=1 --": 1 }), "VALIDATION_FAILED");
  refused(() => docs.update(a, "c", {}, { $set: { "a'b": 1 } }), "VALIDATION_FAILED");
  refused(() => docs.ensureIndexes(a, { c: ["v'); DROP TABLE x; --"] }), "VALIDATION_FAILED");
  assert.equal(docs.count(a, "c"), 2);
  assert.deepEqual(docs.get(a, "c", evil), { id: evil, v: evil, "odd key'": evil });
  db.close();
});

Deno.test("docs: sort ascending and descending with id as tie-breaker", () => {
  const { db, docs, a } = seeded();
  assert.deepEqual(ids(docs, a, { age: { $gte: 0 } }, { age: 1 }), ["bob", "ann", "cy"]);
  assert.deepEqual(ids(docs, a, { age: { $gte: 0 } }, { age: -1 }), ["cy", "ann", "bob"]);
  assert.deepEqual(ids(docs, a, { done: true }, { "addr.city": -1 }), ["ann", "cy"]);
  assert.deepEqual(ids(docs, a, {}, { "addr.city": 1, name: -1 }), [
    "eve", // missing sorts first (NULL)
    "dee",
    "cy",
    "ann",
    "bob",
  ]);
  assert.deepEqual(ids(docs, a, {}, { id: -1 }), ["eve", "dee", "cy", "bob", "ann"]);
  db.close();
});

Deno.test("docs: cursors page without duplicates or gaps, sorted or not", () => {
  const { db, docs, a } = setup();
  for (let i = 0; i < 230; i++) docs.insert(a, "n", { i, even: i % 2 === 0, group: i % 7 });
  const collect = (filter: Doc, sort?: Record<string, 1 | -1>) => {
    const seen: number[] = [];
    let cursor: string | undefined;
    do {
      const page = docs.find(a, "n", filter, { sort, limit: 50, cursor });
      seen.push(...page.items.map((d) => d.i as number));
      cursor = page.cursor ?? undefined;
    } while (cursor);
    return seen;
  };
  const unsorted = collect({});
  assert.equal(unsorted.length, 230);
  assert.equal(new Set(unsorted).size, 230);
  assert.deepEqual(collect({ i: { $gte: 100 } }, { i: -1 }), range(229, 99));
  const grouped = collect({ even: true }, { group: 1 });
  assert.equal(grouped.length, 115);
  assert.equal(new Set(grouped).size, 115);
  docs.ensureIndexes(a, { n: ["even"] });
  const indexed = collect({ even: true });
  assert.deepEqual(indexed, unsorted.filter((i) => i % 2 === 0), "same id order via the index");
  assert.equal(docs.find(a, "n", {}, { limit: 230 }).cursor, null);
  assert.equal(docs.find(a, "n").items.length, 100);
  assert.equal(docs.find(a, "n", {}, { limit: 5000 }).items.length, 230);
  // A sorted query's cursor is refused by an unsorted one and vice versa.
  const sortedCursor = docs.find(a, "n", {}, { sort: { i: 1 }, limit: 1 }).cursor!;
  refused(() => docs.find(a, "n", {}, { cursor: sortedCursor }), "VALIDATION_FAILED", "cursor");
  db.close();
});

function range(from: number, downTo: number): number[] {
  const out: number[] = [];
  for (let i = from; i > downTo; i--) out.push(i);
  return out;
}

Deno.test("docs: update applies $set, $unset and $inc to every match", () => {
  const { db, docs, a } = seeded();
  assert.equal(
    docs.update(a, "people", { "addr.city": "Oslo" }, {
      $set: { "addr.zip": "0150", status: { level: 2 } },
      $inc: { age: 1, visits: 2 },
      $unset: ["tags"],
    }),
    2,
  );
  assert.deepEqual(docs.get(a, "people", "ann"), {
    id: "ann",
    name: "Ann",
    age: 32,
    done: true,
    addr: { city: "Oslo", zip: "0150" },
    status: { level: 2 },
    visits: 2,
  });
  assert.equal(docs.get(a, "people", "cy")!.age, 41);
  assert.equal(docs.update(a, "people", { name: "Bob" }, { $unset: { "addr.city": 1 } }), 1);
  assert.deepEqual(docs.get(a, "people", "bob")!.addr, {});
  assert.equal(docs.update(a, "people", { name: "Nobody" }, { $set: { x: 1 } }), 0);
  assert.equal(docs.update(a, "people", { id: "eve" }, { $inc: { "deep.count": 5 } }), 1);
  assert.deepEqual(docs.get(a, "people", "eve")!.deep, { count: 5 });
  db.close();
});

Deno.test("docs: refused updates change nothing", () => {
  const { db, docs, a } = seeded();
  const before = snapshot(db);
  const all = {};
  refused(() => docs.update(a, "people", all, { $set: { id: "new" } }), "VALIDATION_FAILED", "id");
  refused(() => docs.update(a, "people", all, { $unset: ["id"] }), "VALIDATION_FAILED", "id");
  refused(() => docs.update(a, "people", all, { $inc: { id: 1 } }), "VALIDATION_FAILED", "id");
  // "dee" has a string age, so the whole update is rolled back for every document.
  refused(() => docs.update(a, "people", all, { $inc: { age: 1 } }), "VALIDATION_FAILED", "age");
  refused(
    () => docs.update(a, "people", all, { $set: { "name.first": "x" } }),
    "VALIDATION_FAILED",
    "name.first",
  );
  refused(
    () => docs.update(a, "people", all, { name: "x" } as unknown as { $set: Doc }),
    "VALIDATION_FAILED",
    "name",
  );
  refused(() => docs.update(a, "people", all, {}), "VALIDATION_FAILED", "update");
  refused(
    () => docs.update(a, "people", all, { $inc: { n: "1" as unknown as number } }),
    "VALIDATION_FAILED",
    "n",
  );
  refused(
    () => docs.update(a, "people", all, { $set: { big: "x".repeat(1024 * 1024) } }),
    "LIMIT_EXCEEDED",
  );
  refused(
    () => docs.update(a, "people", all, { $set: { "__proto__.polluted": 1 } }),
    "VALIDATION_FAILED",
  );
  assert.equal(({} as Record<string, unknown>).polluted, undefined);
  assert.equal(snapshot(db), before);
  db.close();
});

Deno.test("docs: delete and count by filter", () => {
  const { db, docs, a } = seeded();
  assert.equal(docs.count(a, "people"), 5);
  assert.equal(docs.count(a, "people", { done: true }), 2);
  assert.equal(docs.delete(a, "people", { tags: { $contains: "ops" } }), 2);
  assert.equal(docs.count(a, "people"), 3);
  assert.equal(docs.delete(a, "people", { name: "Nobody" }), 0);
  assert.equal(docs.delete(a, "people", {}), 3);
  assert.equal(docs.count(a, "people"), 0);
  db.close();
});

Deno.test("docs: ensureIndexes creates expression indexes the planner uses", () => {
  const { db, docs, a, b } = seeded();
  const before = docs.explain(a, "people", { email: "x@y" }).join("\n");
  assert.doesNotMatch(before, /docs_f_/);
  docs.ensureIndexes(a, { people: ["email", "addr.city", "id"], other: ["email"] });
  docs.ensureIndexes(b, { people: ["email"] }); // Idempotent, and shared by apps.
  const indexes = db.all<{ name: string; sql: string }>(
    "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND name LIKE 'docs_f_%'",
  );
  assert.equal(indexes.length, 2);
  assert.ok(indexes.every((i) => /^docs_f_[0-9a-f]{20}$/.test(i.name)));
  assert.ok(indexes.some((i) => i.sql.includes("json_extract(doc, '$.addr.city')")));
  const plan = docs.explain(a, "people", { email: "x@y" }).join("\n");
  assert.match(
    plan,
    /USING INDEX docs_f_[0-9a-f]{20} \(app_id=\? AND collection=\? AND <expr>=\?\)/,
  );
  const cursor = docs.find(a, "people", { "addr.city": "Oslo" }, { limit: 1 }).cursor!;
  const nextPage = docs.explain(a, "people", { "addr.city": "Oslo" }, { cursor }).join("\n");
  assert.match(nextPage, /USING INDEX docs_f_/);
  assert.match(docs.explain(a, "people", {}).join("\n"), /sqlite_autoindex_app_docs_1/);
  const nested = docs.explain(a, "people", { "addr.city": "Oslo" }).join("\n");
  assert.match(nested, /USING INDEX docs_f_/);
  // The index changes plans, not results.
  assert.deepEqual(ids(docs, a, { "addr.city": "Oslo" }), ["ann", "cy"]);
  refused(() => docs.ensureIndexes(a, { "bad name": ["x"] }), "VALIDATION_FAILED", "collection");
  refused(() => docs.ensureIndexes(a, { people: ["a-b"] }), "VALIDATION_FAILED", "a-b");
  const capped = new DocStore(db, { maxIndexes: 3 });
  refused(() => capped.ensureIndexes(a, { people: ["p1", "p2"] }), "LIMIT_EXCEEDED", "indexes");
  assert.equal(
    db.all("SELECT name FROM sqlite_master WHERE name LIKE 'docs_f_%'").length,
    2,
    "a refused call creates no index",
  );
  db.close();
});

Deno.test("docs: apps are isolated and deleting an app deletes its documents", () => {
  const { db, apps, docs, a, b } = setup();
  docs.insert(a, "c", { id: "same", owner: "a" });
  docs.insert(b, "c", { id: "same", owner: "b" });
  assert.equal(docs.get(a, "c", "same")!.owner, "a");
  assert.equal(docs.get(b, "c", "same")!.owner, "b");
  assert.equal(docs.count(b, "c", { owner: "a" }), 0);
  assert.equal(docs.update(b, "c", { owner: "a" }, { $set: { owner: "b" } }), 0);
  assert.equal(docs.delete(b, "c", { owner: "a" }), 0);
  assert.equal(docs.update(b, "c", {}, { $set: { touched: true } }), 1);
  assert.equal(docs.get(a, "c", "same")!.touched, undefined);
  assert.ok(apps.delete("alpha"));
  assert.equal(db.get<{ n: number }>("SELECT COUNT(*) AS n FROM app_docs")!.n, 1);
  assert.equal(docs.get(b, "c", "same")!.owner, "b");
  db.close();
});

Deno.test("docs: the index cap is per app, fields go with their versions, unused indexes are dropped", () => {
  const { db, apps, docs, a, b } = setup();
  const physical = () =>
    db.all<{ n: number }>(
      "SELECT COUNT(*) AS n FROM sqlite_master WHERE type = 'index' AND name LIKE 'docs_f_%'",
    )[0].n;
  // Each app may declare up to its cap, whatever the others did.
  docs.ensureIndexes(a, { c: ["a1", "a2"] }, { version: 1, versions: [1], max: 2 });
  docs.ensureIndexes(b, { c: ["b1", "b2"] }, { version: 1, versions: [1], max: 2 });
  assert.equal(physical(), 4);
  refused(
    () => docs.ensureIndexes(b, { c: ["b1", "b2", "b3"] }, { version: 1, max: 2 }),
    "LIMIT_EXCEEDED",
    "indexes",
  );
  // A new version that declares other fields: the old version's are forgotten.
  const v2 = apps.createVersion("alpha", [], { keep: 10 }).version.number;
  docs.ensureIndexes(a, { c: ["a3"] }, { version: v2, versions: [v2], max: 2 });
  assert.equal(docs.dropUnusedIndexes(), 2, "a1 and a2 are no longer declared");
  assert.equal(physical(), 3);
  // A draft keeps the live version's fields beside its own, within the cap.
  const draft = apps.createVersion("alpha", [], { keep: 10, draft: true }).version.number;
  refused(
    () =>
      docs.ensureIndexes(a, { c: ["a4", "a5"] }, { version: draft, versions: [draft, v2], max: 2 }),
    "LIMIT_EXCEEDED",
  );
  docs.ensureIndexes(a, { c: ["a4"] }, { version: draft, versions: [draft, v2], max: 2 });
  assert.equal(docs.dropUnusedIndexes(), 0);
  // A pruned version's fields go with it; a deleted app's with it.
  apps.createVersion("beta", [], { keep: 1 });
  assert.equal(docs.dropUnusedIndexes(), 2, "beta's first version was pruned");
  apps.delete("alpha");
  assert.equal(docs.dropUnusedIndexes(), 2);
  assert.equal(physical(), 0);
  db.close();
});
