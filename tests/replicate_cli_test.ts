/**
 * `fazt replicate`, `fazt restore` and `fazt standby` refusals, as the real
 * CLI process gives them; and `replicate` on a database before its node's
 * first start.
 */
import assert from "node:assert/strict";
import { Storage } from "../storage/mod.ts";
import { assertOk, assertRefused, CliSandbox, parseJson } from "./cli_runner.ts";
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
