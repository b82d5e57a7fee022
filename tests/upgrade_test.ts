/**
 * Upgrades with real programs: bundles of this checkout (`deno bundle`), made
 * older or newer by changing the version they report, or broken so they pass
 * `--version` and then fail to serve. Refusals are checked in-process; the
 * swap, restart and roll-back with real processes and the real CLI.
 */
import assert from "node:assert/strict";
import { SERVER_RUN_FLAGS } from "../lib/program.ts";
import { buildBundle } from "../release/build.ts";
import { sha256Hex } from "../lib/secrets.ts";
import type { Upgrader } from "../server/mod.ts";
import { Storage } from "../storage/mod.ts";
import { VERSION } from "../version.ts";
import { assertOk, assertRefused, CliSandbox, parseJson, startFlags } from "./cli_runner.ts";
import { deadline, waitFor } from "./deadline.ts";
import { makeZip, startTestNode, type TestNode } from "./helpers.ts";
import { hostFetch } from "./http_client.ts";

const enc = new TextEncoder();

/** This checkout bundled, and variants of it. */
async function buildPrograms(dir: string): Promise<Programs> {
  // What `deno task bundle` makes.
  const sum = await buildBundle(`${dir}/fazt.js`);
  assert.equal(sum, sha256Hex(await Deno.readFile(`${dir}/fazt.js`)));
  assert.match(
    await Deno.readTextFile(`${dir}/fazt.js.sha256`),
    new RegExp(`^${sum}  fazt\\.js\n$`),
  );
  const source = await Deno.readTextFile(`${dir}/fazt.js`);
  const marker = `VERSION = "${VERSION}"`;
  assert.equal(source.split(marker).length, 2, "the bundle holds the version once");
  const as = (version: string, prefix = "") =>
    enc.encode(prefix + source.replace(marker, `VERSION = "${version}"`));
  return {
    current: enc.encode(source),
    older: as("0.0.9"),
    next: as("0.1.1"),
    // Reports its version, then cannot serve.
    broken: as("0.1.2", 'if (Deno.args[0] === "server") Deno.exit(3);\n'),
    newest: as("0.1.3"),
  };
}

interface Programs {
  current: Uint8Array<ArrayBuffer>;
  older: Uint8Array<ArrayBuffer>;
  next: Uint8Array<ArrayBuffer>;
  broken: Uint8Array<ArrayBuffer>;
  newest: Uint8Array<ArrayBuffer>;
}

let built: Promise<Programs> | undefined;

/** The programs, bundled once for every test here. */
function bundledPrograms(): Promise<Programs> {
  return built ??= (async () => {
    const dir = await Deno.makeTempDir({ prefix: "fazt-bundle-" });
    try {
      return await buildPrograms(dir);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  })();
}

/** A node in-process whose program is `bin/fazt.js` of a temp folder; `apply` only records. */
async function withUpgradeNode(
  fn: (
    t: { work: string; node: TestNode; applied: Applied[]; programs: Programs },
  ) => Promise<void>,
): Promise<void> {
  const work = await Deno.makeTempDir({ prefix: "fazt-upgrade-" });
  const applied: Applied[] = [];
  const node = await upgradeNode("bundle", work, applied);
  try {
    await fn({ work, node, applied, programs: await bundledPrograms() });
  } finally {
    await node.close();
    await Deno.remove(work, { recursive: true });
  }
}

Deno.test("the start task and a bundled node's restart use the same permissions", () => {
  assert.deepEqual(startFlags(), [...SERVER_RUN_FLAGS]);
});

interface Applied {
  staged: string;
  version: string;
}

async function upgradeNode(form: "bundle" | "source", dir: string, applied: Applied[]) {
  await Deno.mkdir(`${dir}/bin`, { recursive: true });
  await Deno.writeTextFile(`${dir}/bin/fazt.js`, "// the running program\n");
  const upgrader: Upgrader = {
    program: form === "bundle" ? { form, path: `${dir}/bin/fazt.js` } : { form },
    apply: (staged, version) => applied.push({ staged, version }),
  };
  return await startTestNode({ upgrader });
}

function post(node: TestNode, program: Uint8Array, query: Record<string, string>, token?: string) {
  const q = new URLSearchParams({ sha256: sha256Hex(program), ...query });
  return node.fetch(`/api/upgrade?${q}`, {
    method: "POST",
    body: program as Uint8Array<ArrayBuffer>,
    headers: { "content-type": "application/octet-stream" },
    token,
  });
}

async function refusal(res: Response, status: number, code: string): Promise<string> {
  const body = await res.json();
  assert.equal(res.status, status, JSON.stringify(body));
  assert.equal(body.error?.code, code);
  return body.error.message;
}

const binFiles = async (dir: string) =>
  (await Array.fromAsync(Deno.readDir(`${dir}/bin`))).map((e) => e.name).sort();

Deno.test("POST /api/upgrade checks everything before it changes anything", () =>
  withUpgradeNode(async ({ work, node, applied, programs }) => {
    const info = await (await node.fetch("/api/upgrade", { token: node.tokens.read })).json();
    assert.deepEqual(info.data, {
      version: VERSION,
      form: "bundle",
      os: Deno.build.os,
      arch: Deno.build.arch,
      can_upgrade: true,
      signature_required: false,
    });

    await refusal(await post(node, programs.next, {}, node.tokens.deploy), 403, "FORBIDDEN");
    const noSha = await node.fetch("/api/upgrade", { method: "POST", body: programs.next });
    await refusal(noSha, 400, "VALIDATION_FAILED");
    const wrongSha = await post(node, programs.next, { sha256: sha256Hex(programs.older) });
    await refusal(wrongSha, 400, "CHECKSUM_MISMATCH");

    const notFazt = enc.encode('console.log("hello");\n');
    const message = await refusal(await post(node, notFazt, {}), 422, "UPGRADE_INVALID");
    assert.ok(!/\/tmp|fazt-upgrade|file:|\.js/.test(message), `no paths leak: ${message}`);
    assert.ok(node.logs.some((l) => l.includes("upgrade refused")), "the reason is logged");

    const same = await post(node, programs.current, {});
    assert.equal(same.status, 200);
    assert.deepEqual((await same.json()).data, {
      action: "already_current",
      from: VERSION,
      to: VERSION,
    });
    const older = await refusal(await post(node, programs.older, {}), 409, "DOWNGRADE");
    assert.match(older, /fazt 0\.0\.9, older than .*force=1/);
    assert.deepEqual(await binFiles(work), ["fazt.js"], "nothing staged was left behind");
    assert.equal(applied.length, 0);

    const res = await post(node, programs.next, {});
    assert.equal(res.status, 202);
    assert.deepEqual((await res.json()).data, { action: "restarting", from: VERSION, to: "0.1.1" });
    assert.equal(applied.length, 1);
    assert.equal(applied[0].version, "0.1.1");
    assert.ok(applied[0].staged.startsWith(`${work}/bin/`), "staged beside the program");
    assert.deepEqual(await Deno.readFile(applied[0].staged), programs.next);
    await refusal(await post(node, programs.next, {}), 409, "UPGRADE_IN_PROGRESS");
  }));

Deno.test("a node with an upgrade key takes only programs signed with it", () =>
  withUpgradeNode(async ({ node, applied, programs }) => {
    const keys = await crypto.subtle.generateKey({ name: "Ed25519" }, true, [
      "sign",
      "verify",
    ]) as CryptoKeyPair;
    const hex = (b: ArrayBuffer) => new Uint8Array(b).toHex();
    const publicHex = hex(await crypto.subtle.exportKey("raw", keys.publicKey));
    node.storage.settings.set("upgrade_public_key", publicHex);
    const sign = async (p: Uint8Array) =>
      hex(
        await crypto.subtle.sign(
          { name: "Ed25519" },
          keys.privateKey,
          p as Uint8Array<ArrayBuffer>,
        ),
      );

    const put = await node.fetch("/api/settings", {
      method: "PUT",
      body: JSON.stringify({ upgrade_public_key: "none" }),
      headers: { "content-type": "application/json" },
    });
    await refusal(put, 403, "LOCAL_ONLY");
    assert.equal(node.storage.settings.load().upgrade_public_key, publicHex, "key unchanged");

    const info = await (await node.fetch("/api/upgrade")).json();
    assert.equal(info.data.signature_required, true);
    await refusal(await post(node, programs.next, {}), 400, "SIGNATURE_REQUIRED");
    const other = await post(node, programs.next, { signature: await sign(programs.older) });
    await refusal(other, 400, "SIGNATURE_INVALID");
    await refusal(await post(node, programs.next, { signature: "zz" }), 400, "SIGNATURE_INVALID");
    const back = await post(node, programs.older, {
      signature: await sign(programs.older),
      force: "1",
    });
    assert.match(await refusal(back, 409, "DOWNGRADE"), /upgrade key does not go back/);
    assert.equal(applied.length, 0);
    const ok = await post(node, programs.next, { signature: await sign(programs.next) });
    assert.equal(ok.status, 202);
    assert.equal(applied.length, 1);
  }));

Deno.test("a node that cannot write beside its program says so before and at an upload", () =>
  withUpgradeNode(async ({ work, node, applied, programs }) => {
    await Deno.remove(`${work}/bin`, { recursive: true });
    const info = await (await node.fetch("/api/upgrade")).json();
    assert.equal(info.data.can_upgrade, false);
    assert.match(info.data.reason, /cannot write beside its program/);
    const res = await post(node, programs.next, {});
    const message = await refusal(res, 409, "UPGRADE_UNAVAILABLE");
    assert.ok(!message.includes(work), "no path in the answer");
    assert.equal(applied.length, 0);
  }));

Deno.test("nodes that cannot replace their program say why", async () => {
  const work = await Deno.makeTempDir({ prefix: "fazt-upgrade-" });
  const source = await upgradeNode("source", work, []);
  const embedded = await startTestNode();
  try {
    const program = enc.encode("x");
    const fromSource = await refusal(await post(source, program, {}), 409, "UPGRADE_UNAVAILABLE");
    assert.match(fromSource, /source checkout: update it with git/);
    const info = await (await source.fetch("/api/upgrade")).json();
    assert.equal(info.data.can_upgrade, false);
    assert.equal(info.data.form, "source");
    const fromEmbedded = await refusal(
      await post(embedded, program, {}),
      409,
      "UPGRADE_UNAVAILABLE",
    );
    assert.match(fromEmbedded, /embedded/);
  } finally {
    await source.close();
    await embedded.close();
    await Deno.remove(work, { recursive: true });
  }
});

/** A node running `bin/fazt.js` as a real process, its output in a log file. */
class BundledNode {
  readonly pids = new Set<number>();
  port = 0;
  token = "";

  constructor(readonly dir: string, readonly sandbox: CliSandbox) {}

  get base(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  async start(program: Uint8Array): Promise<Deno.ChildProcess> {
    await Deno.mkdir(`${this.dir}/bin`, { recursive: true });
    await Deno.writeFile(`${this.dir}/bin/fazt.js`, program);
    const db = `${this.dir}/node.db`;
    const setup = Storage.open(db);
    this.token = setup.tokens.create("upgrader", "admin").token;
    setup.close();
    const script = `exec "$0" run ${SERVER_RUN_FLAGS.join(" ")} "$1" server start ` +
      `--port 0 --host 127.0.0.1 --db "$2" >> "$3" 2>&1`;
    const proc = new Deno.Command("sh", {
      args: ["-c", script, Deno.execPath(), `${this.dir}/bin/fazt.js`, db, this.log],
      env: this.sandbox.env(),
      clearEnv: true,
      stdin: "null",
    }).spawn();
    // The node writes its address to a log file; nothing else announces it.
    const listening = await waitFor(
      async () => /listening on http:\/\/127\.0\.0\.1:(\d+) /.exec(await this.logText()),
      "the node to listen",
      20_000,
    ).catch(async (e) => {
      throw new Error(`${e.message}; did not start:\n${await this.logText()}`);
    });
    this.port = Number(listening[1]);
    this.pids.add(proc.pid);
    return proc;
  }

  get log(): string {
    return `${this.dir}/node.log`;
  }

  logText(): Promise<string> {
    return Deno.readTextFile(this.log).catch(() => "");
  }

  /** `/api/system` of whichever process answers now (noting its pid to stop it later). */
  async system(): Promise<{ version: string; pid: number }> {
    const res = await fetch(`${this.base}/api/system`, {
      headers: { authorization: `Bearer ${this.token}` },
      signal: AbortSignal.timeout(5000),
    });
    const data = (await res.json()).data;
    this.pids.add(data.pid);
    return data;
  }

  stopAll(): void {
    for (const pid of this.pids) {
      try {
        Deno.kill(pid, "SIGKILL");
      } catch {
        // gone
      }
    }
  }
}

Deno.test("fazt remote upgrade: swaps, restarts with the data kept, and rolls back a program that fails", async () => {
  const work = await Deno.makeTempDir({ prefix: "fazt-upgrade-" });
  const programs = await bundledPrograms();
  const sb = await CliSandbox.create();
  const node = new BundledNode(`${work}/node`, sb);
  try {
    await node.start(programs.older);
    const zip = await makeZip({ "index.html": "<h1>kept</h1>" });
    const deployed = await fetch(`${node.base}/api/deploy?name=site`, {
      method: "POST",
      body: zip,
      headers: { authorization: `Bearer ${node.token}`, "content-type": "application/zip" },
    });
    assert.equal(deployed.status, 201, await deployed.text());
    assertOk(
      await sb.cli(["remote", "add", "a", "--url", node.base, "--token", node.token, "--force"]),
    );

    const check = parseJson<Record<string, unknown>>(
      await sb.cli(["remote", "upgrade", "a", "--check", "--json"]),
    );
    assert.equal(check.version, "0.0.9");
    assert.equal(check.form, "bundle");
    assert.equal(check.can_upgrade, true);
    assert.equal(check.candidate, VERSION);
    assert.equal(check.upgrade_available, true);

    // From a checkout, the CLI bundles itself and sends that.
    const first = await sb.cli(["remote", "upgrade", "a"]);
    assert.match(
      assertOk(first).stdout,
      new RegExp(`upgraded a from fazt 0\\.0\\.9 to ${VERSION}`),
    );
    assert.equal((await node.system()).version, VERSION);
    assert.deepEqual(await Deno.readFile(`${node.dir}/bin/fazt.js.old`), programs.older);
    await Deno.stat(`${node.dir}/node.db.pre-upgrade`); // the database as it was before
    const page = await hostFetch(`${node.base}/`, { host: "site.localhost" });
    assert.equal(await page.text(), "<h1>kept</h1>", "the data survived the restart");

    await Deno.writeFile(`${work}/next.js`, programs.next);
    const second = parseJson<Record<string, unknown>>(
      await sb.cli(["remote", "upgrade", "a", "--file", `${work}/next.js`, "--json"]),
    );
    assert.deepEqual(second, { peer: "a", action: "upgraded", from: VERSION, to: "0.1.1" });
    assert.deepEqual(await Deno.readFile(`${node.dir}/bin/fazt.js`), programs.next);

    await Deno.writeFile(`${work}/broken.js`, programs.broken);
    assertRefused(
      await sb.cli(["remote", "upgrade", "a", "--file", `${work}/broken.js`]),
      /a did not come up on fazt 0\.1\.2: it went back to fazt 0\.1\.1 \(UPGRADE_FAILED\)$/,
    );
    assert.equal((await node.system()).version, "0.1.1");
    assert.deepEqual(await Deno.readFile(`${node.dir}/bin/fazt.js`), programs.next);
    assert.deepEqual(await Deno.readFile(`${node.dir}/bin/fazt.js.failed`), programs.broken);
    assert.match(await node.logText(), /did not come up healthy: going back/);

    assertRefused(
      await sb.cli(["remote", "upgrade", "a", "--file", `${work}/nothing.js`]),
      /cannot read .*nothing\.js.*\(NOT_FOUND\)$/,
    );
  } finally {
    node.stopAll();
    await sb.remove();
    await Deno.remove(work, { recursive: true });
  }
});

/** The parent process id of `pid` (field 4 of /proc/PID/stat). */
async function parentOf(pid: number): Promise<number> {
  const stat = await Deno.readTextFile(`/proc/${pid}/stat`);
  return Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
}

Deno.test("the process that was started supervises the upgraded node: one level deep, signals reach it", async () => {
  const programs = await bundledPrograms();
  const work = await Deno.makeTempDir({ prefix: "fazt-upgrade-" });
  const sb = await CliSandbox.create();
  const node = new BundledNode(`${work}/node`, sb);
  try {
    const started = await node.start(programs.current);
    const upgrade = async (program: Uint8Array<ArrayBuffer>, version: string) => {
      const before = (await node.system()).pid;
      const res = await fetch(`${node.base}/api/upgrade?sha256=${sha256Hex(program)}`, {
        method: "POST",
        body: program,
        headers: { authorization: `Bearer ${node.token}` },
      });
      assert.equal(res.status, 202, await res.text());
      const now = await waitFor(
        async () => {
          const now = await node.system().catch(() => undefined);
          return now && now.pid !== before && now.version === version && now;
        },
        `fazt ${version} to answer`,
        30_000,
      ).catch(async (e) => {
        throw new Error(`${e.message}:\n${await node.logText()}`);
      });
      return now.pid;
    };
    const first = await upgrade(programs.next, "0.1.1");
    assert.equal(await parentOf(first), started.pid, "the started process runs the new node");
    const second = await upgrade(programs.newest, "0.1.3");
    assert.equal(await parentOf(second), started.pid, "a second upgrade does not nest");

    started.kill("SIGTERM");
    const status = await deadline(started.status, "the node to exit", 20_000).catch(async (e) => {
      throw new Error(`${e.message}; still running:\n${await node.logText()}`);
    });
    assert.equal(status.code, 0, "the node's own exit status");
    await assert.rejects(Deno.stat(`/proc/${second}`), Deno.errors.NotFound);
  } finally {
    node.stopAll();
    await sb.remove();
    await Deno.remove(work, { recursive: true });
  }
});
