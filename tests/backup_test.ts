/**
 * Backups through a running node: `GET /api/backup` and the schedule
 * (`backup_interval`, `backup_keep`, `backup_dir`) with its report in
 * `/api/system`.
 */
import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import { checkDatabaseFile, LATEST_MIGRATION, listBackups } from "../storage/mod.ts";
import { deadline, waitFor } from "./deadline.ts";
import { startHarness } from "./harness.ts";
import { makeZip, randomBytes, startTestNode } from "./helpers.ts";

function entries(dir: string): string[] {
  try {
    return [...Deno.readDirSync(dir)].map((e) => e.name).sort();
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return [];
    throw err;
  }
}

Deno.test("GET /api/backup: an admin downloads a checked snapshot while deploys go on", async () => {
  const node = await startTestNode({ settings: { max_versions: 1000 } });
  let deploying = true;
  let acknowledged = 0;
  const deploys = (async () => {
    while (deploying) {
      const r = await node.deploy("busy", await makeZip({ "index.html": `v${acknowledged + 1}` }));
      assert.equal(r.status, 201, JSON.stringify(r.body));
      acknowledged = r.body.data.version;
    }
  })();
  try {
    await waitFor(() => acknowledged >= 3, "the first deploys");
    const before = acknowledged;
    const res = await deadline(node.fetch("/api/backup"), "the download");
    assert.equal(res.status, 200);
    assert.equal(res.headers.get("content-type"), "application/vnd.sqlite3");
    assert.match(
      res.headers.get("content-disposition") ?? "",
      /^attachment; filename="fazt-\d{8}T\d{6}\.\d{3}Z\.db"$/,
    );
    assert.equal(res.headers.get("cache-control"), "no-store");
    const body = new Uint8Array(await res.arrayBuffer());
    assert.equal(body.length, Number(res.headers.get("content-length")));
    await waitFor(() => acknowledged > before, "deploys carrying on after the snapshot");
    deploying = false;
    await deploys;

    const copy = `${node.dir}/download.db`;
    Deno.writeFileSync(copy, body);
    assert.equal(checkDatabaseFile(copy).schema, LATEST_MIGRATION);
    const db = new DatabaseSync(copy, { readOnly: true });
    try {
      const versions = db.prepare(
        "SELECT v.number FROM versions v JOIN apps a ON a.id = v.app_id WHERE a.name = 'busy' ORDER BY v.number",
      ).all().map((r) => Number(r.number));
      assert.ok(
        versions.length >= before,
        `every deploy acknowledged before it: ${versions.length}`,
      );
      assert.deepEqual(versions, versions.map((_, i) => i + 1), "one commit's state, no gaps");
      const tokens = db.prepare("SELECT COUNT(*) AS n FROM tokens").get()!.n;
      assert.equal(tokens, 3);
    } finally {
      db.close();
    }
    assert.deepEqual(entries(node.dir).filter((n) => n.startsWith(".fazt-download-")), []);
    assert.deepEqual(entries(`${node.dir}/backups`), [], "a download is not a scheduled backup");
  } finally {
    deploying = false;
    await deploys.catch(() => {});
    await node.close();
  }
});

Deno.test("GET /api/backup: refused for read and deploy tokens, with no snapshot made", async () => {
  const node = await startTestNode();
  try {
    for (const scope of ["read", "deploy"] as const) {
      const res = await node.fetch("/api/backup", { token: node.tokens[scope] });
      assert.equal(res.status, 403, scope);
      assert.equal((await res.json()).error.code, "FORBIDDEN");
    }
    const none = await node.fetch("/api/backup", { token: null });
    assert.equal(none.status, 401);
    assert.equal((await none.json()).error.code, "UNAUTHORIZED");
    assert.deepEqual(entries(`${node.dir}/backups`), []);
    assert.deepEqual(entries(node.dir).filter((n) => !n.startsWith("data.db")), []);
  } finally {
    await node.close();
  }
});

Deno.test("GET /api/backup: an abandoned download leaves nothing, and the next one works", async () => {
  const node = await startTestNode();
  try {
    const zip = await makeZip({ "big.bin": randomBytes(3 * 1024 * 1024) }, 0);
    assert.equal((await node.deploy("big", zip)).status, 201);
    // Web fetch streams the body (node.fetch reads it whole); 127.0.0.1 is the admin host.
    const res = await fetch(`${node.base}/api/backup`, {
      headers: { authorization: `Bearer ${node.tokens.admin}` },
    });
    assert.equal(res.status, 200);
    const reader = res.body!.getReader();
    const first = await reader.read();
    assert.ok(first.value && first.value.length < Number(res.headers.get("content-length")));
    await reader.cancel();
    await waitFor(
      () => !entries(node.dir).some((n) => n.startsWith(".fazt-download-")),
      "the file removed",
    );
    const again = await node.fetch("/api/backup");
    assert.equal(again.status, 200);
    const bytes = new Uint8Array(await again.arrayBuffer());
    Deno.writeFileSync(`${node.dir}/again.db`, bytes);
    checkDatabaseFile(`${node.dir}/again.db`);
  } finally {
    await node.close();
  }
});

Deno.test("GET /api/backup: a node with its database in memory says it has no file", async () => {
  const h = startHarness();
  try {
    const res = await h.request("/api/backup");
    assert.equal(res.status, 503);
    assert.equal((await res.json()).error.code, "BACKUP_UNAVAILABLE");
    const system = await (await h.request("/api/system")).json();
    assert.equal(system.data.backup, null);
  } finally {
    await h.close();
  }
});

Deno.test("scheduled backups: made on time, pruned to backup_keep, reported in /api/system", async () => {
  const node = await startTestNode({ settings: { backup_interval: "1s", backup_keep: 2 } });
  try {
    const made = () => node.logs.filter((l) => /^backup: fazt-/.test(l)).length;
    await waitFor(() => made() >= 3, "three scheduled backups");
    const dir = `${node.dir}/backups`;
    const files = await waitFor(() => {
      const b = listBackups(dir);
      return b.length === 2 && b;
    }, "pruning to two");
    for (const f of files) checkDatabaseFile(f.path);
    assert.ok(node.logs.some((l) => /^backup: removed \d+ older \(keeping 2\)$/.test(l)));
    // The report is there for a read token, and names no path.
    const res = await node.fetch("/api/system", { token: node.tokens.read });
    const { backup } = (await res.json()).data;
    assert.equal(backup.interval, "1s");
    assert.equal(backup.keep, 2);
    assert.equal(backup.last.ok, true);
    assert.match(backup.last.file, /^fazt-\d{8}T\d{6}\.\d{3}Z\.db$/);
    assert.ok(listBackups(dir).length <= 2);
    assert.equal(backup.warning, null);
    assert.ok(backup.next_at > backup.last.at);
    assert.ok(!JSON.stringify(backup).includes(node.dir));
  } finally {
    await node.close();
  }
  assert.deepEqual(
    entries(`${node.dir}/backups`).filter((n) => n.endsWith(".partial")),
    [],
    "a backup under way at shutdown is not left half-written",
  );
});

Deno.test("scheduled backups: off by default; a bad schedule is refused", async () => {
  const node = await startTestNode();
  try {
    const { backup } = (await (await node.fetch("/api/system")).json()).data;
    assert.deepEqual(backup, {
      interval: "off",
      keep: 7,
      next_at: null,
      running: false,
      last: null,
      last_ok_at: null,
      warning: null,
    });
    for (
      const body of [
        { backup_interval: "daily" },
        { backup_interval: "0s" },
        { backup_keep: 0 },
        { backup_dir: "relative/path" },
      ]
    ) {
      const res = await node.fetch("/api/settings", {
        method: "PUT",
        body: JSON.stringify(body),
        headers: { "content-type": "application/json" },
      });
      assert.equal(res.status, 400, JSON.stringify(body));
      assert.equal((await res.json()).error.code, "VALIDATION_FAILED");
    }
    assert.equal(node.storage.settings.load().backup_interval, "off");
    assert.deepEqual(entries(`${node.dir}/backups`), []);
  } finally {
    await node.close();
  }
});
