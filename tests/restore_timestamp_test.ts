/**
 * `fazt restore --timestamp`: the database as it was at a moment in the
 * replica's history, not only the latest.
 */
import assert from "node:assert/strict";
import type { Api } from "../server/mod.ts";
import { Storage } from "../storage/mod.ts";
import { assertOk, CliSandbox } from "./cli_runner.ts";
import { waitFor } from "./deadline.ts";
import { deployFiles, startTestNode, type TestNode } from "./helpers.ts";
import { testLitestream } from "./replication_helpers.ts";

const LITESTREAM = testLitestream();

async function replicated(node: TestNode): Promise<number> {
  const since = Date.now();
  await waitFor(async () => {
    const s = (await (await node.fetch("/api/replication")).json()).data as Api.ReplicationStatus;
    return (s.replicated_through ?? 0) > since && s.lag_ms === 0;
  }, "the writes on the replica");
  return Date.now();
}

function apps(db: string): string[] {
  const s = Storage.open(db);
  try {
    return s.apps.list().map((a) => a.name).sort();
  } finally {
    s.close();
  }
}

Deno.test({
  name: "restore --timestamp brings back the state at that time",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const sandbox = await CliSandbox.create();
    const replica = `file://${sandbox.dir}/replica`;
    const node = await startTestNode({
      settings: {
        replica_url: replica,
        replica_sync_interval: "500ms",
        litestream_path: LITESTREAM,
      },
    });
    try {
      await deployFiles(node, "early", { "index.html": "early" });
      const between = await replicated(node);
      await deployFiles(node, "late", { "index.html": "late" });
      await replicated(node);
      const restore = (db: string, extra: string[]) =>
        sandbox.cli([
          "restore",
          "--from",
          replica,
          "--db",
          db,
          "--litestream",
          LITESTREAM,
          ...extra,
        ]);
      assertOk(
        await restore(`${sandbox.dir}/then.db`, ["--timestamp", new Date(between).toISOString()]),
      );
      assertOk(await restore(`${sandbox.dir}/now.db`, []));
      assert.deepEqual(apps(`${sandbox.dir}/then.db`), ["early"]);
      assert.deepEqual(apps(`${sandbox.dir}/now.db`), ["early", "late"]);
    } finally {
      await node.close();
      await sandbox.remove();
    }
  },
});
