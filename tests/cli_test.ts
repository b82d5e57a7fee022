/**
 * End-to-end tests of the real `fazt` CLI: every test spawns `deno run` with
 * exactly the permission flags of deno.json's `fazt` task, in a clean
 * environment (HOME and FAZT_DB in a temp dir, no FAZT_URL/FAZT_TOKEN).
 */
import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import { verifyPassword } from "../lib/password.ts";
import { VERSION } from "../version.ts";
import { waitFor } from "./deadline.ts";
import { makeZip } from "./helpers.ts";
import { assertOk, assertRefused, CliSandbox, exists, parseJson } from "./cli_runner.ts";
import type { Api } from "../server/mod.ts";

const te = new TextEncoder();

function count(haystack: string, needle: string): number {
  return haystack.split(needle).length - 1;
}

/** Runs `fn` in a fresh temp dir; always kills its servers and removes the dir. */
async function withSandbox(fn: (sb: CliSandbox) => Promise<void>): Promise<void> {
  const sb = await CliSandbox.create();
  try {
    await fn(sb);
    assert.ok(!exists(`${sb.home}/.fazt`), "nothing may be written to ~/.fazt");
  } finally {
    for (const s of sb.servers) await s.kill();
    await Deno.remove(sb.dir, { recursive: true });
  }
}

function query<T>(dbPath: string, sql: string): T[] {
  const db = new DatabaseSync(dbPath, { readOnly: true });
  try {
    return db.prepare(sql).all() as T[];
  } finally {
    db.close();
  }
}

const SITE: Record<string, string> = {
  "index.html": "<!doctype html><h1>my site</h1>\n",
  "assets/js/app.js": 'console.log("hello");\n',
  "café/ñ.txt": "olé, ñandú\n",
  ".secret": "TOP SECRET\n",
  "node_modules/dep/index.js": "module.exports = 1;\n",
};
const SITE_FILES = ["index.html", "assets/js/app.js", "café/ñ.txt"];
const SITE_BYTES = SITE_FILES.reduce((n, f) => n + te.encode(SITE[f]).length, 0);

interface DeployJson {
  app: string;
  version: number;
  files: number;
  bytes: number;
  url: string;
  live: boolean;
}

interface AppRow {
  name: string;
  live_version: number | null;
  files: number;
  bytes: number;
  versions: number;
  url: string;
}

interface AppDetail {
  name: string;
  live_version: number | null;
  url: string;
  versions: { number: number; files: number; live: boolean; deployed_by: string | null }[];
}

interface TokenRow {
  id: number;
  name: string;
  scope: string;
  last_used_at: number | null;
  token?: string;
}

// ---------------------------------------------------------------- 1. first run

Deno.test("server start: first run prints the password once, health, 0600 db, local peer, SIGTERM", async () => {
  await withSandbox(async (sb) => {
    const first = await sb.start({ firstRun: true });
    const port = first.port;
    assert.ok(port > 0);
    assert.match(
      first.out,
      new RegExp(`^fazt ${VERSION} listening on http://127\\.0\\.0\\.1:${port} `, "m"),
    );
    assert.match(first.out, new RegExp(`^admin: +http://localhost:${port}$`, "m"));
    assert.match(first.out, /^ {2}username: admin$/m);
    const password = /^ {2}password: (\S+)$/m.exec(first.out)?.[1];
    assert.ok(password && password.length >= 16, `no generated password in:\n${first.out}`);

    const health = await sb.get(first, "/health", "localhost");
    assert.equal(health.status, 200);
    const h = JSON.parse(health.text);
    assert.equal(h.status, "ok");
    assert.equal(h.version, VERSION);

    assert.ok(Deno.statSync(sb.db).isFile);
    assert.equal(Deno.statSync(sb.db).mode! & 0o777, 0o600, "database must be mode 0600");

    const peers = query<{ name: string; url: string; token: string; is_default: number }>(
      sb.db,
      "SELECT name, url, token, is_default FROM peers",
    );
    assert.equal(peers.length, 1);
    assert.equal(peers[0].name, "local");
    assert.equal(peers[0].is_default, 1);
    assert.equal(peers[0].url, `http://localhost:${port}`);
    const tokenId = Number(/^fazt_(\d+)_[A-Za-z0-9_-]{43}$/.exec(peers[0].token)?.[1]);
    const tokens = query<{ id: number; name: string; scope: string }>(
      sb.db,
      "SELECT id, name, scope FROM tokens",
    );
    assert.deepEqual(tokens.map((t) => ({ ...t })), [{
      id: tokenId,
      name: "local",
      scope: "admin",
    }]);
    const [owner] = query<{ username: string; password_hash: string }>(
      sb.db,
      "SELECT username, password_hash FROM owner",
    );
    assert.equal(owner.username, "admin");
    assert.ok(await verifyPassword(password, owner.password_hash), "printed password must work");
    assert.ok(!(await verifyPassword(password + "x", owner.password_hash)));

    const status = await first.stop();
    assert.equal(status.code, 0, `exit after SIGTERM:\n${first.err}`);
    assert.equal(count(first.out + first.err, password), 1, "the password is shown once");

    const second = await sb.start({ firstRun: false });
    assert.equal((await sb.get(second, "/health", "127.0.0.1")).status, 200);
    const status2 = await second.stop();
    assert.equal(status2.code, 0);
    assert.match(second.out, /listening on http:\/\/127\.0\.0\.1:\d+ /);
    assert.doesNotMatch(second.out + second.err, /password/i);
    assert.ok(!(second.out + second.err).includes(password));
    const peers2 = query<{ name: string; url: string; token: string }>(
      sb.db,
      "SELECT name, url, token FROM peers",
    );
    assert.equal(peers2.length, 1);
    assert.equal(peers2[0].url, `http://localhost:${second.port}`, "local peer follows the port");
    assert.equal(peers2[0].token, peers[0].token, "local peer keeps its token");
    assert.equal(Deno.statSync(sb.db).mode! & 0o777, 0o600);
  });
});

// ---------------------------------------------------------------- 2. deploy

Deno.test("deploy: folder (nested, non-ASCII, dotfile skipped), .zip, --name, --json", async () => {
  await withSandbox(async (sb) => {
    const server = await sb.start({ firstRun: true });
    const port = server.port;
    const site = await sb.folder("my-site", SITE);

    const r = assertOk(await sb.cli(["deploy", site]));
    assert.equal(
      r.stdout,
      `deployed my-site v1 (3 files, ${SITE_BYTES} B, live): http://my-site.localhost:${port}\n`,
    );
    assert.match(r.stderr, /zipped 3 files, skipped 2/);

    const index = await sb.get(server, "/", "my-site.localhost");
    assert.equal(index.status, 200);
    assert.equal(index.text, SITE["index.html"]);
    assert.equal(
      (await sb.get(server, "/assets/js/app.js", `my-site.localhost:${port}`)).text,
      SITE["assets/js/app.js"],
    );
    const utf = await sb.get(server, encodeURI("/café/ñ.txt"), "my-site.localhost");
    assert.equal(utf.status, 200);
    assert.equal(utf.text, SITE["café/ñ.txt"]);
    const secret = await sb.get(server, "/.secret", "my-site.localhost");
    assert.equal(secret.status, 404);
    assert.ok(!secret.text.includes("TOP SECRET"));
    assert.equal(
      (await sb.get(server, "/node_modules/dep/index.js", "my-site.localhost")).status,
      404,
    );

    // A .zip file; its name gives the app name.
    const zipFiles = { "index.html": "<p>from a zip</p>", "docs/guide.txt": "read me" };
    const zipPath = `${sb.dir}/Zipped Site.zip`;
    await Deno.writeFile(zipPath, await makeZip(zipFiles));
    const z = assertOk(await sb.cli(["deploy", zipPath]));
    assert.equal(
      z.stdout,
      `deployed zipped-site v1 (2 files, 24 B, live): http://zipped-site.localhost:${port}\n`,
    );
    assert.equal((await sb.get(server, "/", "zipped-site.localhost")).text, zipFiles["index.html"]);
    assert.equal(
      (await sb.get(server, "/docs/guide.txt", "zipped-site.localhost")).text,
      "read me",
    );

    // --name overrides, --json is the whole of stdout.
    const j = parseJson<DeployJson>(await sb.cli(["deploy", site, "--name", "custom", "--json"]));
    assert.equal(j.app, "custom");
    assert.equal(j.version, 1);
    assert.equal(j.files, 3);
    assert.equal(j.bytes, SITE_BYTES);
    assert.equal(j.url, `http://custom.localhost:${port}`);
    assert.equal(j.live, true);
    assert.equal((await sb.get(server, "/", "custom.localhost")).text, SITE["index.html"]);

    // A second deploy of the same folder is version 2.
    const again = parseJson<DeployJson>(await sb.cli(["deploy", site, "--json"]));
    assert.equal(again.app, "my-site");
    assert.equal(again.version, 2);

    const apps = parseJson<AppRow[]>(await sb.cli(["app", "list", "--json"]));
    assert.deepEqual(apps.map((a) => a.name), ["custom", "my-site", "zipped-site"]);
  });
});

// ---------------------------------------------------------------- 3. app commands

Deno.test("app list/info/rollback/delete: human output and --json", async () => {
  await withSandbox(async (sb) => {
    const server = await sb.start({ firstRun: true });
    const port = server.port;
    const blog = `${sb.dir}/blog`;
    const deploy = async (body: string, ...extra: string[]) => {
      await sb.folder("blog", { "index.html": body });
      return parseJson<DeployJson>(await sb.cli(["deploy", blog, "--json", ...extra]));
    };
    const live = async () => (await sb.get(server, "/", "blog.localhost")).text;

    assert.equal((await deploy("one")).version, 1);
    assert.equal((await deploy("two")).version, 2);
    const draft = await deploy("three", "--draft");
    assert.equal(draft.version, 3);
    assert.equal(draft.live, false);
    assert.equal(await live(), "two", "a draft does not go live");
    assert.equal((await sb.get(server, "/", "blog--v3.localhost")).text, "three");

    const list = assertOk(await sb.cli(["app", "list"]));
    assert.match(list.stdout, /^NAME +LIVE +FILES +SIZE +VERSIONS +LAST DEPLOY +URL$/m);
    assert.match(
      list.stdout,
      new RegExp(
        `^blog +2 +1 +3 B +3 +\\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\d +http://blog\\.localhost:${port}$`,
        "m",
      ),
    );
    const rows = parseJson<AppRow[]>(await sb.cli(["app", "list", "--json"]));
    assert.equal(rows.length, 1);
    assert.equal(rows[0].name, "blog");
    assert.equal(rows[0].live_version, 2);
    assert.equal(rows[0].versions, 3);
    assert.equal(rows[0].files, 1);
    assert.equal(rows[0].bytes, 3);
    assert.equal(rows[0].url, `http://blog.localhost:${port}`);

    const info = assertOk(await sb.cli(["app", "info", "blog"]));
    assert.equal(info.stdout.split("\n")[0], `blog  live v2  http://blog.localhost:${port}`);
    assert.match(info.stdout, /^VERSION +FILES +SIZE +DEPLOYED +BY$/m);
    assert.match(info.stdout, /^2 +1 +3 B +\S+ \S+ +local +live$/m);
    assert.match(info.stdout, /^3 +1 +5 B +\S+ \S+ +local$/m);
    const detail = parseJson<AppDetail>(await sb.cli(["app", "info", "blog", "--json"]));
    assert.equal(detail.live_version, 2);
    assert.deepEqual(
      detail.versions.map((v) => [v.number, v.live, v.deployed_by]),
      [[3, false, "local"], [2, true, "local"], [1, false, "local"]],
    );

    // Rollback with no version: the one before the live one.
    const rb = assertOk(await sb.cli(["app", "rollback", "blog"]));
    assert.equal(rb.stdout, "blog: v1 is live (was v2)\n");
    assert.equal(await live(), "one");
    const rbj = parseJson<{ app: string; live_version: number; previous_version: number }>(
      await sb.cli(["app", "rollback", "blog", "--version=3", "--json"]),
    );
    assert.deepEqual({ ...rbj }, { app: "blog", live_version: 3, previous_version: 1 });
    assert.equal(await live(), "three");
    const rb1 = assertOk(await sb.cli(["app", "rollback", "blog", "--version=1"]));
    assert.equal(rb1.stdout, "blog: v1 is live (was v3)\n");
    assert.equal(await live(), "one");
    assertRefused(await sb.cli(["app", "rollback", "blog", "--version=9"]), /VERSION_NOT_FOUND/);
    assertRefused(await sb.cli(["app", "rollback", "blog", "--version=0"]), /positive whole/);
    assertRefused(await sb.cli(["app", "rollback", "nope"]), /\(APP_NOT_FOUND\)$/);

    // Delete, human and --json.
    const del = assertOk(await sb.cli(["app", "delete", "blog"]));
    assert.equal(del.stdout, "deleted blog\n");
    assert.equal((await sb.get(server, "/", "blog.localhost")).status, 404);
    assert.equal((await sb.get(server, "/", "blog--v3.localhost")).status, 404);
    assertRefused(await sb.cli(["app", "info", "blog"]), /App 'blog' not found \(APP_NOT_FOUND\)/);
    assertRefused(await sb.cli(["app", "delete", "blog"]), /APP_NOT_FOUND/);
    const empty = assertOk(await sb.cli(["app", "list"]));
    assert.match(empty.stdout, /^no apps yet/);
    assert.deepEqual(parseJson(await sb.cli(["app", "list", "--json"])), []);

    await sb.folder("other", { "index.html": "other" });
    assertOk(await sb.cli(["deploy", `${sb.dir}/other`]));
    const dj = parseJson<{ app: string; deleted: boolean }>(
      await sb.cli(["app", "delete", "other", "--json"]),
    );
    assert.deepEqual({ ...dj }, { app: "other", deleted: true });
    assert.equal((await sb.get(server, "/", "other.localhost")).status, 404);
  });
});

// ---------------------------------------------------------------- 4. restart

Deno.test("restart: the database is the only state; sites and apps survive", async () => {
  await withSandbox(async (sb) => {
    const png = crypto.getRandomValues(new Uint8Array(3000));
    const css = "body { color: #123456; margin: 0 auto; }\n".repeat(200);
    const files = { "index.html": "<h1>kept</h1>\n", "logo.png": png, "style.css": css };
    const dir = await sb.folder("keep", files);

    const first = await sb.start({ firstRun: true });
    assertOk(await sb.cli(["deploy", dir]));
    const before = await sb.get(first, "/logo.png", "keep.localhost");
    assert.deepEqual(before.body, png);
    assert.equal((await first.stop()).code, 0);
    await Deno.remove(dir, { recursive: true }); // the source folder is not needed any more

    const second = await sb.start({ firstRun: false });
    assert.doesNotMatch(second.out, /password/);
    assert.equal((await sb.get(second, "/", "keep.localhost")).text, files["index.html"]);
    assert.deepEqual((await sb.get(second, "/logo.png", "keep.localhost")).body, png);
    assert.equal((await sb.get(second, "/style.css", "keep.localhost")).text, css);

    const apps = parseJson<AppRow[]>(await sb.cli(["app", "list", "--json"]));
    assert.equal(apps.length, 1);
    assert.equal(apps[0].name, "keep");
    assert.equal(apps[0].live_version, 1);
    assert.equal(apps[0].files, 3);
    assert.equal(apps[0].url, `http://keep.localhost:${second.port}`);
    assert.equal((await second.stop()).code, 0);
  });
});

// ---------------------------------------------------------------- 5. tokens

Deno.test("token create/list/revoke; scopes enforced; --url/--token and FAZT_URL/FAZT_TOKEN", async () => {
  await withSandbox(async (sb) => {
    const server = await sb.start({ firstRun: true });
    const base = server.base;
    const site = await sb.folder("site", { "index.html": "hello" });

    const created = assertOk(await sb.cli(["token", "create", "--name", "ci", "--scope", "read"]));
    const read = created.stdout.trim();
    assert.match(created.stdout, /^fazt_\d+_[A-Za-z0-9_-]{43}\n$/);
    const readId = Number(read.split("_")[1]);
    const secret = read.slice(`fazt_${readId}_`.length);

    const list = assertOk(await sb.cli(["token", "list"]));
    assert.match(list.stdout, /^ID +NAME +SCOPE +CREATED +LAST USED$/m);
    assert.match(list.stdout, new RegExp(`^${readId} +ci +read +\\S+ \\S+ +-$`, "m"));
    assert.match(list.stdout, /^\d+ +local +admin /m);
    assert.ok(!list.stdout.includes(secret), "token list must not show secrets");
    const listJson = assertOk(await sb.cli(["token", "list", "--json"]));
    assert.ok(!listJson.stdout.includes(secret));
    const rows = parseJson<TokenRow[]>(listJson);
    const ci = rows.find((t) => t.id === readId);
    assert.ok(ci && ci.name === "ci" && ci.scope === "read" && ci.token === undefined);

    // A read token can list but not deploy.
    const flags = ["--url", base, "--token", read];
    assert.deepEqual(parseJson(await sb.cli(["app", "list", "--json", ...flags])), []);
    assertRefused(await sb.cli(["deploy", site, ...flags]), /scope 'deploy'.*\(FORBIDDEN\)$/);
    const used = parseJson<TokenRow[]>(await sb.cli(["token", "list", "--json"]));
    assert.equal(typeof used.find((t) => t.id === readId)?.last_used_at, "number");

    // The same through the environment: the env token is used, not the local admin peer.
    const viaEnv = { FAZT_URL: base, FAZT_TOKEN: read };
    assert.deepEqual(parseJson(await sb.cli(["app", "list", "--json"], viaEnv)), []);
    assertRefused(await sb.cli(["deploy", site], viaEnv), /FORBIDDEN/);
    const dep = parseJson<TokenRow>(
      await sb.cli(["token", "create", "--name", "ci-deploy", "--scope", "deploy", "--json"]),
    );
    assert.equal(dep.scope, "deploy");
    assert.match(dep.token ?? "", new RegExp(`^fazt_${dep.id}_`));
    const envDeploy = { FAZT_URL: base, FAZT_TOKEN: dep.token! };
    const d = parseJson<DeployJson>(await sb.cli(["deploy", site, "--json"], envDeploy));
    assert.equal(d.app, "site");
    assert.equal(d.url, `http://site.localhost:${server.port}`);
    const info = parseJson<AppDetail>(await sb.cli(["app", "info", "site", "--json"], envDeploy));
    assert.equal(info.versions[0].deployed_by, "ci-deploy");
    // Flags win over the environment.
    const dead = { FAZT_URL: "http://127.0.0.1:1", FAZT_TOKEN: "fazt_1_nope" };
    assertOk(await sb.cli(["app", "list", "--url", base, "--token", dep.token!], dead));
    assertRefused(await sb.cli(["app", "list"], { FAZT_URL: base }), /without a token/);
    assertRefused(await sb.cli(["app", "list"], { FAZT_TOKEN: read }), /without a server/);

    // Revoke.
    const rev = assertOk(await sb.cli(["token", "revoke", String(readId)]));
    assert.equal(rev.stdout, `revoked token ${readId}\n`);
    assertRefused(await sb.cli(["app", "list", ...flags]), /\(INVALID_TOKEN\)$/);
    assertRefused(await sb.cli(["app", "list"], viaEnv), /INVALID_TOKEN/);
    assert.ok(
      !parseJson<TokenRow[]>(await sb.cli(["token", "list", "--json"])).some((t) =>
        t.id === readId
      ),
    );
    assertRefused(await sb.cli(["token", "revoke", String(readId)]), /TOKEN_NOT_FOUND/);
    assertRefused(await sb.cli(["token", "revoke", "abc"]), /positive whole number/);
    // The local peer still works.
    assertOk(await sb.cli(["app", "list"]));
  });
});

// ---------------------------------------------------------------- 6. refusals

Deno.test("refusals: bad paths, names, scopes, connections; each is one error line", async () => {
  await withSandbox(async (sb) => {
    // No server configured at all: nothing is created.
    const fresh = { FAZT_DB: `${sb.dir}/fresh/none.db` };
    const site = await sb.folder("site", { "index.html": "x" });
    assertRefused(await sb.cli(["app", "list"], fresh), /no server configured.*\(NO_SERVER\)$/);
    assertRefused(await sb.cli(["deploy", site], fresh), /NO_SERVER/);
    assert.ok(!exists(`${sb.dir}/fresh`), "a client command must not create a database");

    await sb.start({ firstRun: true });
    assertRefused(
      await sb.cli(["deploy", `${sb.dir}/missing`]),
      /'.*missing' does not exist \(NOT_FOUND\)$/,
    );
    await Deno.writeTextFile(`${sb.dir}/notes.txt`, "not a site");
    assertRefused(await sb.cli(["deploy", `${sb.dir}/notes.txt`]), /neither a folder nor a \.zip/);
    await Deno.writeTextFile(`${sb.dir}/broken.zip`, "not a zip at all");
    assertRefused(await sb.cli(["deploy", `${sb.dir}/broken.zip`]), /ZIP.*VALIDATION_FAILED/);
    await Deno.mkdir(`${sb.dir}/empty`);
    assertRefused(await sb.cli(["deploy", `${sb.dir}/empty`]), /no files to deploy/);
    assertRefused(
      await sb.cli(["deploy", site, "--name", "Bad_Name"]),
      /Invalid app name.*"constraint":"pattern".*\(VALIDATION_FAILED\)$/,
    );
    assertRefused(
      await sb.cli(["deploy", site, "--name", "admin"]),
      /Invalid app name.*"constraint":"reserved".*\(VALIDATION_FAILED\)$/,
    );
    assertRefused(await sb.cli(["deploy", site, "--name", "a--b"]), /no_double_hyphen/);
    assertRefused(
      await sb.cli(["token", "create", "--name", "x", "--scope", "wrong"]),
      /--scope must be one of read, deploy, admin/,
    );
    assertRefused(
      await sb.cli(["app", "list", "--url", "http://127.0.0.1:9"]),
      /a server was given without a token/,
    );
    assertRefused(
      await sb.cli(["deploy", site, "--url", "http://127.0.0.1:9"]),
      /a server was given without a token/,
    );
    assertRefused(
      await sb.cli(["app", "list", "--url", "http://127.0.0.1:1", "--token", "fazt_1_x"]),
      /cannot reach http:\/\/127\.0\.0\.1:1 \(from --url\).*\(UNREACHABLE\)$/,
    );
    assertRefused(
      await sb.cli(["deploy", site, "--url", "http://127.0.0.1:1", "--token", "fazt_1_x"]),
      /UNREACHABLE/,
    );
    // Nothing was deployed by any of the refused commands.
    assert.deepEqual(parseJson(await sb.cli(["app", "list", "--json"])), []);
  });
});

// ---------------------------------------------------------------- 7. init and config

Deno.test("server init and server config: validation, domain, --force, persisted settings", async () => {
  await withSandbox(async (sb) => {
    assertRefused(
      await sb.cli(["server", "init", "--username", "u", "--password", "short"]),
      /at least 8 characters \(VALIDATION_FAILED\)$/,
    );
    assertRefused(
      await sb.cli(["server", "init", "--username", "a b", "--password", "long-enough"]),
      /username must be/,
    );
    assert.ok(!exists(sb.db), "a refused init writes nothing");

    const init = ["server", "init", "--username", "owner", "--password", "correct-horse"];
    const ok = assertOk(await sb.cli([...init, "--domain", "Example.COM"]));
    assert.equal(ok.stdout, `initialised ${sb.db} for example.com (owner owner)\n`);
    assert.equal(Deno.statSync(sb.db).mode! & 0o777, 0o600);
    assert.equal(assertOk(await sb.cli(["server", "config", "domain"])).stdout, "example.com\n");
    assertRefused(await sb.cli(init), /already has an owner.*\(ALREADY_INITIALISED\)$/);
    assertOk(
      await sb.cli([
        "server",
        "init",
        "--username",
        "boss",
        "--password",
        "new-password-1",
        "--force",
      ]),
    );
    const [owner] = query<{ username: string; password_hash: string }>(
      sb.db,
      "SELECT * FROM owner",
    );
    assert.equal(owner.username, "boss");
    assert.ok(await verifyPassword("new-password-1", owner.password_hash));

    assertRefused(
      await sb.cli(["server", "config", "port", "70000"]),
      /port must be a whole number from 0 to 65535 \(VALIDATION_FAILED\)$/,
    );
    assert.equal(assertOk(await sb.cli(["server", "config", "port"])).stdout, "4698\n");
    assertRefused(await sb.cli(["server", "config", "nope"]), /unknown setting 'nope'/);
    assert.equal(assertOk(await sb.cli(["server", "config", "max_versions", "5"])).stdout, "5\n");
    assert.equal(assertOk(await sb.cli(["server", "config", "max_versions"])).stdout, "5\n");
    const all = parseJson<Record<string, unknown>>(await sb.cli(["server", "config", "--json"]));
    assert.equal(all.max_versions, 5);
    assert.equal(all.domain, "example.com");
    assert.equal(all.port, 4698);
    const table = assertOk(await sb.cli(["server", "config"])).stdout;
    assert.match(table, /^max_versions +5$/m);
    assert.match(table, /^domain +example\.com$/m);

    // A server on the initialised database: no first-run password, the domain is used,
    // and the stored max_versions applies.
    assertOk(await sb.cli(["server", "config", "max_versions", "2"]));
    const server = await sb.start({ firstRun: false });
    assert.match(server.out, /\(domain example\.com\)/);
    assert.match(
      server.out,
      new RegExp(`^admin: +http://admin\\.example\\.com:${server.port}$`, "m"),
    );
    assert.doesNotMatch(server.out, /password/);
    const site = `${sb.dir}/shop`;
    let last: DeployJson | undefined;
    for (const body of ["v1", "v2", "v3"]) {
      await sb.folder("shop", { "index.html": body });
      last = parseJson<DeployJson>(await sb.cli(["deploy", site, "--json"]));
    }
    assert.equal(last?.url, `http://shop.example.com:${server.port}`);
    assert.equal((await sb.get(server, "/", "shop.example.com")).text, "v3");
    const info = parseJson<AppDetail>(await sb.cli(["app", "info", "shop", "--json"]));
    assert.deepEqual(info.versions.map((v) => v.number), [3, 2], "max_versions=2 keeps two");
    assert.equal((await server.stop()).code, 0);
  });
});

// ---------------------------------------------------------------- 8. version and help

Deno.test("--version prints version.ts's version", async () => {
  await withSandbox(async (sb) => {
    const want =
      `fazt ${VERSION} (deno ${Deno.version.deno}, ${Deno.build.os}/${Deno.build.arch})\n`;
    for (const flag of ["--version", "-v"]) {
      const r = assertOk(await sb.cli([flag]));
      assert.equal(r.stdout, want);
      assert.equal(r.stderr, "");
    }
  });
});

Deno.test({
  name: "help, deploy --help, app --help list commands and options",
  fn: async () => {
    await withSandbox(async (sb) => {
      const help = assertOk(await sb.cli(["help"]));
      for (const c of ["server", "token", "deploy", "app", "help"]) {
        assert.match(help.stdout, new RegExp(`^  ${c}\\b`, "m"), help.stdout);
      }
      assert.equal(assertOk(await sb.cli([])).stdout, help.stdout, "no arguments shows help");
      const deploy = assertOk(await sb.cli(["deploy", "--help"]));
      for (const o of ["--name", "--draft", "--url", "--token", "--db", "--json", "<path>"]) {
        assert.ok(deploy.stdout.includes(o), `deploy --help lacks ${o}:\n${deploy.stdout}`);
      }
      const app = assertOk(await sb.cli(["app", "--help"]));
      for (const c of ["list", "info", "delete", "rollback"]) {
        assert.match(app.stdout, new RegExp(`^  ${c}\\b`, "m"), app.stdout);
      }
      assert.equal(assertOk(await sb.cli(["help", "app"])).stdout, app.stdout);
      // Usage errors are one clean error line too.
      const unknown = await sb.cli(["frobnicate"]);
      assert.notEqual(unknown.code, 0);
      assert.match(unknown.stderr, /^error: unknown command 'frobnicate'/);
      assert.doesNotMatch(unknown.stderr, /Uncaught|NotCapable/);
      const missing = await sb.cli(["deploy"]);
      assert.notEqual(missing.code, 0);
      assert.match(missing.stderr, /^error: missing required argument 'path'/);
      assert.doesNotMatch(missing.stderr, /Uncaught|NotCapable/);
    });
  },
});

Deno.test({
  name: "app rollback NAME --version 1 (spaced form) rolls back",
  fn: async () => {
    await withSandbox(async (sb) => {
      const server = await sb.start({ firstRun: true });
      for (const body of ["one", "two"]) {
        await sb.folder("blog", { "index.html": body });
        assertOk(await sb.cli(["deploy", `${sb.dir}/blog`]));
      }
      const r = assertOk(await sb.cli(["app", "rollback", "blog", "--version", "1"]));
      assert.equal(r.stdout, "blog: v1 is live (was v2)\n");
      assert.equal((await sb.get(server, "/", "blog.localhost")).text, "one");
    });
  },
});

Deno.test("server code under the task's permissions: deploy, env set/list/unset, logs", async () => {
  await withSandbox(async (sb) => {
    const server = await sb.start({ firstRun: true });
    const app = await sb.folder("svc", {
      "index.html": "<h1>svc</h1>",
      "api/main.ts": `import { shout } from "./lib.ts";
        export default (req: Request, ctx: any) => {
          console.log("served " + new URL(req.url).pathname);
          return new Response(shout(ctx.env.GREETING ?? "none"));
        };`,
      "api/lib.ts": "export const shout = (s: string): string => s.toUpperCase();",
    });
    assertOk(await sb.cli(["deploy", app]));
    assert.equal((await sb.get(server, "/api/x", "svc.localhost")).text, "NONE");

    const set = assertOk(
      await sb.cli(["app", "env", "set", "svc", "GREETING=hello there", "MODE=x"]),
    );
    assert.equal(set.stdout, "svc: set GREETING, MODE\n");
    const list = assertOk(await sb.cli(["app", "env", "list", "svc"]));
    assert.match(list.stdout, /GREETING/);
    assert.doesNotMatch(list.stdout, /hello there/);
    assert.equal((await sb.get(server, "/api/x", "svc.localhost")).text, "HELLO THERE");
    assertRefused(await sb.cli(["app", "env", "set", "svc", "lower=x"]), /VALIDATION_FAILED/);
    assertRefused(await sb.cli(["app", "env", "set", "svc", "NOEQUALS"]), /KEY=VALUE/);
    assertOk(await sb.cli(["app", "env", "unset", "svc", "GREETING"]));
    assert.equal((await sb.get(server, "/api/y", "svc.localhost")).text, "NONE");

    // Logs are written behind the response: wait until the last request's line is in.
    const logs = await waitFor(async () => {
      const run = assertOk(await sb.cli(["app", "logs", "svc"]));
      return run.stdout.includes("served /api/y") && run;
    }, "the log line of /api/y");
    assert.match(logs.stdout, /INFO {2}served \/api\/x/);
    assert.doesNotMatch(logs.stdout, /hello there/);
    const json = parseJson<{ level: string; message: string }[]>(
      assertOk(await sb.cli(["app", "logs", "svc", "--json", "--limit", "1"])),
    );
    assert.equal(json.length, 1);
    assert.equal(json[0].message, "served /api/y");
    assertRefused(await sb.cli(["app", "logs", "svc", "--limit", "0"]), /--limit/);
    assertRefused(await sb.cli(["app", "logs", "ghost"]), /APP_NOT_FOUND/);

    const broken = await sb.folder("broken", {
      "api/main.ts": "export default () => new Response(",
    });
    assertRefused(await sb.cli(["deploy", broken]), /does not compile: api\/main\.ts:1:\d+/);
  });
});

Deno.test("app limits NAME shows limits and usage; --set overrides and goes back with =default", async () => {
  await withSandbox(async (sb) => {
    const server = await sb.start({ firstRun: true });
    const app = await sb.folder("quota", {
      "api/main.ts": `export default async (_req: Request, ctx: any) => {
          await ctx.kv.set("k", "v".repeat(100));
          return new Response("stored");
        };`,
    });
    assertOk(await sb.cli(["deploy", app]));
    assert.equal((await sb.get(server, "/api/x", "quota.localhost")).text, "stored");
    const shown = assertOk(await sb.cli(["app", "limits", "quota"]));
    assert.match(shown.stdout, /^quota: stores 1\d\d B \(kv 1\d\d B, docs 0 B, blobs 0 B\)/);
    assert.match(shown.stdout, /max_storage_bytes +1\.0 GB +1\.0 GB/);
    assert.match(shown.stdout, /max_rps +none +none/);
    const set = assertOk(
      await sb.cli(["app", "limits", "quota", "--set", "max_rps=20", "--set", "max_concurrent=4"]),
    );
    assert.match(set.stdout, /max_rps +20 +none +set for this app/);
    assert.match(set.stdout, /max_concurrent +4 +none +set for this app/);
    const json = parseJson<Api.AppLimits>(
      assertOk(await sb.cli(["app", "limits", "quota", "--set", "max_rps=default", "--json"])),
    );
    assert.deepEqual(
      [json.limits.max_rps.value, json.limits.max_rps.overridden, json.limits.max_concurrent.value],
      [0, false, 4],
    );
    assert.ok(json.usage.kv_bytes > 100);
    assertRefused(
      await sb.cli(["app", "limits", "quota", "--set", "max_rps=-1"]),
      /max_rps must be a whole number.*VALIDATION_FAILED/,
    );
    assertRefused(await sb.cli(["app", "limits", "quota", "--set", "rps"]), /KEY=VALUE/);
    assertRefused(await sb.cli(["app", "limits", "ghost"]), /APP_NOT_FOUND/);
  });
});
