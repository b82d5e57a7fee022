/**
 * `fazt remote` and `fazt @NAME` end to end: two real nodes on two loopback
 * ports with their own databases, and the real CLI (the `fazt` task's
 * permission flags) with its own sandboxed database holding the peers.
 */
import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import { VERSION } from "../version.ts";
import { assertOk, assertRefused, CliSandbox, parseJson } from "./cli_runner.ts";
import { startTestNode } from "./helpers.ts";

interface PeerJson {
  name: string;
  url: string;
  is_default: boolean;
  version: string | null;
  last_seen_at: number | null;
  token?: string;
}

interface StatusJson {
  name: string;
  ok: boolean;
  reachable: boolean;
  version: string | null;
  compatible: boolean | null;
  uptime_s: number | null;
  apps: number | null;
  latency_ms: number | null;
  error: { code: string; message: string } | null;
}

function peerRows(db: string): { name: string; token: string; version: string | null }[] {
  const sqlite = new DatabaseSync(db, { readOnly: true });
  try {
    return sqlite.prepare("SELECT name, token, version FROM peers ORDER BY name").all() as {
      name: string;
      token: string;
      version: string | null;
    }[];
  } finally {
    sqlite.close();
  }
}

Deno.test("remote add/list/status/apps/deploy/default/remove and @NAME across two nodes", async () => {
  const a = await startTestNode();
  const b = await startTestNode();
  const sb = await CliSandbox.create();
  try {
    // add: checks the node answers and the token works before saving.
    const added = assertOk(
      await sb.cli(["remote", "add", "alpha", "--url", a.base + "/", "--token", a.tokens.admin]),
    );
    assert.equal(added.stdout, `added peer alpha: ${a.base} (fazt ${VERSION}, default)\n`);
    assert.ok(!added.stdout.includes(a.tokens.admin) && !added.stderr.includes(a.tokens.admin));
    const beta = parseJson<PeerJson>(
      await sb.cli([
        "remote",
        "add",
        "beta",
        "--url",
        b.base,
        "--token",
        b.tokens.deploy,
        "--json",
      ]),
    );
    assert.equal(beta.is_default, false);
    assert.equal(beta.version, VERSION);
    assert.equal(beta.token, undefined);
    assert.equal(Deno.statSync(sb.db).mode! & 0o777, 0o600, "the peers database is mode 0600");

    // Refusals save nothing.
    const wrong = a.tokens.admin.slice(0, -4) + "AAAA";
    assertRefused(
      await sb.cli(["remote", "add", "bad", "--url", a.base, "--token", wrong]),
      /refused the token.*nothing saved \(INVALID_TOKEN\)$/,
    );
    assertRefused(
      await sb.cli(["remote", "add", "gone", "--url", "http://127.0.0.1:1", "--token", wrong]),
      /cannot reach http:\/\/127\.0\.0\.1:1.*nothing saved \(UNREACHABLE\)$/,
    );
    assertRefused(
      await sb.cli(["remote", "add", "x", "--url", "ftp://example.com", "--token", wrong]),
      /http:\/\/ or https:\/\/ \(VALIDATION_FAILED\)$/,
    );
    assertRefused(
      await sb.cli(["remote", "add", "Bad Name", "--url", a.base, "--token", wrong]),
      /not a peer name/,
    );
    assertRefused(
      await sb.cli(["remote", "add", "alpha", "--url", b.base, "--token", b.tokens.admin]),
      /exists.*\(PEER_EXISTS\)$/,
    );
    assert.deepEqual(peerRows(sb.db).map((p) => p.name), ["alpha", "beta"]);

    // list: never tokens.
    const list = assertOk(await sb.cli(["remote", "list"]));
    assert.match(list.stdout, /^NAME +URL +DEFAULT +VERSION +LAST SEEN$/m);
    assert.match(list.stdout, new RegExp(`^alpha +${a.base} +\\* +${VERSION} `, "m"));
    const listed = parseJson<PeerJson[]>(await sb.cli(["remote", "list", "--json"]));
    assert.deepEqual(listed.map((p) => [p.name, p.is_default]), [["alpha", true], ["beta", false]]);
    for (const out of [list.stdout, JSON.stringify(listed)]) {
      assert.ok(!out.includes(a.tokens.admin) && !out.includes(b.tokens.deploy), "no tokens");
    }

    // deploy --to beta, then apps of each.
    const site = await sb.folder("site", { "index.html": "<h1>on beta</h1>" });
    const dep = assertOk(await sb.cli(["remote", "deploy", site, "--to", "beta"]));
    assert.match(
      dep.stdout,
      new RegExp(
        `^deployed site v1 \\(1 files, 16 B, live\\): http://site\\.localhost:${b.server.port}\\n$`,
      ),
    );
    const served = await b.fetch("/", { host: "site.localhost", token: null });
    assert.equal(await served.text(), "<h1>on beta</h1>");
    assert.equal(a.count("apps"), 0, "nothing went to alpha");
    const betaApps = parseJson<{ name: string }[]>(
      await sb.cli(["remote", "apps", "beta", "--json"]),
    );
    assert.deepEqual(betaApps.map((x) => x.name), ["site"]);
    assert.match(assertOk(await sb.cli(["remote", "apps", "alpha"])).stdout, /no apps on alpha/);

    // status of both, in one go.
    const status = parseJson<StatusJson[]>(await sb.cli(["remote", "status", "--json"]));
    assert.deepEqual(
      status.map((s) => [s.name, s.ok, s.reachable, s.version, s.compatible, s.apps]),
      [
        ["alpha", true, true, VERSION, true, 0],
        ["beta", true, true, VERSION, true, 1],
      ],
    );
    for (const s of status) {
      assert.equal(typeof s.uptime_s, "number");
      assert.equal(typeof s.latency_ms, "number");
    }
    const human = assertOk(await sb.cli(["remote", "status"]));
    assert.match(human.stdout, /^NAME +STATUS +VERSION +UPTIME +APPS/m);
    assert.match(human.stdout, new RegExp(`^beta +ok +${VERSION} +\\S.* 1 +`, "m"));
    assert.equal(
      parseJson<StatusJson>(await sb.cli(["remote", "status", "beta", "--json"])).apps,
      1,
    );

    // @NAME: app and deploy commands against a named peer; the default stays alpha.
    const draftSite = await sb.folder("draft", { "index.html": "draft" });
    const draft = parseJson<{ version: number; live: boolean; preview_url: string }>(
      await sb.cli(["@beta", "deploy", draftSite, "--name", "site", "--draft", "--json"]),
    );
    assert.equal(draft.version, 2);
    assert.equal(draft.live, false);
    assert.equal(draft.preview_url, `http://site--v2.localhost:${b.server.port}`);
    const promoted = assertOk(await sb.cli(["@beta", "app", "promote", "site", "--version", "2"]));
    assert.equal(
      promoted.stdout,
      `site: v2 is live (was v1): http://site.localhost:${b.server.port}\n`,
    );
    assert.equal(
      await (await b.fetch("/", { host: "site.localhost", token: null })).text(),
      "draft",
    );
    const viaAt = parseJson<{ name: string; live_version: number }[]>(
      await sb.cli(["@beta", "app", "list", "--json"]),
    );
    assert.deepEqual(viaAt.map((x) => [x.name, x.live_version]), [["site", 2]]);
    assert.deepEqual(parseJson(await sb.cli(["app", "list", "--json"])), [], "default is alpha");
    assertRefused(
      await sb.cli(["@nobody", "app", "list"]),
      /no peer named 'nobody'.*\(PEER_NOT_FOUND\)$/,
    );
    assertRefused(await sb.cli(["@beta", "token", "list"]), /acts on this machine/);
    assertRefused(
      await sb.cli(["@beta", "app", "list", "--url", b.base, "--token", b.tokens.read]),
      /either @NAME or --url/,
    );
    // beta's token has scope deploy: deleting is refused by beta itself.
    assertRefused(await sb.cli(["@beta", "app", "delete", "site"]), /FORBIDDEN/);

    // `fazt @NAME stats` goes to the peer too.
    const st = parseJson<{ app: string | null }>(
      await sb.cli(["@beta", "stats", "site", "--json"]),
    );
    assert.equal(st.app, "site");

    // A token revoked on the peer: a clear error naming the peer and the fix.
    const temp = b.storage.tokens.create("temp", "read");
    assertOk(await sb.cli(["remote", "add", "gamma", "--url", b.base, "--token", temp.token]));
    b.storage.tokens.revoke(temp.info.id);
    assertRefused(
      await sb.cli(["@gamma", "app", "list"]),
      /peer 'gamma' \(http:\/\/127\.0\.0\.1:\d+\) refused its token.*--force.*\(INVALID_TOKEN\)$/,
    );
    assertRefused(await sb.cli(["remote", "status", "gamma"]), /refused its token/);
    assertOk(await sb.cli(["remote", "remove", "gamma"]));

    // default and remove.
    assert.equal(
      assertOk(await sb.cli(["remote", "default", "beta"])).stdout,
      "beta is the default peer\n",
    );
    const apps = parseJson<{ name: string }[]>(await sb.cli(["app", "list", "--json"]));
    assert.deepEqual(apps.map((x) => x.name), ["site"], "client commands follow the default");
    assertRefused(await sb.cli(["remote", "default", "nobody"]), /PEER_NOT_FOUND/);
    assert.equal(
      assertOk(await sb.cli(["remote", "remove", "alpha"])).stdout,
      "removed peer alpha\n",
    );
    assertRefused(await sb.cli(["remote", "remove", "alpha"]), /PEER_NOT_FOUND/);
    assert.deepEqual(peerRows(sb.db).map((p) => p.name), ["beta"]);

    // An unreachable peer: clear errors, and status says so for it alone.
    assertOk(await sb.cli(["remote", "add", "alpha", "--url", a.base, "--token", a.tokens.read]));
    await a.close();
    assertRefused(
      await sb.cli(["remote", "status", "alpha"]),
      /cannot reach http:\/\/127\.0\.0\.1:\d+ \(from peer 'alpha'\).*\(UNREACHABLE\)$/,
    );
    assertRefused(await sb.cli(["@alpha", "app", "list"]), /UNREACHABLE/);
    const mixed = await sb.cli(["remote", "status"]);
    assertRefused(mixed, /1 of 2 peers failed: alpha \(UNREACHABLE\)/, { stdout: true });
    assert.match(mixed.stdout, /^alpha +UNREACHABLE /m);
    assert.match(mixed.stdout, /^beta +ok /m);
  } finally {
    await a.close().catch(() => {});
    await b.close();
    await sb.remove();
  }
});

Deno.test("a peer on an incompatible version, and upgrade --check / upgrade", async () => {
  // A stand-in for a fazt node of another minor version (no real one exists yet).
  const token = "fazt_1_" + "A".repeat(43);
  const old = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, (req) => {
    const path = new URL(req.url).pathname;
    if (req.headers.get("authorization") !== `Bearer ${token}`) {
      return Response.json({
        error: { code: "INVALID_TOKEN", message: "Invalid or revoked token" },
      }, {
        status: 401,
      });
    }
    if (path === "/api/system") {
      return Response.json({
        data: { version: "9.9.0", os: "linux", arch: "x86_64", uptime_s: 5, apps: 0 },
      });
    }
    return Response.json({ error: { code: "NOT_FOUND", message: `No API route ${path}` } }, {
      status: 404,
    });
  });
  const url = `http://127.0.0.1:${old.addr.port}`;
  const sb = await CliSandbox.create();
  try {
    assertRefused(
      await sb.cli(["remote", "add", "old", "--url", url, "--token", token]),
      /runs fazt 9\.9\.0, this CLI is fazt .*major\.minor.*\(INCOMPATIBLE_VERSION\)$/,
    );
    const forced = assertOk(
      await sb.cli(["remote", "add", "old", "--url", url, "--token", token, "--force"]),
    );
    assert.match(forced.stderr, /^warning: peer 'old' runs fazt 9\.9\.0/m);
    assertRefused(await sb.cli(["@old", "app", "list"]), /INCOMPATIBLE_VERSION/);
    assertRefused(await sb.cli(["remote", "apps", "old"]), /INCOMPATIBLE_VERSION/);
    assertRefused(await sb.cli(["remote", "status", "old"]), /INCOMPATIBLE_VERSION/);

    const check = parseJson<Record<string, unknown>>(
      await sb.cli(["remote", "upgrade", "old", "--check", "--json"]),
    );
    assert.deepEqual(check, {
      peer: "old",
      version: "9.9.0",
      form: "unknown",
      platform: "unknown/unknown",
      can_upgrade: false,
      reason: "fazt 9.9.0 on old has no upgrade API: install the new version there by hand",
      candidate: VERSION,
      candidate_source: `fazt ${VERSION} (bundled from this checkout)`,
      upgrade_available: false,
    });
    assertRefused(
      await sb.cli(["remote", "upgrade", "old"]),
      /old cannot upgrade itself: fazt 9\.9\.0 on old has no upgrade API.*\(UPGRADE_UNAVAILABLE\)$/,
    );
    assertRefused(await sb.cli(["remote", "upgrade", "nobody", "--check"]), /PEER_NOT_FOUND/);
  } finally {
    await old.shutdown();
    await sb.remove();
  }
});
