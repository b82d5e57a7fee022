/**
 * Replication through the API on a node in this process: turning it on and
 * off, every refusal, credentials never answered, and the checkpoints the
 * node leaves to Litestream under write load.
 */
import assert from "node:assert/strict";
import type { Api } from "../server/mod.ts";
import { startServer } from "../server/mod.ts";
import { checkDatabaseFile, LATEST_MIGRATION, Storage } from "../storage/mod.ts";
import { waitFor } from "./deadline.ts";
import { deployFiles, makeZip, startTestNode, type TestNode } from "./helpers.ts";
import { hostFetch } from "./http_client.ts";
import { testLitestream, WRITER_APP } from "./replication_helpers.ts";

const LITESTREAM = testLitestream();

async function put(node: TestNode, body: unknown, token?: string) {
  const res = await node.fetch("/api/replication", {
    method: "PUT",
    body: JSON.stringify(body),
    headers: { "content-type": "application/json" },
    token,
  });
  return { status: res.status, body: await res.json() };
}

async function status(node: TestNode): Promise<Api.ReplicationStatus> {
  return (await (await node.fetch("/api/replication")).json()).data;
}

Deno.test("PUT /api/replication refuses what it cannot take, and changes nothing then", async () => {
  const node = await startTestNode({ settings: { litestream_path: LITESTREAM } });
  try {
    const refusals: [unknown, string, string][] = [
      [{}, "VALIDATION_FAILED", "url"],
      [{ url: "none" }, "VALIDATION_FAILED", "url"],
      [{ url: "http://example.com/x" }, "VALIDATION_FAILED", "url"],
      [{ url: "sftp://u:pw@h/p" }, "VALIDATION_FAILED", "url"],
      [{ url: "file:///tmp/r", extra: 1 }, "VALIDATION_FAILED", "extra"],
      [{ url: "file:///tmp/r", secret: 42 }, "VALIDATION_FAILED", "secret"],
      [{ url: "file:///tmp/r", sync_interval: "5x" }, "VALIDATION_FAILED", "sync_interval"],
      [{ url: "file:///tmp/r", sync_interval: "10ms" }, "VALIDATION_FAILED", "sync_interval"],
      [{ url: "file:///tmp/r", retention: "5m" }, "VALIDATION_FAILED", "retention"],
      [{ url: "file:///tmp/r", lag_warn_s: "9" }, "VALIDATION_FAILED", "lag_warn_s"],
      [{ url: "file:///tmp/r", key_path: "relative" }, "VALIDATION_FAILED", "key_path"],
      [{ url: "file:///tmp/r", secret: "a\nb" }, "VALIDATION_FAILED", "secret"],
    ];
    for (const [body, code, field] of refusals) {
      const r = await put(node, body);
      assert.equal(r.status, 400, JSON.stringify(body));
      assert.equal(r.body.error.code, code);
      assert.equal(r.body.error.details.field, field, JSON.stringify(r.body));
    }
    const notJson = await node.fetch("/api/replication", { method: "PUT", body: "{" });
    assert.equal((await notJson.json()).error.code, "INVALID_JSON");
    const reader = await put(node, { url: "file:///tmp/r" }, node.tokens.read);
    assert.equal(reader.status, 403);
    const s = await status(node);
    assert.equal(s.state, "off");
    assert.equal(s.url, null);
    assert.equal(node.storage.settings.load().replica_url, "none");

    // Credentials are not settings one can set or read through /api/settings.
    const viaSettings = await node.fetch("/api/settings", {
      method: "PUT",
      body: JSON.stringify({ replica_secret: "x" }),
    });
    assert.equal(viaSettings.status, 400);
    assert.equal((await viaSettings.json()).error.details.constraint, "credential");
    const program = await node.fetch("/api/settings", {
      method: "PUT",
      body: JSON.stringify({ litestream_path: "/bin/sh" }),
    });
    assert.equal(program.status, 403);
    assert.equal((await program.json()).error.code, "LOCAL_ONLY");
    const listed = (await (await node.fetch("/api/settings")).json()).data as Api.Setting[];
    assert.ok(listed.some((x) => x.key === "replica_url"));
    assert.ok(!listed.some((x) => x.key === "replica_secret" || x.key === "replica_access_key_id"));
    assert.equal(node.storage.settings.load().litestream_path, LITESTREAM);
  } finally {
    await node.close();
  }
});

Deno.test("without Litestream, turning replication on says how to get it", async () => {
  const node = await startTestNode({ settings: { litestream_path: "/nonexistent/litestream" } });
  try {
    const r = await put(node, { url: "file:///tmp/r" });
    assert.equal(r.status, 409);
    assert.equal(r.body.error.code, "LITESTREAM_NOT_FOUND");
    assert.match(r.body.error.message, /npm install -g @flydotio\/litestream@1\.0\.1/);
    assert.match(r.body.error.message, /releases\/tag\/v0\.3\.13/);
    assert.equal(node.storage.settings.load().replica_url, "none", "nothing stored");
  } finally {
    await node.close();
  }
});

Deno.test("a node in memory has nothing to replicate; only a standby can be promoted", async () => {
  const server = await startServer({ overrides: { port: 0, host: "127.0.0.1" }, log: () => {} });
  try {
    const token = server.context.storage.tokens.create("t", "admin").token;
    const get = await fetch(`${server.url}/api/replication`, {
      headers: { authorization: `Bearer ${token}` },
    });
    assert.equal(get.status, 409);
    assert.equal((await get.json()).error.code, "REPLICATION_UNAVAILABLE");
    const promote = await fetch(`${server.url}/api/standby/promote`, {
      method: "POST",
      headers: { authorization: `Bearer ${token}` },
    });
    assert.equal(promote.status, 409);
    assert.equal((await promote.json()).error.code, "NOT_STANDBY");
  } finally {
    await server.close();
  }
});

Deno.test({
  name:
    "under write load with replication on, writes keep succeeding and the node runs no blocking checkpoint",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "fazt-repl-api-" });
    const node = await startTestNode({ settings: { litestream_path: LITESTREAM } });
    try {
      const secret = `s-${crypto.randomUUID()}`;
      const on = await put(node, {
        url: `file://${dir}/replica`,
        secret,
        sync_interval: "500ms",
      });
      assert.equal(on.status, 200);
      assert.ok(!JSON.stringify(on.body).includes(secret));
      assert.equal(on.body.data.credentials.secret, true);
      assert.equal(node.storage.db.replicated, true);
      await waitFor(async () => (await status(node)).state === "replicating", "replicating");
      const autocheckpoint = () =>
        node.storage.db.get<{ wal_autocheckpoint: number }>("PRAGMA wal_autocheckpoint")!
          .wal_autocheckpoint;
      assert.equal(autocheckpoint(), 0, "SQLite's automatic checkpoints are Litestream's now");

      await deployFiles(node, "writer", WRITER_APP);
      const host = `writer.localhost:${node.server.port}`;
      let failed = 0;
      let done = 0;
      const writer = async (w: number) => {
        for (let i = 0; i < 60; i++) {
          const res = await hostFetch(`${node.base}/api/w?k=w${w}-${i}`, { method: "POST", host });
          await res.body?.cancel();
          if (res.status === 201) done++;
          else failed++;
        }
      };
      const deployer = async () => {
        for (let i = 0; i < 8; i++) {
          const r = await node.deploy(`site${i}`, await makeZip({ "index.html": `<p>${i}</p>` }));
          if (r.status === 201) done++;
          else failed++;
        }
      };
      await Promise.all([deployer(), ...Array.from({ length: 6 }, (_, w) => writer(w))]);
      assert.equal(failed, 0, "every write succeeded");
      assert.equal(done, 8 + 6 * 60);

      // The analytics salt's erasure asks for a TRUNCATE checkpoint: not now.
      const day = Date.UTC(2030, 0, 1);
      node.storage.analytics.salt(day, () => "a");
      node.storage.analytics.salt(day + 86_400_000, () => "b");
      assert.throws(
        () => node.storage.db.exec("PRAGMA wal_checkpoint(TRUNCATE)"),
        /refused a blocking checkpoint/,
      );
      assert.deepEqual(
        { ...node.storage.db.checkpoints, PASSIVE: 0 },
        { PASSIVE: 0, FULL: 0, RESTART: 0, TRUNCATE: 0 },
        "the node issued no blocking checkpoint",
      );
      const since = Date.now();
      const caughtUp = await waitFor(async () => {
        const s = await status(node);
        return (s.replicated_through ?? 0) > since && s.lag_ms === 0 &&
          s.local_position === s.replica_position && s;
      }, "the replica caught up, at Litestream's own position");
      assert.match(caughtUp.local_position ?? "", /^[0-9a-f]+\/[0-9a-f]{8}:\d+$/);
      assert.equal(caughtUp.replica_position, caughtUp.local_position);
      // /api/system shows the same status (looked at until no sync falls between the two reads).
      await waitFor(async () => {
        const [system, own] = await Promise.all([
          node.fetch("/api/system").then((r) => r.json()),
          status(node),
        ]);
        return JSON.stringify(system.data.replication) === JSON.stringify(own);
      }, "/api/system's replication to match /api/replication");
      assert.ok(
        (await (await node.fetch("/api/system")).json()).data.replication.enabled,
        "a primary's /api/system reports its replication",
      );
      assert.ok(!node.logs.some((l) => /database is locked/.test(l)), node.logs.join("\n"));
      assert.ok(!node.logs.some((l) => l.includes(secret)), "no credential in the log");

      // Off: Litestream stops, the credentials are forgotten, the node keeps its WAL again.
      const off = await node.fetch("/api/replication", { method: "DELETE" });
      const offStatus = (await off.json()).data as Api.ReplicationStatus;
      assert.equal(offStatus.state, "off");
      assert.deepEqual(offStatus.credentials, {
        access_key_id: false,
        secret: false,
        key_path: false,
      });
      assert.equal(node.storage.settings.load().replica_secret, "");
      assert.equal(node.storage.db.replicated, false);
      assert.equal(autocheckpoint(), 1000);
      const limit = node.storage.db.get<{ journal_size_limit: number }>(
        "PRAGMA journal_size_limit",
      )!.journal_size_limit;
      assert.equal(limit, 64 * 1024 * 1024, "a WAL that grew is cut back after a checkpoint");
      node.storage.analytics.salt(day + 2 * 86_400_000, () => "c");
      assert.equal(node.storage.db.checkpoints.TRUNCATE, 1, "without replication the erasure runs");
    } finally {
      await node.close();
      await Deno.remove(dir, { recursive: true });
    }
  },
});

/** Whether the bytes of `text` occur anywhere in `bytes`. */
function holds(bytes: Uint8Array, text: string): boolean {
  const needle = new TextEncoder().encode(text);
  outer: for (let i = 0; i + needle.length <= bytes.length; i++) {
    for (let j = 0; j < needle.length; j++) if (bytes[i + j] !== needle[j]) continue outer;
    return true;
  }
  return false;
}

/** A backup file: intact, the node's apps in it, replication off, no credential anywhere in it. */
function assertCleanBackup(path: string, credentials: string[], what: string): void {
  const bytes = Deno.readFileSync(path);
  assert.ok(bytes.length > 0, what);
  for (const c of credentials) assert.ok(!holds(bytes, c), `${what} carries no credential`);
  assert.equal(checkDatabaseFile(path).schema, LATEST_MIGRATION, `${what}: integrity ok`);
  const copy = Storage.open(path);
  try {
    assert.ok(copy.apps.get("blog"), `${what} holds the node's site`);
    assert.ok(copy.apps.get("writer"), `${what} holds the node's app`);
    const settings = copy.settings.load();
    assert.equal(settings.replica_url, "none", `${what}: replication off`);
    assert.equal(settings.replica_secret, "");
    assert.equal(settings.replica_access_key_id, "");
    assert.equal(settings.replica_sync_interval, "500ms", `${what}: other settings kept`);
  } finally {
    copy.close();
  }
}

Deno.test({
  name:
    "a backup (downloaded or scheduled) of a replicating node carries no replica credentials, and is whole",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "fazt-repl-backup-" });
    const node = await startTestNode({ settings: { litestream_path: LITESTREAM } });
    try {
      await deployFiles(node, "blog", { "index.html": "<h1>blog</h1>" });
      await deployFiles(node, "writer", WRITER_APP);
      const secret = `s-${crypto.randomUUID()}`;
      const keyId = `AKID${crypto.randomUUID().replaceAll("-", "").slice(0, 16)}`;
      const on = await put(node, {
        url: `file://${dir}/replica`,
        secret,
        access_key_id: keyId,
        sync_interval: "500ms",
      });
      assert.equal(on.status, 200, JSON.stringify(on.body));
      await waitFor(async () => (await status(node)).state === "replicating", "replicating");

      const res = await node.fetch("/api/backup");
      assert.equal(res.status, 200);
      const downloaded = `${dir}/downloaded.db`;
      await Deno.writeFile(downloaded, new Uint8Array(await res.arrayBuffer()));
      assertCleanBackup(downloaded, [secret, keyId], "GET /api/backup");

      const run = await node.server.context.backups!.runScheduled();
      assert.ok(run.ok && run.file, JSON.stringify(run));
      assertCleanBackup(
        `${node.server.context.backups!.dir}/${run.file}`,
        [secret, keyId],
        "a scheduled backup",
      );

      // Only the copies: the node itself keeps replicating with its credentials.
      const live = node.storage.settings.load();
      assert.equal(live.replica_secret, secret);
      assert.equal(live.replica_access_key_id, keyId);
      assert.equal((await status(node)).enabled, true);
    } finally {
      await node.close();
      await Deno.remove(dir, { recursive: true });
    }
  },
});
