import assert from "node:assert/strict";
import { openDatabase, Storage } from "./mod.ts";

function setup() {
  const storage = new Storage(openDatabase(":memory:"));
  const a = storage.apps.createVersion("alpha", [], { keep: 10 }).app.id;
  const b = storage.apps.createVersion("beta", [], { keep: 10 }).app.id;
  return { s: storage, a, b };
}

/** Document bytes worked out from the rows themselves. */
function docBytes(s: Storage, appId: number): number {
  return s.db.get<{ n: number }>(
    `SELECT coalesce(sum(octet_length(collection) + octet_length(id) + octet_length(doc)), 0) AS n
     FROM app_docs WHERE app_id = ?`,
    appId,
  )!.n;
}

function usageRow(s: Storage, appId: number): number | undefined {
  return s.db.get<{ n: number }>("SELECT docs_bytes AS n FROM app_usage WHERE app_id = ?", appId)
    ?.n;
}

Deno.test("inserts in one transaction reach app_usage before it is read and before COMMIT", () => {
  const { s, a, b } = setup();
  s.db.transaction(() => {
    s.docs.insert(a, "notes", { text: "ünïcode ✓ 𝄞" });
    s.docs.insert(a, "notes", { id: "given", n: 1 });
    s.docs.insert(b, "other", { x: [1, 2, 3] });
    assert.equal(usageRow(s, a), undefined, "held until something needs it");
    // A read inside the transaction sees the transaction's own inserts.
    assert.equal(s.usage.of(a).docs_bytes, docBytes(s, a));
    s.docs.insert(a, "notes", { more: "x".repeat(50) });
  });
  assert.equal(usageRow(s, a), docBytes(s, a));
  assert.equal(usageRow(s, b), docBytes(s, b));
  // Alone, an insert is a transaction of its own.
  s.docs.insert(b, "other", { y: "é" });
  assert.equal(usageRow(s, b), docBytes(s, b));
});

Deno.test("a rollback forgets the held bytes with the rows", () => {
  const { s, a } = setup();
  s.docs.insert(a, "c", { keep: true });
  const before = usageRow(s, a);
  assert.throws(() =>
    s.db.transaction(() => {
      s.docs.insert(a, "c", { gone: "x".repeat(100) });
      throw new Error("undo");
    }), /undo/);
  assert.equal(usageRow(s, a), before);
  assert.equal(usageRow(s, a), docBytes(s, a));
  // A savepoint undone keeps what came before it in the transaction.
  s.db.transaction(() => {
    s.docs.insert(a, "c", { kept: 1 });
    assert.throws(() =>
      s.db.savepoint(() => {
        s.docs.insert(a, "c", { undone: "y".repeat(300) });
        throw new Error("undo one");
      }), /undo one/);
    s.docs.insert(a, "c", { after: 2 });
  });
  assert.equal(s.docs.count(a, "c"), 3);
  assert.equal(usageRow(s, a), docBytes(s, a));
});

Deno.test("held bytes go in before the updates and deletes whose triggers adjust them", () => {
  const { s } = setup();
  // Each app has no usage row yet: an update's or a delete's trigger would
  // find none to adjust.
  const writes: ((appId: number, id: string) => unknown)[] = [
    (appId, id) => s.docs.update(appId, "c", { id }, { $set: { v: "a longer value" } }),
    (appId, id) => s.docs.replace(appId, "c", id, { v: "replaced, longer" }),
    (appId, id) => s.docs.delete(appId, "c", { id }),
  ];
  for (const [i, write] of writes.entries()) {
    const app = s.apps.createVersion(`app${i}`, [], { keep: 1 }).app.id;
    s.db.transaction(() => {
      const doc = s.docs.insert(app, "c", { v: "x".repeat(40) });
      write(app, doc.id);
    });
    assert.equal(usageRow(s, app), docBytes(s, app), `write ${i}`);
  }
  // An app deleted in the transaction that inserted for it leaves no row.
  const a = s.apps.get("alpha")!.id;
  s.db.transaction(() => {
    s.docs.insert(a, "c", { last: true });
    s.apps.delete("alpha");
  });
  assert.equal(usageRow(s, a), undefined);
});
