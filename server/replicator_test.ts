import assert from "node:assert/strict";
import { Storage } from "../storage/mod.ts";
import { waitFor } from "../tests/deadline.ts";
import { type ReplicationSettings, Replicator } from "./replicator.ts";

/**
 * A stand-in for Litestream: answers `version` like it, and on `replicate`
 * prints the log lines `lines` (what the Replicator reads progress from),
 * then waits to be stopped.
 */
function fakeLitestream(dir: string, lines: object[]): string {
  const path = `${dir}/litestream`;
  const log = lines.map((l) => JSON.stringify(l)).join("\n");
  Deno.writeTextFileSync(
    path,
    `#!/bin/sh\nif [ "$1" = version ]; then echo v0.3.13; exit 0; fi\n` +
      `cat <<'EOF'\n${log}\nEOF\nexec sleep 600\n`,
    { mode: 0o755 },
  );
  return path;
}

const settings = (litestream: string): ReplicationSettings => ({
  replica_url: "file:///tmp/fazt-replicator-test-replica",
  replica_sync_interval: "1s",
  replica_retention: "24h",
  replica_lag_warn_s: 60,
  replica_access_key_id: "",
  replica_secret: "",
  replica_key_path: "none",
  litestream_path: litestream,
});

Deno.test("replicator: a lag past replica_lag_warn_s while replicating is a warning, below it none", async () => {
  const dir = await Deno.makeTempDir({ prefix: "fazt-replicator-" });
  const storage = Storage.open(`${dir}/data.db`);
  const t0 = Date.UTC(2030, 0, 1);
  let now = t0;
  const at = new Date(t0).toISOString();
  // The replica took a WAL segment, but no sync has said which writes it holds:
  // the write noted at start (t0) is still waiting.
  const litestream = fakeLitestream(dir, [
    { time: at, level: "INFO", msg: "initialized db", db: `${dir}/data.db` },
    {
      time: at,
      level: "DEBUG",
      msg: "wal segment written",
      db: `${dir}/data.db`,
      position: "0123456789abcdef/00000001:0",
      sz: 4152,
    },
  ]);
  const replicator = new Replicator({
    dbPath: `${dir}/data.db`,
    db: storage.db,
    settings: settings(litestream),
    log: () => {},
    now: () => now,
  });
  try {
    replicator.start();
    await waitFor(() => replicator.status().state === "replicating", "the fake's log read");
    const s = replicator.status();
    assert.equal(s.replica_position, "0123456789abcdef/00000001:4152");
    assert.equal(s.litestream.version, "v0.3.13");

    now = t0 + 59_000;
    const under = replicator.status();
    assert.equal(under.state, "replicating");
    assert.equal(under.lag_ms, 59_000);
    assert.equal(under.warning, null, "59 s behind, under 60 s: no warning");

    now = t0 + 61_000;
    const over = replicator.status();
    assert.equal(over.state, "replicating");
    assert.equal(over.lag_ms, 61_000);
    assert.match(over.warning ?? "", /61 s behind \(more than replica_lag_warn_s, 60 s\)/);
  } finally {
    await replicator.close();
    storage.close();
    await Deno.remove(dir, { recursive: true });
  }
});
