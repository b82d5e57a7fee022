/**
 * Continuous replication end to end, with the real pieces: a `fazt server
 * start` process replicating through Litestream to a folder, an SFTP server
 * (rclone) and an S3 API (moto), all on loopback; writes through the API
 * and an app under load; the primary killed with SIGKILL; `fazt restore`
 * on a new path; a node started on it.
 */
import assert from "node:assert/strict";
import { Storage } from "../storage/mod.ts";
import type { Api } from "../server/mod.ts";
import { checkDatabaseFile } from "../storage/mod.ts";
import { assertOk, CliSandbox, httpGet, ServerProcess } from "./cli_runner.ts";
import { deadline, waitFor } from "./deadline.ts";
import { makeZip } from "./helpers.ts";
import { freePort } from "./ports.ts";
import { hostFetch } from "./http_client.ts";
import {
  alive,
  psArgs,
  startMoto,
  startSftp,
  testLitestream,
  WRITER_APP,
} from "./replication_helpers.ts";

const LITESTREAM = testLitestream();

/** The SFTP case's `replica_sync_interval`, and how much more its loss window may be. */
const SYNC_INTERVAL_MS = 500;
const LOSS_SLACK_MS = 2000;

/** A database with an admin token and `litestream_path` set; the token. */
function prepare(db: string): string {
  Deno.mkdirSync(db.slice(0, db.lastIndexOf("/")), { recursive: true });
  const s = Storage.open(db);
  try {
    s.settings.set("litestream_path", LITESTREAM);
    return s.tokens.create("test", "admin").token;
  } finally {
    s.close();
  }
}

interface Node {
  server: ServerProcess;
  token: string;
  api<T>(method: string, path: string, body?: unknown): Promise<T>;
  raw(method: string, path: string, body?: unknown): Promise<Response>;
}

function node(server: ServerProcess, token: string): Node {
  const raw = (method: string, path: string, body?: unknown) =>
    fetch(`${server.base}${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  return {
    server,
    token,
    raw,
    async api<T>(method: string, path: string, body?: unknown): Promise<T> {
      const res = await raw(method, path, body);
      const json = await res.json();
      if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${JSON.stringify(json)}`);
      return json.data as T;
    },
  };
}

async function deploy(n: Node, name: string, files: Record<string, string>): Promise<void> {
  const res = await fetch(`${n.server.base}/api/deploy?name=${name}`, {
    method: "POST",
    headers: { authorization: `Bearer ${n.token}`, "content-type": "application/zip" },
    body: await makeZip(files),
  });
  const body = await res.text();
  if (res.status !== 201) throw new Error(`deploy ${name}: ${res.status} ${body}`);
}

const replication = (n: Node) => n.api<Api.ReplicationStatus>("GET", "/api/replication");

interface Load {
  /** Site name → its content, for every deploy the node acknowledged. */
  deploys: Map<string, string>;
  /** Key → when the node acknowledged the app's write of it. */
  writes: Map<string, number>;
  lastDeployAt: number;
}

/**
 * Deploys `sites` sites while `workers` clients keep writing through the
 * app, until `until` says stop (or a write fails: the node is gone).
 */
async function underLoad(
  n: Node,
  opts: { sites: number; workers: number; until: (load: Load) => boolean | Promise<boolean> },
): Promise<Load> {
  const load: Load = { deploys: new Map(), writes: new Map(), lastDeployAt: 0 };
  let stop = false;
  let next = 0;
  const host = `writer.localhost:${n.server.port}`;
  const writer = async () => {
    while (!stop) {
      const k = `k${next++}`;
      try {
        const res = await hostFetch(`${n.server.base}/api/w?k=${k}`, { method: "POST", host });
        await res.body?.cancel();
        if (res.status === 201) load.writes.set(k, Date.now());
        else throw new Error(`write ${k}: ${res.status}`);
      } catch {
        stop = true; // the node is gone
      }
      if (await opts.until(load)) stop = true;
    }
  };
  const deployer = async () => {
    for (let i = 0; i < opts.sites && !stop; i++) {
      const content = `<h1>site ${i} ${crypto.randomUUID()}</h1>`;
      await deploy(n, `site${i}`, { "index.html": content });
      load.deploys.set(`site${i}`, content);
      load.lastDeployAt = Date.now();
    }
  };
  await Promise.all([deployer(), ...Array.from({ length: opts.workers }, writer)]);
  return load;
}

/** The keys the app's writes left in a database file. */
function keysIn(db: string): Set<string> {
  const s = Storage.open(db);
  try {
    const rows = s.db.all<{ key: string }>(
      "SELECT k.key FROM app_kv k JOIN apps a ON a.id = k.app_id WHERE a.name = 'writer'",
    );
    return new Set(rows.map((r) => r.key));
  } finally {
    s.close();
  }
}

/** `fazt server start --db PATH` on a free port; resolves once it listens. */
async function startOn(sandbox: CliSandbox, db: string): Promise<ServerProcess> {
  const server = new ServerProcess(
    sandbox.command(["server", "start", "--db", db, "--port", "0", "--host", "127.0.0.1"]).spawn(),
  );
  sandbox.servers.push(server);
  await server.ready();
  return server;
}

/** The restored node serves every acknowledged deploy, and the app answers. */
async function assertServes(server: ServerProcess, load: Load): Promise<void> {
  for (const [name, content] of load.deploys) {
    const page = await httpGet(server.port, "/", `${name}.localhost:${server.port}`);
    assert.equal(page.status, 200, `${name} is served`);
    assert.equal(page.text, content, `${name} serves what was deployed`);
  }
  const first = load.writes.keys().next().value!;
  const has = await httpGet(server.port, `/api/has?k=${first}`, `writer.localhost:${server.port}`);
  assert.deepEqual(JSON.parse(has.text), { has: true }, "the app runs on the restored node");
}

async function withSandbox(fn: (sandbox: CliSandbox) => Promise<void>): Promise<void> {
  const sandbox = await CliSandbox.create();
  try {
    await fn(sandbox);
  } finally {
    for (const s of sandbox.servers) await s.kill();
    await sandbox.remove();
  }
}

Deno.test({
  name:
    "file replica: under load, the node killed with SIGKILL; Litestream ships the rest and the restore has every acknowledged write",
  sanitizeOps: false,
  sanitizeResources: false,
  fn: () =>
    withSandbox(async (sandbox) => {
      const token = prepare(sandbox.db);
      const replica = `file://${sandbox.dir}/replica`;
      assertOk(
        await sandbox.cli([
          "replicate",
          "enable",
          "--db",
          sandbox.db,
          "--to",
          replica,
          "--sync-interval",
          "500ms",
        ]),
      );
      const n = node(await sandbox.start({ firstRun: true }), token);
      await deploy(n, "writer", WRITER_APP);
      const started = await waitFor(async () => {
        const s = await replication(n);
        return s.state === "replicating" && s.litestream.pid !== null && s;
      }, "replication running");
      const litestreamPid = started.litestream.pid!;

      let killed = false;
      const load = await underLoad(n, {
        sites: 4,
        workers: 6,
        until: (l) => {
          if (killed) return true;
          if (l.deploys.size === 4 && l.writes.size >= 150) {
            n.server.proc.kill("SIGKILL"); // the node dies mid-load
            killed = true;
            return true;
          }
          return false;
        },
      });
      await deadline(n.server.proc.status, "the node gone");
      // Litestream notices within a second, ships what it has, and stops.
      await waitFor(() => !alive(litestreamPid), "Litestream stopping after the node died");

      const restored = `${sandbox.dir}/restored/data.db`;
      const r = assertOk(
        await sandbox.cli([
          "restore",
          "--from",
          replica,
          "--db",
          restored,
          "--litestream",
          LITESTREAM,
        ]),
      );
      assert.match(r.stdout, /integrity ok/);
      assert.match(r.stdout, /replication is off in it/);
      assert.ok(checkDatabaseFile(restored).schema > 0);
      const keys = keysIn(restored);
      const missing = [...load.writes.keys()].filter((k) => !keys.has(k));
      console.log(
        `file replica, node killed: ${load.writes.size} writes and ${load.deploys.size} deploys acknowledged, ${missing.length} missing after restore`,
      );
      assert.deepEqual(missing, [], "every acknowledged write is in the restored database");
      const server = await startOn(sandbox, restored);
      await assertServes(server, load);
      const s2 = node(server, token);
      assert.equal((await replication(s2)).state, "off", "a restored copy does not replicate");
    }),
});

Deno.test({
  name:
    "SFTP replica: unreachable at start (served anyway, retried), credentials never shown, machine lost: loss bounded by what was reported replicated and by the sync interval",
  sanitizeOps: false,
  sanitizeResources: false,
  fn: () =>
    withSandbox(async (sandbox) => {
      const token = prepare(sandbox.db);
      const password = `pw-${crypto.randomUUID()}`;
      const sftpPort = freePort();
      const replica = `sftp://fazt@127.0.0.1:${sftpPort}/replica`;
      const n = node(await sandbox.start({ firstRun: true }), token);

      // Turned on through the API while the SFTP server is down.
      const res = await n.raw("PUT", "/api/replication", {
        url: replica,
        secret: password,
        sync_interval: `${SYNC_INTERVAL_MS}ms`,
      });
      const answer = await res.text();
      assert.equal(res.status, 200, answer);
      assert.ok(!answer.includes(password), "the answer carries no credential");
      assert.equal(JSON.parse(answer).data.credentials.secret, true);

      // The node serves all the same, and says why the replica is behind.
      await deploy(n, "writer", WRITER_APP);
      const failing = await waitFor(async () => {
        const s = await replication(n);
        return s.state === "failing" && s.last_error && s;
      }, "the unreachable replica reported");
      assert.match(failing.warning!, /cannot be written/);
      assert.ok(failing.lag_ms > 0);

      const sftp = await startSftp(`${sandbox.dir}/sftp`, "fazt", password, sftpPort);
      try {
        const caughtUp = Date.now();
        await waitFor(
          async () => {
            const s = await replication(n);
            return s.state === "replicating" && (s.replicated_through ?? 0) > caughtUp && s;
          },
          "Litestream retrying and catching up once the server is there",
          30_000,
        ).catch(
          async (err) => {
            const s = await replication(n);
            throw new Error(`${err.message}: ${JSON.stringify(s)}\n${n.server.err}`);
          },
        );

        let reported = 0;
        let polling = true;
        const poll = (async () => {
          while (polling) {
            const s = await replication(n).catch(() => undefined);
            if (s?.replicated_through) reported = s.replicated_through;
            await new Promise((r) => setTimeout(r, 100));
          }
        })();
        let afterDeploys = 0;
        const load = await underLoad(n, {
          sites: 3,
          workers: 4,
          until: (l) => {
            if (l.deploys.size < 3) return false;
            // Every deploy safely on the replica, then writes go on a while.
            if (reported < l.lastDeployAt) return false;
            afterDeploys++;
            return afterDeploys >= 60;
          },
        });
        polling = false;
        await poll;

        // Nothing secret anywhere anyone can look while it runs.
        const ps = await psArgs();
        assert.ok(ps.includes("litestream replicate -config"), "Litestream is running");
        assert.ok(!ps.includes(password), "no credential on any command line");
        const config = /litestream replicate -config (\S+)/.exec(ps)![1];
        await assert.rejects(Deno.stat(config), Deno.errors.NotFound, "its config file is gone");
        for (const path of ["/api/system", "/api/replication", "/api/settings"]) {
          const text = await (await n.raw("GET", path)).text();
          assert.ok(!text.includes(password), `${path} carries no credential`);
        }

        // The machine is lost: Litestream and the node die at once. (Under
        // load the supervisor may be between two Litestream runs: wait for one.)
        const pid = await waitFor(
          async () => (await replication(n)).litestream.pid ?? undefined,
          "Litestream running",
        );
        Deno.kill(pid, "SIGKILL");
        n.server.proc.kill("SIGKILL");
        const killedAt = Date.now();
        await deadline(n.server.proc.status, "the node gone");
        assert.ok(!n.server.err.includes(password) && !n.server.out.includes(password));
        assert.doesNotMatch(n.server.err, /database is locked/);

        const restored = `${sandbox.dir}/restored/data.db`;
        const r = await sandbox.cliWithStdin([
          "restore",
          "--from",
          replica,
          "--db",
          restored,
          "--litestream",
          LITESTREAM,
          "--secret-stdin",
        ], password);
        assert.equal(r.code, 0, r.stderr);
        assert.ok(!r.stdout.includes(password) && !r.stderr.includes(password));
        const keys = keysIn(restored);
        const safe = [...load.writes].filter(([, at]) => at < reported);
        assert.ok(safe.length > 0);
        for (const [k] of safe) assert.ok(keys.has(k), `${k} was reported replicated`);
        const lost = [...load.writes].filter(([k]) => !keys.has(k));
        const window = lost.length ? killedAt - Math.min(...lost.map(([, at]) => at)) : 0;
        console.log(
          `SFTP replica, machine lost (sync interval ${SYNC_INTERVAL_MS}ms): ${load.writes.size} writes acknowledged, ${lost.length} lost, the oldest lost acknowledged ${window} ms before the kill`,
        );
        // The bound docs/scale.md states: the sync interval, plus Litestream's
        // one-second copy into its shadow WAL, plus scheduling on a loaded
        // machine; 2 s of slack in all.
        assert.ok(
          window <= SYNC_INTERVAL_MS + LOSS_SLACK_MS,
          `the loss window (${window} ms) is within the sync interval (${SYNC_INTERVAL_MS} ms) plus ${LOSS_SLACK_MS} ms`,
        );
        const server = await startOn(sandbox, restored);
        await assertServes(server, load);
      } finally {
        await sftp.stop();
      }
    }),
});

Deno.test({
  name:
    "S3 replica (moto): set before the first start with the secret on stdin; writes never stall; restore after SIGKILL of node and Litestream",
  sanitizeOps: false,
  sanitizeResources: false,
  fn: () =>
    withSandbox(async (sandbox) => {
      const token = prepare(sandbox.db);
      const moto = await startMoto("fazt-bucket");
      try {
        const keyId = `AKID${crypto.randomUUID().replaceAll("-", "").slice(0, 16)}`;
        const secret = `sk-${crypto.randomUUID()}`;
        const replica =
          `s3://fazt-bucket/nodes/one?endpoint=${moto.endpoint}&region=us-east-1&force-path-style=true`;
        const enable = await sandbox.cliWithStdin([
          "replicate",
          "enable",
          "--db",
          sandbox.db,
          "--to",
          replica,
          "--access-key-id",
          keyId,
          "--secret-stdin",
          "--json",
        ], secret);
        assert.equal(enable.code, 0, enable.stderr);
        assert.ok(!enable.stdout.includes(secret) && !enable.stdout.includes(keyId));
        const config = await sandbox.cli(["server", "config", "--db", sandbox.db, "--json"]);
        assert.equal(JSON.parse(config.stdout).replica_secret, "(set)");
        assert.ok(!config.stdout.includes(secret) && !config.stdout.includes(keyId));

        const n = node(await sandbox.start({ firstRun: true }), token);
        await deploy(n, "writer", WRITER_APP);
        await waitFor(async () => (await replication(n)).state === "replicating", "replicating");
        const load = await underLoad(n, {
          sites: 3,
          workers: 8,
          until: (l) => l.deploys.size === 3 && l.writes.size >= 300,
        });
        // Every write succeeded (a failed one stops the load early).
        assert.ok(load.writes.size >= 300 && load.deploys.size === 3);
        const caught = Date.now();
        const status = await waitFor(async () => {
          const s = await replication(n);
          return (s.replicated_through ?? 0) > caught && s.lag_ms === 0 &&
            s.local_position === s.replica_position && s;
        }, "the replica caught up, at Litestream's own position");
        assert.match(status.replica_position ?? "", /^[0-9a-f]+\/[0-9a-f]{8}:\d+$/);
        assert.equal(status.type, "s3");
        assert.ok(!JSON.stringify(status).includes(secret));
        assert.doesNotMatch(n.server.err, /database is locked/, "Litestream never found it locked");
        const ps = await psArgs();
        assert.ok(!ps.includes(secret) && !ps.includes(keyId), "no credential on a command line");

        Deno.kill(status.litestream.pid!, "SIGKILL");
        n.server.proc.kill("SIGKILL");
        await deadline(n.server.proc.status, "the node gone");
        assert.ok(!n.server.err.includes(secret) && !n.server.err.includes(keyId));

        const restored = `${sandbox.dir}/restored/data.db`;
        const r = await sandbox.cliWithStdin([
          "restore",
          "--from",
          replica,
          "--db",
          restored,
          "--access-key-id",
          keyId,
          "--litestream",
          LITESTREAM,
          "--secret-stdin",
        ], secret);
        assert.equal(r.code, 0, r.stderr);
        const keys = keysIn(restored);
        const missing = [...load.writes.keys()].filter((k) => !keys.has(k));
        assert.deepEqual(missing, [], "everything was replicated before the kill");
        const server = await startOn(sandbox, restored);
        await assertServes(server, load);
      } finally {
        await moto.stop();
      }
    }),
});
