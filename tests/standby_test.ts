/**
 * A warm standby follows a primary through its replica, serves its sites
 * read-only, refuses writes with 503 STANDBY, and is promoted to a primary
 * that replicates to its own target.
 */
import assert from "node:assert/strict";
import type { Api } from "../server/mod.ts";
import { CliSandbox, httpGet, ServerProcess } from "./cli_runner.ts";
import { waitFor } from "./deadline.ts";
import { deployFiles, startTestNode, type TestNode } from "./helpers.ts";
import { hostFetch } from "./http_client.ts";
import { testLitestream, WRITER_APP } from "./replication_helpers.ts";

const LITESTREAM = testLitestream();

/** Waits until every write the primary made so far is on its replica. */
async function replicated(primary: TestNode): Promise<void> {
  const since = Date.now();
  await waitFor(async () => {
    const res = await primary.fetch("/api/replication");
    const s = (await res.json()).data as Api.ReplicationStatus;
    return (s.replicated_through ?? 0) > since && s.lag_ms === 0;
  }, "the primary's writes on the replica");
}

async function api(base: string, token: string, method: string, path: string, body?: unknown) {
  const res = await fetch(base + path, {
    method,
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.status, body: await res.json() };
}

/** `fazt standby` from `replica` into `<sandbox>/<dir>/data.db` on a free port, ready. */
async function startStandby(
  sandbox: CliSandbox,
  replica: string,
  dir: string,
  extra: string[],
): Promise<ServerProcess> {
  const standby = new ServerProcess(
    sandbox.command([
      "standby",
      "--from",
      replica,
      "--db",
      `${sandbox.dir}/${dir}/data.db`,
      ...extra,
      "--port",
      "0",
      "--host",
      "127.0.0.1",
      "--litestream",
      LITESTREAM,
    ]).spawn(),
  );
  sandbox.servers.push(standby);
  await standby.ready();
  return standby;
}

Deno.test({
  name: "a standby follows the primary, serves its sites read-only, and is promoted",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const sandbox = await CliSandbox.create();
    const replica = `file://${sandbox.dir}/replica`;
    const primary = await startTestNode({
      settings: {
        replica_url: replica,
        replica_sync_interval: "500ms",
        litestream_path: LITESTREAM,
        // The standby reads it from its copy of the primary's database.
        standby_interval: "2s",
      },
    });
    let primaryOpen = true;
    try {
      await deployFiles(primary, "blog", { "index.html": "<h1>first</h1>" });
      await deployFiles(primary, "writer", WRITER_APP);
      const wrote = await hostFetch(`${primary.base}/api/w?k=before`, {
        method: "POST",
        host: `writer.localhost:${primary.server.port}`,
      });
      assert.equal(wrote.status, 201);
      await wrote.body?.cancel();
      // Only a standby can be promoted.
      const refused = await primary.fetch("/api/standby/promote", { method: "POST" });
      assert.equal(refused.status, 409);
      assert.equal((await refused.json()).error.code, "NOT_STANDBY");
      await replicated(primary);

      // No --interval: the standby_interval setting says how often.
      const standby = await startStandby(sandbox, replica, "standby", [
        "--to",
        `file://${sandbox.dir}/replica-two`,
      ]);
      const host = (app: string) => `${app}.localhost:${standby.port}`;
      assert.equal((await httpGet(standby.port, "/", host("blog"))).text, "<h1>first</h1>");

      // A new deploy on the primary reaches the standby at its next refresh.
      await deployFiles(primary, "blog", { "index.html": "<h1>second</h1>" });
      await replicated(primary);
      await waitFor(
        async () => (await httpGet(standby.port, "/", host("blog"))).text === "<h1>second</h1>",
        "the standby serving the new version",
      );

      // Reads work; writes are refused, by apps and by the API alike.
      const has = await httpGet(standby.port, "/api/has?k=before", host("writer"));
      assert.deepEqual(JSON.parse(has.text), { has: true });
      const appWrite = await hostFetch(`${standby.base}/api/w?k=on-standby`, {
        method: "POST",
        host: host("writer"),
      });
      assert.equal(appWrite.status, 503);
      assert.equal((await appWrite.json()).error.code, "STANDBY");
      const token = primary.tokens.admin; // the copy holds the primary's tokens
      for (
        const [method, path, body] of [
          ["DELETE", "/api/apps/blog", undefined],
          ["PUT", "/api/replication", { url: replica }],
          ["PUT", "/api/settings", { max_versions: 3 }],
          ["POST", "/api/tokens", { name: "x", scope: "read" }],
        ] as const
      ) {
        const r = await api(standby.base, token, method, path, body);
        assert.equal(r.status, 503, `${method} ${path}`);
        assert.equal(r.body.error.code, "STANDBY");
      }
      const system = (await api(standby.base, token, "GET", "/api/system")).body.data as Api.System;
      assert.equal(system.replication, null);
      assert.equal(system.standby!.from, replica);
      assert.equal(system.standby!.state, "following");
      assert.equal(system.standby!.interval, "2s", "the standby_interval setting");
      assert.ok(system.standby!.refreshes >= 1);

      // --interval, for one run, wins over the setting.
      const flagged = await startStandby(sandbox, replica, "standby-two", ["--interval", "45s"]);
      const flaggedSystem = (await api(flagged.base, token, "GET", "/api/system")).body
        .data as Api.System;
      assert.equal(flaggedSystem.standby!.interval, "45s");
      await flagged.stop();
      const blogs = await api(standby.base, token, "GET", "/api/apps/blog");
      assert.equal(blogs.status, 200);
      assert.equal(blogs.body.data.live_version, 2);

      // The primary is gone; the standby takes over.
      await primary.close();
      primaryOpen = false;
      const promote = await sandbox.cli([
        "standby",
        "promote",
        "--url",
        standby.base,
        "--token",
        token,
        "--json",
      ]);
      assert.equal(promote.code, 0, promote.stderr);
      const promoted = JSON.parse(promote.stdout);
      assert.equal(promoted.to, `file://${sandbox.dir}/replica-two`);
      assert.equal(promoted.replication.url, `file://${sandbox.dir}/replica-two`);
      await waitFor(async () => {
        const s = await api(standby.base, token, "GET", "/api/replication");
        return s.body.data.state === "replicating";
      }, "the new primary replicating to its own target");
      // It takes writes now, and has everything the old primary had.
      const again = await api(standby.base, token, "POST", "/api/tokens", {
        name: "after",
        scope: "read",
      });
      assert.equal(again.status, 201);
      const write = await hostFetch(`${standby.base}/api/w?k=after`, {
        method: "POST",
        host: host("writer"),
      });
      assert.equal(write.status, 201);
      await write.body?.cancel();
      assert.equal((await httpGet(standby.port, "/", host("blog"))).text, "<h1>second</h1>");
      const again2 = await api(standby.base, token, "POST", "/api/standby/promote", {});
      assert.equal(again2.body.error.code, "NOT_STANDBY");
    } finally {
      if (primaryOpen) await primary.close();
      for (const s of sandbox.servers) await s.kill();
      await sandbox.remove();
    }
  },
});
