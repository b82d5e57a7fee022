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
import { freePort } from "./ports.ts";

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
    assert.equal(
      added.stdout,
      `added peer alpha: ${a.base} (default); verified: fazt ${VERSION} answers, ` +
        `token 'owner' works with scope admin\n`,
    );
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

/** Every column of every saved peer, token included: what a refusal must leave alone. */
function peersTable(db: string): Record<string, unknown>[] {
  const sqlite = new DatabaseSync(db, { readOnly: true });
  try {
    return sqlite.prepare("SELECT * FROM peers ORDER BY name").all();
  } finally {
    sqlite.close();
  }
}

Deno.test("remote add checks the node and the token before saving; --no-verify does not", async () => {
  const node = await startTestNode();
  // Something on loopback that answers HTTP but is not fazt; it notes every
  // Authorization header it is sent.
  const sentTokens: string[] = [];
  const other = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, (req) => {
    const auth = req.headers.get("authorization");
    if (auth) sentTokens.push(auth);
    return new Response("<h1>Not Found</h1>", {
      status: 404,
      headers: { "content-type": "text/html" },
    });
  });
  const sb = await CliSandbox.create();
  const refusedFirst = await CliSandbox.create();
  try {
    const gone = `http://127.0.0.1:${freePort()}`;
    const wrong = node.tokens.read.slice(0, -4) +
      (node.tokens.read.endsWith("AAAA") ? "BBBB" : "AAAA");

    // Refused before any peer exists: no peers file is made.
    assertRefused(
      await refusedFirst.cli(["remote", "add", "p", "--url", node.base, "--token", wrong]),
      new RegExp(
        `^error: ${node.base} \\(fazt ${
          VERSION.replaceAll(".", "\\.")
        }\\) refused the token: .*nothing saved \\(INVALID_TOKEN\\)$`,
      ),
    );
    assert.throws(() => Deno.statSync(refusedFirst.db), Deno.errors.NotFound);

    // A good token: saved, and the line says what was checked.
    const ok = assertOk(
      await sb.cli(["remote", "add", "prod", "--url", node.base, "--token", node.tokens.read]),
    );
    assert.equal(
      ok.stdout,
      `added peer prod: ${node.base} (default); verified: fazt ${VERSION} answers, ` +
        `token 'reader' works with scope read\n`,
    );
    const saved = peersTable(sb.db);
    assert.equal(saved.length, 1);
    assert.equal(saved[0].token, node.tokens.read);
    assert.equal(saved[0].version, VERSION);

    // Each refusal says which check failed, exits non-zero and changes nothing.
    assertRefused(
      await sb.cli(["remote", "add", "bad", "--url", node.base, "--token", wrong]),
      /refused the token: .*nothing saved \(INVALID_TOKEN\)$/,
    );
    assertRefused(
      await sb.cli(["remote", "add", "prod", "--url", node.base, "--token", wrong, "--force"]),
      /refused the token: .*nothing saved \(INVALID_TOKEN\)$/,
    );
    assertRefused(
      await sb.cli(["remote", "add", "gone", "--url", gone, "--token", node.tokens.read]),
      new RegExp(`^error: cannot reach ${gone}: .*nothing saved \\(UNREACHABLE\\)$`),
    );
    const otherUrl = `http://127.0.0.1:${other.addr.port}`;
    assertRefused(
      await sb.cli(["remote", "add", "web", "--url", otherUrl, "--token", node.tokens.read]),
      new RegExp(
        `^error: ${otherUrl} answered, but it is not a fazt node \\(GET /health: 404, ` +
          `no fazt version\\); nothing saved \\(NOT_FAZT_NODE\\)$`,
      ),
    );
    assert.deepEqual(sentTokens, [], "the token is never sent to what is not fazt");
    assert.deepEqual(peersTable(sb.db), saved, "refusals leave the peers as they were");

    // --json says what was verified, never the token.
    const json = parseJson<Record<string, unknown>>(
      await sb.cli([
        "remote",
        "add",
        "dep",
        "--url",
        node.base,
        "--token",
        node.tokens.deploy,
        "--json",
      ]),
    );
    assert.deepEqual(json.verified, {
      version: VERSION,
      token_name: "deployer",
      token_scope: "deploy",
    });
    assert.equal(json.compatible, true);

    // --no-verify saves without contacting: the address is a closed port.
    const offline = assertOk(
      await sb.cli(["remote", "add", "later", "--url", gone, "--token", wrong, "--no-verify"]),
    );
    assert.equal(
      offline.stdout,
      `added peer later: ${gone}; not verified (--no-verify): 'fazt remote status later' checks it\n`,
    );
    const later = peersTable(sb.db).find((p) => p.name === "later")!;
    assert.equal(later.url, gone);
    assert.equal(later.token, wrong);
    assert.equal(later.version, null, "nothing was asked of the node");
    assert.equal(later.last_seen_at, null);
    const offlineJson = parseJson<Record<string, unknown>>(
      await refusedFirst.cli([
        "remote",
        "add",
        "x",
        "--url",
        gone,
        "--token",
        wrong,
        "--no-verify",
        "--json",
      ]),
    );
    assert.equal(offlineJson.verified, null);
    assert.equal(offlineJson.compatible, null);

    for (
      const r of [ok.stdout, offline.stdout, JSON.stringify(json), JSON.stringify(offlineJson)]
    ) {
      for (const t of [node.tokens.read, node.tokens.deploy, wrong]) {
        assert.ok(!r.includes(t), "no token printed");
      }
    }
  } finally {
    await other.shutdown();
    await node.close();
    await sb.remove();
    await refusedFirst.remove();
  }
});

Deno.test("a peer on an incompatible version, and upgrade --check / upgrade", async () => {
  // A stand-in for a fazt node of another minor version (no real one exists yet).
  const token = "fazt_1_" + "A".repeat(43);
  const old = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, (req) => {
    const path = new URL(req.url).pathname;
    if (path === "/health") return Response.json({ status: "ok", version: "9.9.0", uptime_s: 5 });
    if (req.headers.get("authorization") !== `Bearer ${token}`) {
      return Response.json({
        error: { code: "INVALID_TOKEN", message: "Invalid or revoked token" },
      }, {
        status: 401,
      });
    }
    if (path === "/api/auth/me") {
      return Response.json({ data: { kind: "token", name: "old", scope: "admin", id: 1 } });
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
