/**
 * `fazt replicate`, `fazt restore` and `fazt standby` refusals, as the real
 * CLI process gives them; `replicate` on a database before its node's
 * first start, and through a running node's API.
 */
import assert from "node:assert/strict";
import type { Api } from "../server/mod.ts";
import { Storage } from "../storage/mod.ts";
import { assertOk, assertRefused, CliSandbox, parseJson } from "./cli_runner.ts";
import { waitFor } from "./deadline.ts";
import { startTestNode } from "./helpers.ts";
import { freePort } from "./ports.ts";
import { testLitestream } from "./replication_helpers.ts";

const LITESTREAM = testLitestream();

async function withSandbox(fn: (s: CliSandbox) => Promise<void>): Promise<void> {
  const sandbox = await CliSandbox.create();
  try {
    await fn(sandbox);
  } finally {
    for (const s of sandbox.servers) await s.kill();
    await sandbox.remove();
  }
}

function setLitestream(db: string, path: string): void {
  Deno.mkdirSync(db.slice(0, db.lastIndexOf("/")), { recursive: true });
  const s = Storage.open(db);
  s.settings.set("litestream_path", path);
  s.close();
}

Deno.test("replicate enable without Litestream refuses and says exactly how to get it", () =>
  withSandbox(async (sb) => {
    const r = await sb.cli(["replicate", "enable", "--db", sb.db, "--to", `file://${sb.dir}/r`]);
    assertRefused(r, /Litestream v0\.3\.13 is not installed/);
    assert.match(r.stderr, /npm install -g @flydotio\/litestream@1\.0\.1/);
    assert.match(r.stderr, /litestream-v0\.3\.13-linux-amd64\.tar\.gz|litestream-v0\.3\.13-/);
    assert.match(r.stderr, /\(LITESTREAM_NOT_FOUND\)/);
    const s = Storage.open(sb.db);
    assert.equal(s.settings.load().replica_url, "none", "nothing stored");
    s.close();
  }));

Deno.test("replicate enable|status|disable on a database before its first start", () =>
  withSandbox(async (sb) => {
    setLitestream(sb.db, LITESTREAM);
    const on = parseJson<Record<string, unknown>>(
      await sb.cli([
        "replicate",
        "enable",
        "--db",
        sb.db,
        "--to",
        `file://${sb.dir}/r`,
        "--key-path",
        "/keys/id",
        "--json",
      ]),
    );
    assert.equal(on.enabled, true);
    assert.equal(on.type, "file");
    assert.equal(on.node_running, false);
    const st = parseJson<Record<string, unknown>>(
      await sb.cli(["replicate", "status", "--db", sb.db, "--json"]),
    );
    assert.equal(st.url, `file://${sb.dir}/r`);
    assert.deepEqual(st.credentials, { access_key_id: false, secret: false, key_path: true });
    assertOk(await sb.cli(["replicate", "disable", "--db", sb.db]));
    const off = await sb.cli(["replicate", "status", "--db", sb.db]);
    assert.match(off.stdout, /^replication: off/);
  }));

Deno.test("every replicate, restore and standby refusal", () =>
  withSandbox(async (sb) => {
    setLitestream(sb.db, LITESTREAM);
    const refused: [string[], RegExp][] = [
      [["replicate", "enable", "--db", sb.db, "--to", "http://x/y"], /replica_url|url.*file:\/\//],
      [
        ["replicate", "enable", "--db", sb.db, "--to", "sftp://u:pw@h/p"],
        /must not carry a password/,
      ],
      [
        ["replicate", "enable", "--db", sb.db, "--url", "http://x", "--to", "file:///r"],
        /not both/,
      ],
      [
        [
          "replicate",
          "enable",
          "--db",
          sb.db,
          "--to",
          "file:///r",
          "--secret-stdin",
          "--secret-file",
          "/x",
        ],
        /not both/,
      ],
      [
        ["replicate", "enable", "--db", sb.db, "--to", "file:///r", "--key-path", "rel"],
        /absolute/,
      ],
      [["replicate", "status", "--db", `${sb.dir}/none.db`], /no database/],
      [["server", "config", "replica_secret", "hunter2", "--db", sb.db], /is a credential/],
      [
        ["restore", "--from", "file:///r", "--db", `${sb.dir}/x.db`, "--timestamp", "yesterday"],
        /--timestamp/,
      ],
      [["restore", "--from", "ftp://r", "--db", `${sb.dir}/x.db`], /not ftp:/],
      [
        ["restore", "--from", "file:///r", "--db", `${sb.dir}/x.db`, "--litestream", "rel"],
        /absolute/,
      ],
      [
        [
          "restore",
          "--from",
          `file://${sb.dir}/empty`,
          "--db",
          `${sb.dir}/x.db`,
          "--litestream",
          LITESTREAM,
        ],
        /holds nothing to restore.*\(REPLICA_EMPTY\)/,
      ],
      [
        [
          "restore",
          "--from",
          "file:///r",
          "--db",
          `${sb.dir}/x.db`,
          "--litestream",
          "/nonexistent/ls",
        ],
        /nothing restored: the Litestream binary configured .* is not an executable/,
      ],
      [["standby", "--db", `${sb.dir}/s.db`], /--from .* is required/],
      [["standby", "--from", "file:///r", "--interval", "10ms"], /--interval/],
      [
        ["standby", "promote", "--to", "nope://x", "--url", "http://127.0.0.1:9", "--token", "t"],
        /--to/,
      ],
    ];
    for (const [args, why] of refused) assertRefused(await sb.cli(args), why);
    assert.ok(
      !(await Deno.stat(`${sb.dir}/x.db`).then(() => true, () => false)),
      "a refused restore leaves nothing",
    );

    // A running node's database is neither reconfigured nor replaced from here.
    await sb.start({ firstRun: true });
    assertRefused(
      await sb.cli(["replicate", "enable", "--db", sb.db, "--to", `file://${sb.dir}/r`]),
      /in use by a running node.*\(DATABASE_IN_USE\)/,
    );
    assertRefused(
      await sb.cli([
        "restore",
        "--from",
        `file://${sb.dir}/r`,
        "--db",
        sb.db,
        "--litestream",
        LITESTREAM,
      ]),
      /another process.*\(DATABASE_IN_USE\)/,
    );
    const running = parseJson<Record<string, unknown>>(
      await sb.cli(["replicate", "status", "--db", sb.db, "--json"]),
    );
    assert.equal(running.node_running, true);
  }));

Deno.test({
  name:
    "replicate enable|status|disable through a running node's API: state, position, lag, the warning, --json",
  sanitizeOps: false,
  sanitizeResources: false,
  fn: () =>
    withSandbox(async (sb) => {
      const node = await startTestNode({ settings: { litestream_path: LITESTREAM } });
      const remote = ["--url", node.base, "--token", node.tokens.admin];
      const replication = async () =>
        (await (await node.fetch("/api/replication")).json()).data as Api.ReplicationStatus;
      try {
        const replica = `file://${sb.dir}/replica`;
        const on = assertOk(
          await sb.cli([
            "replicate",
            "enable",
            "--to",
            replica,
            "--sync-interval",
            "500ms",
            ...remote,
          ]),
        );
        assert.match(on.stdout, new RegExp(`^replication to ${replica} is on \\(state: \\w+\\)`));
        assert.equal(node.storage.settings.load().replica_url, replica, "stored by the node");
        await waitFor(async () => {
          const s = await replication();
          return s.state === "replicating" && s.local_position !== null &&
            s.replica_position !== null;
        }, "replicating with both positions known");

        const status = assertOk(await sb.cli(["replicate", "status", ...remote])).stdout;
        assert.match(
          status,
          new RegExp(`^replication: replicating, to ${replica} \\(ships new writes every 500ms\\)`),
        );
        assert.match(status, /^litestream: +v0\.3\.13 pid \d+$/m);
        assert.match(
          status,
          /^position: +local [0-9a-f]+\/[0-9a-f]{8}:\d+, replica [0-9a-f]+\/[0-9a-f]{8}:\d+$/m,
        );
        assert.match(status, /^lag: +\d+\.\d s \(warning past 60 s\)$/m);
        assert.doesNotMatch(status, /^warning:/m);

        const json = parseJson<Api.ReplicationStatus>(
          await sb.cli(["replicate", "status", "--json", ...remote]),
        );
        assert.equal(json.state, "replicating");
        assert.equal(json.url, replica);
        assert.equal(json.sync_interval, "500ms");
        assert.match(json.replica_position ?? "", /^[0-9a-f]+\/[0-9a-f]{8}:\d+$/);

        // A replica nobody answers for: failing, and the status says so.
        const secret = `pw-${crypto.randomUUID()}`;
        const unreachable = `sftp://fazt@127.0.0.1:${freePort()}/replica`;
        const failing = await sb.cliWithStdin([
          "replicate",
          "enable",
          "--to",
          unreachable,
          "--secret-stdin",
          ...remote,
        ], secret);
        assert.equal(failing.code, 0, failing.stderr);
        await waitFor(async () => (await replication()).state === "failing", "the replica failing");
        const bad = assertOk(await sb.cli(["replicate", "status", ...remote])).stdout;
        assert.match(bad, new RegExp(`^replication: failing, to ${unreachable} `));
        assert.match(bad, /^last error: +.+ UTC: .+$/m);
        assert.match(bad, /^warning: The replica cannot be written: .+$/m);
        const badJson = await sb.cli(["replicate", "status", "--json", ...remote]);
        assert.equal(parseJson<Api.ReplicationStatus>(badJson).state, "failing");
        for (const out of [failing.stdout, bad, badJson.stdout]) {
          assert.ok(!out.includes(secret), "no credential in what the CLI prints");
        }

        const off = parseJson<Api.ReplicationStatus>(
          await sb.cli(["replicate", "disable", "--json", ...remote]),
        );
        assert.equal(off.state, "off");
        assert.equal(off.credentials.secret, false);
        assert.equal(
          assertOk(await sb.cli(["replicate", "status", ...remote])).stdout,
          "replication: off\n",
        );
        assert.equal(node.storage.settings.load().replica_url, "none");
        assert.equal(node.storage.settings.load().replica_secret, "");
      } finally {
        await node.close();
      }
    }),
});
