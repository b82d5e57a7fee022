/**
 * `fazt backup create|list|restore` as a user runs them: the real CLI with
 * the `fazt` task's permissions, against a real `fazt server start`.
 */
import assert from "node:assert/strict";
import { LATEST_MIGRATION } from "../storage/mod.ts";
import {
  assertOk,
  assertRefused,
  CliSandbox,
  parseJson,
  type ServerProcess,
} from "./cli_runner.ts";

interface Created {
  file: string;
  bytes: number;
  schema: number;
  integrity: "ok";
}

interface Listed {
  file: string;
  name: string;
  bytes: number;
  ok: boolean;
  code: string | null;
}

async function withSandbox(fn: (sb: CliSandbox) => Promise<void>): Promise<void> {
  const sb = await CliSandbox.create();
  try {
    await fn(sb);
  } finally {
    for (const s of sb.servers) await s.kill();
    await sb.remove();
  }
}

async function page(sb: CliSandbox, server: ServerProcess): Promise<string> {
  return (await sb.get(server, "/", "site.localhost")).text;
}

Deno.test("backup: made while the node serves, listed, restored once it is stopped", async () => {
  await withSandbox(async (sb) => {
    const server = await sb.start({ firstRun: true });
    assertOk(await sb.cli(["deploy", await sb.folder("site", { "index.html": "first" })]));
    assert.equal(await page(sb, server), "first");

    // Default place: the backups folder beside the database.
    const made = assertOk(await sb.cli(["backup", "create"]));
    const m = /^backup: (\S+) \(.+, schema (\d+), integrity ok\)\n$/.exec(made.stdout);
    assert.ok(m, made.stdout);
    const backup = m[1];
    assert.ok(backup.startsWith(`${sb.dir}/cli/backups/fazt-`), backup);
    assert.equal(Number(m[2]), LATEST_MIGRATION);
    assert.equal(Deno.statSync(backup).mode! & 0o777, 0o600);
    const out = `${sb.dir}/elsewhere.db`;
    const json = parseJson<Created>(await sb.cli(["backup", "create", "--out", out, "--json"]));
    assert.deepEqual({ ...json, bytes: 0 }, {
      file: out,
      bytes: 0,
      schema: LATEST_MIGRATION,
      integrity: "ok",
    });
    assertRefused(await sb.cli(["backup", "create", "--out", out]), /already exists.*FILE_EXISTS/);

    const listed = parseJson<Listed[]>(await sb.cli(["backup", "list", "--json"]));
    assert.deepEqual(listed.map((b) => [b.file, b.ok]), [[backup, true]]);
    assert.match(
      assertOk(await sb.cli(["backup", "list"])).stdout,
      /fazt-\S+\.db\s+\S+ \S+\s+.+\s+ok\n/,
    );

    assertOk(await sb.cli(["deploy", await sb.folder("site", { "index.html": "second" })]));
    assert.equal(await page(sb, server), "second");

    // Not over a running node's database.
    assertRefused(
      await sb.cli(["backup", "restore", backup, "--db", sb.db]),
      /stop it first.*\(DATABASE_IN_USE\)$/,
    );
    assert.equal(await page(sb, server), "second", "the node is untouched");

    await server.stop();
    const restored = assertOk(await sb.cli(["backup", "restore", backup, "--db", sb.db]));
    assert.match(restored.stdout, /^restored .+ \(schema \d+, integrity ok\)\n/);
    const kept = /kept as (\S+)\n/.exec(restored.stdout)![1];
    assert.ok(kept.startsWith(`${sb.db}.replaced-`), kept);

    const again = await sb.start({ firstRun: false });
    assert.equal(await page(sb, again), "first", "the node serves what the backup held");
  });
});

Deno.test("backup: through the API of a node elsewhere, admin tokens only", async () => {
  await withSandbox(async (sb) => {
    const server = await sb.start({ firstRun: true });
    assertOk(await sb.cli(["deploy", await sb.folder("site", { "index.html": "remote" })]));
    const token = async (scope: string) =>
      assertOk(await sb.cli(["token", "create", "--name", scope, "--scope", scope])).stdout.trim();
    const admin = await token("admin");
    const out = `${sb.dir}/remote.db`;
    const json = parseJson<Created>(
      await sb.cli([
        "backup",
        "create",
        "--url",
        server.base,
        "--token",
        admin,
        "--out",
        out,
        "--json",
      ]),
    );
    assert.equal(json.file, out);
    assert.equal(json.integrity, "ok");
    assert.equal(Deno.statSync(out).mode! & 0o777, 0o600);
    assert.equal(Deno.statSync(out).size, json.bytes);

    // `fazt @local` uses the peer the first run set up (an admin token).
    const viaPeer = `${sb.dir}/peer.db`;
    assertOk(await sb.cli(["@local", "backup", "create", "--out", viaPeer]));
    const listed = parseJson<Listed[]>(
      await sb.cli(["backup", "list", "--dir", sb.dir, "--json"]),
    );
    assert.deepEqual(listed, [], "only backups named as such are listed");

    const read = await token("read");
    assertRefused(
      await sb.cli([
        "backup",
        "create",
        "--url",
        server.base,
        "--token",
        read,
        "--out",
        `${sb.dir}/no.db`,
      ]),
      /FORBIDDEN/,
    );
    assert.ok(![...Deno.readDirSync(sb.dir)].some((e) => e.name.startsWith("no.db")));
    assertRefused(
      await sb.cli(["@local", "backup", "restore", out, "--db", `${sb.dir}/x.db`]),
      /works on this machine.*VALIDATION_FAILED/,
    );
  });
});

Deno.test("backup: restore refuses what is not a sound fazt database", async () => {
  await withSandbox(async (sb) => {
    const target = `${sb.dir}/node/data.db`;
    const notDb = `${sb.dir}/notes.txt`;
    Deno.writeTextFileSync(notDb, "these are notes, not a database\n".repeat(20));
    assertRefused(
      await sb.cli(["backup", "restore", notDb, "--db", target]),
      /it is not a SQLite database \(NOT_A_DATABASE\)$/,
    );
    assertRefused(
      await sb.cli(["backup", "restore", `${sb.dir}/missing.db`, "--db", target]),
      /FILE_NOT_FOUND/,
    );
    assertRefused(await sb.cli(["backup", "restore", notDb]), /required option '--db <path>'/);
    assert.deepEqual([...Deno.readDirSync(sb.dir)].map((e) => e.name).sort(), [
      "home",
      "notes.txt",
    ]);
    assertRefused(
      await sb.cli(["backup", "create", "--db", `${sb.dir}/none.db`]),
      /no database at .*DATABASE_NOT_FOUND/,
    );
    assertRefused(
      await sb.cli(["backup", "create", "--token", "fazt_1_x", "--out", `${sb.dir}/t.db`]),
      /--token goes with --url.*VALIDATION_FAILED/,
    );
    assert.deepEqual([...Deno.readDirSync(sb.dir)].map((e) => e.name).sort(), [
      "home",
      "notes.txt",
    ]);
  });
});
