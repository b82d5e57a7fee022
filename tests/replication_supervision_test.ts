/**
 * The node supervises its Litestream: started again (with a new pid, the
 * restart counted) when it dies on its own, and stopped, its private
 * folder removed, when the node stops normally.
 */
import assert from "node:assert/strict";
import type { Api } from "../server/mod.ts";
import { Storage } from "../storage/mod.ts";
import { CliSandbox, exists } from "./cli_runner.ts";
import { deadline, waitFor } from "./deadline.ts";
import { startTestNode } from "./helpers.ts";
import { alive, testLitestream } from "./replication_helpers.ts";

const LITESTREAM = testLitestream();

/** The `-config` file on Litestream's command line. */
function configOf(pid: number): string {
  const args = Deno.readTextFileSync(`/proc/${pid}/cmdline`).split("\0");
  const config = args[args.indexOf("-config") + 1];
  assert.match(config ?? "", /\/fazt-litestream-[^/]+\/litestream\.yml$/, args.join(" "));
  return config;
}

Deno.test({
  name: "Litestream killed on its own is started again: a new pid, restarts counted, replicating",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "fazt-repl-supervise-" });
    const node = await startTestNode({
      settings: {
        litestream_path: LITESTREAM,
        replica_url: `file://${dir}/replica`,
        replica_sync_interval: "500ms",
      },
    });
    const replication = async () =>
      (await (await node.fetch("/api/replication")).json()).data as Api.ReplicationStatus;
    try {
      const first = await waitFor(async () => {
        const s = await replication();
        return s.state === "replicating" && s.litestream.pid !== null && s;
      }, "replicating");
      assert.equal(first.restarts, 0);
      const pid = first.litestream.pid!;

      Deno.kill(pid, "SIGKILL");
      const again = await waitFor(async () => {
        const s = await replication();
        return s.litestream.pid !== null && s.litestream.pid !== pid && s.restarts >= 1 && s;
      }, "a new Litestream after the old one was killed");
      assert.ok(!alive(pid), "the killed one is gone");
      assert.ok(alive(again.litestream.pid!), "the new one runs");
      assert.ok(
        node.logs.some((l) => l.includes("Litestream exited (signal SIGKILL)")),
        node.logs.join("\n"),
      );
      // And it replicates again: a write after the restart reaches the replica.
      const since = Date.now();
      node.storage.settings.set("backup_keep", 9);
      await waitFor(async () => {
        const s = await replication();
        return s.state === "replicating" && (s.replicated_through ?? 0) > since && s.lag_ms === 0;
      }, "the new Litestream shipping writes");
    } finally {
      await node.close();
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "a node stopped with SIGTERM stops its Litestream first, and removes its private folder",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const sandbox = await CliSandbox.create();
    try {
      Deno.mkdirSync(sandbox.db.slice(0, sandbox.db.lastIndexOf("/")), { recursive: true });
      const setup = Storage.open(sandbox.db);
      setup.settings.set("litestream_path", LITESTREAM);
      setup.settings.set("replica_url", `file://${sandbox.dir}/replica`);
      const token = setup.tokens.create("test", "admin").token;
      setup.close();

      const server = await sandbox.start({ firstRun: true });
      const status = await waitFor(async () => {
        const res = await fetch(`${server.base}/api/replication`, {
          headers: { authorization: `Bearer ${token}` },
        });
        const s = (await res.json()).data as Api.ReplicationStatus;
        return s.state === "replicating" && s.litestream.pid !== null && s;
      }, "replicating");
      const pid = status.litestream.pid!;
      const folder = configOf(pid).replace(/\/litestream\.yml$/, "");
      assert.ok(alive(pid) && exists(folder));

      const exit = await deadline(server.stop(), "the node stopping on SIGTERM", 30_000);
      assert.equal(exit.code, 0, server.err);
      // Looked at once, at once: the watcher Litestream runs would take up to
      // a second to notice an orphaned Litestream; the node must not leave one.
      assert.ok(!alive(pid), "Litestream is gone when the node has exited");
      assert.ok(!exists(folder), "its configuration folder is gone");
    } finally {
      for (const s of sandbox.servers) await s.kill();
      await sandbox.remove();
    }
  },
});
