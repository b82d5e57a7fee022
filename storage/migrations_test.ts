import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import { LATEST_MIGRATION, openDatabase, schemaVersion, Storage } from "./mod.ts";
import { MIGRATIONS } from "./migrations.ts";

async function tempDb(): Promise<{ path: string; cleanup: () => Promise<void> }> {
  const dir = await Deno.makeTempDir({ prefix: "fazt-mig-" });
  return { path: `${dir}/data.db`, cleanup: () => Deno.remove(dir, { recursive: true }) };
}

Deno.test("a new database is migrated to the latest schema", async () => {
  const { path, cleanup } = await tempDb();
  try {
    const db = openDatabase(path);
    assert.equal(schemaVersion(db), LATEST_MIGRATION);
    assert.equal(db.get<{ journal_mode: string }>("PRAGMA journal_mode")!.journal_mode, "wal");
    assert.equal(db.get<{ foreign_keys: number }>("PRAGMA foreign_keys")!.foreign_keys, 1);
    assert.equal(db.get<{ timeout: number }>("PRAGMA busy_timeout")!.timeout, 5000);
    db.close();
  } finally {
    await cleanup();
  }
});

Deno.test("every migration N upgrades to N+1 keeping the data", async () => {
  for (let n = 1; n < LATEST_MIGRATION; n++) {
    const { path, cleanup } = await tempDb();
    try {
      const old = openDatabase(path, { migrateTo: n });
      assert.equal(schemaVersion(old), n);
      // Data written at migration 1 must survive every later one.
      old.run("INSERT INTO settings (key, value) VALUES ('domain', 'kept.example')");
      old.run(
        "INSERT INTO peers (name, url, token, is_default, created_at) VALUES ('p', 'http://x', 't', 1, 0)",
      );
      old.close();
      const storage = Storage.open(path);
      assert.equal(schemaVersion(storage.db), LATEST_MIGRATION);
      assert.equal(storage.settings.load().domain, "kept.example");
      assert.equal(storage.peers.getDefault()?.name, "p");
      storage.close();
    } finally {
      await cleanup();
    }
  }
});

Deno.test("migration 7 keeps every build and gives it no source map", async () => {
  const { path, cleanup } = await tempDb();
  try {
    const old = openDatabase(path, { migrateTo: 6 });
    old.run("INSERT INTO apps (id, name, created_at, updated_at) VALUES (1, 'a', 0, 0)");
    old.run(
      "INSERT INTO versions (app_id, number, file_count, bytes, created_at) VALUES (1, 1, 0, 0, 0)",
    );
    old.run(
      "INSERT INTO builds (app_id, version, build, manifest) VALUES (1, 1, ?, '{}')",
      '{"style":"module","entry":"api/main.ts","code":"export default 1"}',
    );
    old.close();
    const storage = Storage.open(path);
    try {
      assert.equal(storage.apps.build(1, 1)?.code, "export default 1");
      assert.equal(storage.apps.serverInfo(1, 1).manifest, "{}");
      assert.equal(storage.apps.sourceMap(1, 1), undefined);
    } finally {
      storage.close();
    }
  } finally {
    await cleanup();
  }
});

Deno.test("opening a migrated database again changes nothing", async () => {
  const { path, cleanup } = await tempDb();
  try {
    // Something in the tables of every migration, so a migration that ran
    // again (or a start-up that reset a table) would show.
    const first = Storage.open(path);
    first.settings.set("domain", "kept.example");
    const token = first.tokens.create("ci", "deploy").token;
    first.peers.upsert("p", "http://x", "t");
    const data = new TextEncoder().encode("hello");
    const { app } = first.apps.createVersion(
      "site",
      [{ path: "index.html", hash: "h".repeat(64), data }],
      { keep: 10 },
    );
    first.kv.set(app.id, "k", { v: 1 });
    first.sessions.create({ idleMs: 3_600_000, maxMs: 86_400_000 }, "UA");
    first.domains.add(app.id, "site.example.com", 10);
    first.certificates.saveAccountKey("https://ca.example/dir", "account-key");
    first.certificates.recordFailure("admin.kept.example", "refused", 1, 2);
    first.certificates.put({
      name: "kept.example",
      cert_pem: "cert",
      key_pem: "key",
      issuer: "CA",
      serial: "01",
      not_before: 1,
      not_after: 2,
      directory: "https://ca.example/dir",
      issued_at: 1,
    });
    const tables = (s: Storage) =>
      s.db.all<{ name: string; n: number }>(
        "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name",
      ).map((
        { name },
      ) => [name, s.db.get<{ n: number }>(`SELECT COUNT(*) AS n FROM "${name}"`)!.n]);
    const schema = (s: Storage) =>
      s.db.all("SELECT type, name, sql FROM sqlite_master ORDER BY name");
    const counts = tables(first);
    const shape = schema(first);
    first.close();

    const again = Storage.open(path);
    try {
      assert.equal(schemaVersion(again.db), LATEST_MIGRATION);
      assert.deepEqual(schema(again), shape, "the schema is as it was");
      assert.deepEqual(tables(again), counts, "every table keeps its rows");
      assert.equal(again.settings.load().domain, "kept.example");
      assert.equal(again.tokens.verify(token)?.name, "ci");
      assert.deepEqual(again.peers.list().map((p) => p.name), ["p"]);
      const site = again.apps.get("site")!;
      assert.equal(site.live_version, 1);
      assert.deepEqual(again.apps.content("h".repeat(64)), data);
      assert.deepEqual(again.kv.get(site.id, "k"), { v: 1 });
      assert.equal(again.sessions.list().length, 1);
      assert.equal(again.domains.get("site.example.com")?.app, "site");
      assert.equal(again.certificates.get("kept.example")?.key_pem, "key");
      assert.equal(again.certificates.accountKey("https://ca.example/dir"), "account-key");
    } finally {
      again.close();
    }
  } finally {
    await cleanup();
  }
});

Deno.test("a failing migration leaves the database at its previous version", async () => {
  const { path, cleanup } = await tempDb();
  try {
    const db = openDatabase(path, { migrateTo: 1 });
    // Squat the name migration 2 creates, so it fails half-way.
    db.exec("CREATE TABLE contents (x)");
    db.close();
    assert.throws(() => openDatabase(path));
    const again = openDatabase(path, { migrateTo: 1 });
    assert.equal(schemaVersion(again), 1);
    assert.equal(again.get("SELECT name FROM sqlite_master WHERE name = 'apps'"), undefined);
    again.close();
  } finally {
    await cleanup();
  }
});

Deno.test("a database from a newer fazt is refused, not written to", async () => {
  const { path, cleanup } = await tempDb();
  try {
    const db = openDatabase(path);
    db.exec(`PRAGMA user_version = ${LATEST_MIGRATION + 1}`);
    db.close();
    assert.throws(() => openDatabase(path), /from a newer fazt \(schema \d+; this program knows/);
    const raw = new DatabaseSync(path, { readOnly: true });
    const row = raw.prepare("PRAGMA user_version").get() as { user_version: number };
    assert.equal(row.user_version, LATEST_MIGRATION + 1, "left as it was");
    raw.close();
  } finally {
    await cleanup();
  }
});

Deno.test("migration 7 records the indexes deployed manifests declare and keeps contents whole", async () => {
  const { path, cleanup } = await tempDb();
  try {
    const old = openDatabase(path, { migrateTo: 6 });
    old.run("INSERT INTO apps (id, name, created_at, updated_at) VALUES (1, 'a', 0, 0)");
    for (const n of [1, 2, 3]) {
      old.run(
        "INSERT INTO versions (app_id, number, file_count, bytes, created_at) VALUES (1, ?, 0, 0, 0)",
        n,
      );
    }
    const manifest = JSON.stringify({ indexes: { users: ["email", "id"], posts: ["tag"] } });
    old.run("INSERT INTO builds (app_id, version, manifest) VALUES (1, 1, ?)", manifest);
    old.run("INSERT INTO builds (app_id, version, manifest) VALUES (1, 2, ?)", "{}");
    old.run("INSERT INTO builds (app_id, version, build) VALUES (1, 3, '{}')");
    old.run("INSERT INTO contents (hash, size, data) VALUES ('h', 1, x'01')");
    old.close();
    const storage = Storage.open(path);
    try {
      const rows = storage.db.all<{ version: number; path: string }>(
        "SELECT version, path FROM doc_indexes ORDER BY path",
      ).map((r) => ({ ...r }));
      assert.deepEqual(rows, [{ version: 1, path: "email" }, { version: 1, path: "tag" }]);
      assert.deepEqual(storage.apps.contentInfo("h"), { size: 1, chunks: 0 });
      assert.deepEqual(storage.apps.content("h"), new Uint8Array([1]));
    } finally {
      storage.close();
    }
  } finally {
    await cleanup();
  }
});

Deno.test("the live-period migration rebuilds history from deploy order", async () => {
  const { path, cleanup } = await tempDb();
  try {
    // Its number, wherever it lands when other migrations are added.
    const number = MIGRATIONS.findIndex((sql) => sql.includes("ADD COLUMN live_from")) + 1;
    assert.ok(number > 0);
    const old = openDatabase(path, { migrateTo: number - 1 });
    old.run(
      "INSERT INTO apps (id, name, live_version, created_at, updated_at) VALUES (1, 'a', 2, 0, 500)",
    );
    old.run(
      "INSERT INTO apps (id, name, live_version, created_at, updated_at) VALUES (2, 'b', NULL, 0, 0)",
    );
    for (const [app, n, at] of [[1, 1, 100], [1, 2, 200], [1, 3, 300], [2, 1, 50]]) {
      old.run(
        "INSERT INTO versions (app_id, number, file_count, bytes, created_at) VALUES (?, ?, 0, 0, ?)",
        app,
        n,
        at,
      );
    }
    old.close();
    const storage = Storage.open(path);
    try {
      const rows = (app: number) =>
        storage.apps.versions(app).map((v) => [v.number, v.live_from, v.live_until]);
      // a: v3 was deployed after the live v2 (a draft), v2 live since the app last changed,
      // v1 live from its deploy until v2's.
      assert.deepEqual(rows(1), [[3, null, null], [2, 500, null], [1, 100, 200]]);
      // b has no live version: nothing is guessed.
      assert.deepEqual(rows(2), [[1, null, null]]);
    } finally {
      storage.close();
    }
  } finally {
    await cleanup();
  }
});

Deno.test("the queue-listener migration keeps builds and queues, and knows no listener yet", async () => {
  const { path, cleanup } = await tempDb();
  try {
    const number = MIGRATIONS.findIndex((sql) => sql.includes("ADD COLUMN listens_queue")) + 1;
    assert.ok(number > 0);
    const old = openDatabase(path, { migrateTo: number - 1 });
    old.run(
      "INSERT INTO apps (id, name, live_version, created_at, updated_at) VALUES (1, 'q', 1, 0, 0)",
    );
    old.run(
      "INSERT INTO versions (app_id, number, file_count, bytes, created_at) VALUES (1, 1, 0, 0, 0)",
    );
    old.run(
      "INSERT INTO builds (app_id, version, build, manifest) VALUES (1, 1, ?, '{}')",
      JSON.stringify({ style: "module", entry: "api/main.ts", code: "kv.listenQueue(h)" }),
    );
    old.run(
      `INSERT INTO app_denokv_queue (app_id, payload, ready_at, leased_until, backoff, undelivered)
       VALUES (1, x'01', 500, NULL, '[]', '[]'), (1, x'02', 100, 900, '[]', '[]')`,
    );
    old.close();
    const storage = Storage.open(path);
    try {
      assert.equal(storage.apps.build(1, 1)?.code, "kv.listenQueue(h)");
      assert.equal(storage.apps.listensQueue(1, 1), undefined, "learned when the code loads");
      assert.equal(storage.denoKv.leased(1), true);
      assert.deepEqual(storage.denoKv.wakeups([], 10), [
        { appId: 1, name: "q", version: 1, listens: undefined, due: 500 },
      ]);
      const index = storage.db.get<{ name: string }>(
        "SELECT name FROM sqlite_master WHERE type = 'index' AND name = 'app_denokv_queue_leased'",
      );
      assert.equal(index?.name, "app_denokv_queue_leased");
    } finally {
      storage.close();
    }
  } finally {
    await cleanup();
  }
});

Deno.test("the held-usage migration keeps what documents count and counts new ones once", async () => {
  const { path, cleanup } = await tempDb();
  try {
    const number = MIGRATIONS.findIndex((sql) =>
      sql.includes("DROP TRIGGER app_docs_usage_insert")
    ) +
      1;
    assert.ok(number > 0);
    const old = openDatabase(path, { migrateTo: number - 1 });
    old.run(
      "INSERT INTO apps (id, name, live_version, created_at, updated_at) VALUES (1, 'docs', 1, 0, 0)",
    );
    // As the program before it wrote a document: its trigger counted it.
    old.run(
      `INSERT INTO app_docs (app_id, collection, id, doc, created_at, updated_at)
       VALUES (1, 'c', 'one', '{"text":"before ✓","id":"one"}', 0, 0)`,
    );
    const app = 1;
    const before = old.get<{ n: number }>("SELECT docs_bytes AS n FROM app_usage")!.n;
    assert.equal(before, 1 + 3 + '{"text":"before ✓","id":"one"}'.length + 2);
    old.close();
    const storage = Storage.open(path);
    try {
      assert.equal(storage.usage.of(app).docs_bytes, before);
      const trigger = storage.db.get(
        "SELECT name FROM sqlite_master WHERE type = 'trigger' AND name = 'app_docs_usage_insert'",
      );
      assert.equal(trigger, undefined);
      storage.docs.insert(app, "c", { text: "after ✓" });
      const recount = storage.db.get<{ n: number }>(
        `SELECT sum(octet_length(collection) + octet_length(id) + octet_length(doc)) AS n
         FROM app_docs WHERE app_id = ?`,
        app,
      )!.n;
      assert.equal(storage.usage.of(app).docs_bytes, recount);
    } finally {
      storage.close();
    }
  } finally {
    await cleanup();
  }
});

Deno.test("the queue-usage migration counts waiting messages, then each one in and out", async () => {
  const { path, cleanup } = await tempDb();
  try {
    const number = MIGRATIONS.findIndex((sql) => sql.includes("app_denokv_queue_usage_insert")) +
      1;
    assert.ok(number > 0);
    const old = openDatabase(path, { migrateTo: number - 1 });
    old.run(
      `INSERT INTO apps (id, name, live_version, created_at, updated_at)
       VALUES (1, 'q', 1, 0, 0), (2, 'plain', 1, 0, 0), (3, 'none', 1, 0, 0)`,
    );
    // App 1 stores an entry and two waiting messages; app 2 only messages (no usage row yet).
    old.run(
      "INSERT INTO app_denokv (app_id, key, value, encoding, version) VALUES (1, x'0201', x'0102', 3, 1)",
    );
    old.run(
      `INSERT INTO app_denokv_queue (app_id, payload, ready_at, backoff, undelivered)
       VALUES (1, x'010203', 0, '[]', '[]'), (1, x'01', 0, '[]', '["AQ=="]'),
              (2, x'0102030405', 0, '[]', '[]')`,
    );
    const before = old.get<{ n: number }>("SELECT kv_bytes AS n FROM app_usage WHERE app_id = 1");
    assert.equal(before?.n, 4, "before: the entry only");
    assert.equal(old.get("SELECT 1 FROM app_usage WHERE app_id = 2"), undefined);
    old.close();
    const storage = Storage.open(path);
    try {
      assert.equal(storage.usage.of(1).kv_bytes, 4 + (3 + 2) + (1 + 8));
      assert.equal(storage.usage.of(2).kv_bytes, 5 + 2);
      assert.equal(storage.usage.of(3).kv_bytes, 0);
      storage.db.transaction(() =>
        storage.denoKv.commit(3, [], [], [{ payload: new Uint8Array(10) }])
      );
      assert.equal(storage.usage.of(3).kv_bytes, 12, "a new message counts");
      const taken = storage.denoKv.take(2);
      assert.ok("message" in taken);
      storage.db.transaction(() => storage.denoKv.settle(2, taken.message.id, true));
      assert.equal(storage.usage.of(2).kv_bytes, 0, "a delivered one no longer does");
    } finally {
      storage.close();
    }
  } finally {
    await cleanup();
  }
});

Deno.test("the cron-backoff migration keeps the jobs registered in code, with no retries", async () => {
  const { path, cleanup } = await tempDb();
  try {
    const number = MIGRATIONS.findIndex((sql) =>
      sql.includes("app_code_crons ADD COLUMN backoff")
    ) +
      1;
    assert.ok(number > 0);
    const old = openDatabase(path, { migrateTo: number - 1 });
    old.run(
      "INSERT INTO apps (id, name, live_version, created_at, updated_at) VALUES (1, 'c', 1, 0, 0)",
    );
    old.run(
      "INSERT INTO app_code_crons (app_id, version, name, schedule) VALUES (1, 1, 'nightly', '0 3 * * *')",
    );
    old.close();
    const storage = Storage.open(path);
    try {
      assert.deepEqual(storage.crons.codeCrons(1, 1), [{ name: "nightly", schedule: "0 3 * * *" }]);
      storage.crons.setCodeCrons(1, 1, [{ name: "nightly", schedule: "0 3 * * *", backoff: [10] }]);
      assert.deepEqual(storage.crons.codeCrons(1, 1), [
        { name: "nightly", schedule: "0 3 * * *", backoff: [10] },
      ]);
    } finally {
      storage.close();
    }
  } finally {
    await cleanup();
  }
});
