/**
 * Releases end to end, with real archives built by the release task for this
 * machine's target and served by a release server on loopback: an archive
 * unpacked into an empty folder runs a node with no `deno` on PATH; its own
 * CLI checks the feed, upgrades the node with the data kept, and sees a
 * release that fails its health check rolled back; install.sh installs
 * into a prefix and refuses what it must.
 */
import assert from "node:assert/strict";
import { publicKeyPem } from "../lib/ed25519.ts";
import { Storage } from "../storage/mod.ts";
import { VERSION } from "../version.ts";
import { makeZip } from "./helpers.ts";
import { hostFetch } from "./http_client.ts";
import { releases, ReleaseServer, TARGET, testKey } from "./release_helpers.ts";
import { importSigningKey, signBytes } from "../lib/ed25519.ts";

const td = new TextDecoder();

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

const show = (r: Run) => `exit ${r.code}\n--- stdout\n${r.stdout}--- stderr\n${r.stderr}`;

async function run(
  command: string,
  args: string[],
  env: Record<string, string>,
  cwd?: string,
): Promise<Run> {
  const out = await new Deno.Command(command, {
    args,
    env,
    clearEnv: true,
    cwd,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(120_000),
  }).output();
  return { code: out.code, stdout: td.decode(out.stdout), stderr: td.decode(out.stderr) };
}

function ok(r: Run): Run {
  assert.equal(r.code, 0, show(r));
  return r;
}

function refused(r: Run, pattern: RegExp): void {
  assert.notEqual(r.code, 0, show(r));
  assert.match(r.stderr, pattern, show(r));
}

async function tar(args: string[]): Promise<void> {
  ok(await run("tar", args, { PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin" }));
}

/** A node run from an unpacked archive by its launcher, with an empty PATH. */
class ArchiveNode {
  readonly pids = new Set<number>();
  readonly db: string;
  readonly log: string;
  readonly env: Record<string, string>;
  port = 0;
  token = "";

  constructor(readonly dir: string, readonly work: string) {
    this.db = `${work}/data/node.db`;
    this.log = `${work}/node.log`;
    // PATH names an empty folder: nothing, deno included, is found through it.
    this.env = { HOME: `${work}/home`, PATH: `${work}/empty`, NO_COLOR: "1" };
  }

  static async unpack(archive: string, work: string): Promise<ArchiveNode> {
    for (const d of ["app", "data", "home", "empty"]) await Deno.mkdir(`${work}/${d}`);
    await tar(["-xzf", archive, "-C", `${work}/app`]);
    const [top] = await Array.fromAsync(Deno.readDir(`${work}/app`));
    return new ArchiveNode(`${work}/app/${top.name}`, work);
  }

  /** The archive's own CLI (`<dir>/fazt …`), on this node's database. */
  fazt(args: string[]): Promise<Run> {
    return run(`${this.dir}/fazt`, [...args, "--db", this.db], this.env, this.work);
  }

  async start(): Promise<void> {
    const setup = Storage.open(this.db);
    this.token = setup.tokens.create("test", "admin").token;
    setup.close();
    const proc = new Deno.Command("/bin/sh", {
      args: [
        "-c",
        'exec "$0" server start --port 0 --host 127.0.0.1 --db "$1" >> "$2" 2>&1',
        `${this.dir}/fazt`,
        this.db,
        this.log,
      ],
      env: this.env,
      clearEnv: true,
      cwd: this.work,
      stdin: "null",
    }).spawn();
    this.pids.add(proc.pid);
    const deadline = Date.now() + 30_000;
    while (!this.port) {
      const m = /listening on http:\/\/127\.0\.0\.1:(\d+) /.exec(await this.logText());
      if (m) this.port = Number(m[1]);
      else if (Date.now() > deadline) throw new Error(`did not start:\n${await this.logText()}`);
      else await new Promise((r) => setTimeout(r, 50));
    }
  }

  get base(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  logText(): Promise<string> {
    return Deno.readTextFile(this.log).catch(() => "");
  }

  async system(): Promise<{ version: string; pid: number }> {
    const res = await fetch(`${this.base}/api/system`, {
      headers: { authorization: `Bearer ${this.token}` },
      signal: AbortSignal.timeout(10_000),
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

Deno.test("an unpacked archive runs a node with no deno on PATH; fazt upgrade checks, applies with data kept, and rolls back a release that fails", async () => {
  const rel = await releases();
  const work = await Deno.makeTempDir({ prefix: "fazt-archive-" });
  const host = new ReleaseServer();
  await host.serveDir("/0.1.1", rel.next.dir);
  await host.serveDir("/0.1.2", rel.broken.dir);
  const node = await ArchiveNode.unpack(rel.current.archivePath, work);
  try {
    const files = (await Array.fromAsync(Deno.readDir(node.dir))).map((e) => e.name).sort();
    assert.deepEqual(files, [
      "LICENSE",
      "LICENSE-deno.txt",
      "LICENSE-esbuild.txt",
      "README.txt",
      "deno",
      "esbuild",
      "fazt",
      "fazt.js",
    ]);
    const which = await run("/bin/sh", ["-c", "command -v deno"], node.env);
    assert.notEqual(which.code, 0, `no deno on this PATH: ${show(which)}`);
    assert.match(
      ok(await run(`${node.dir}/fazt`, ["--version"], node.env)).stdout,
      new RegExp(`^fazt ${VERSION.replaceAll(".", "\\.")} \\(deno 2\\.9\\.6, `),
    );

    // The key this test's releases are signed with: set on the node itself, as an owner would.
    ok(await node.fazt(["server", "config", "release_public_key", rel.key.publicKeyHex]));
    await node.start();
    const site = `${work}/site`;
    await Deno.mkdir(site);
    await Deno.writeTextFile(`${site}/index.html`, "<h1>kept</h1>");
    ok(await node.fazt(["deploy", site, "--name", "site"]));
    const page = async () =>
      await (await hostFetch(`${node.base}/`, { host: "site.localhost" })).text();
    assert.equal(await page(), "<h1>kept</h1>");
    const zip = await makeZip({ "index.html": "<p>second</p>" });
    const deployed = await fetch(`${node.base}/api/deploy?name=other`, {
      method: "POST",
      body: zip,
      headers: { authorization: `Bearer ${node.token}`, "content-type": "application/zip" },
    });
    assert.equal(deployed.status, 201, await deployed.text());
    // Server code compiles with the esbuild beside fazt.js: no network, no deno cache.
    const code = await makeZip({
      "api/main.ts": 'import { twice } from "./twice.ts";\n' +
        "export default (): Response => new Response(`twice: ${twice(21)}`);",
      "api/twice.ts": "export const twice = (n: number): number => n * 2;",
    });
    const compiled = await fetch(`${node.base}/api/deploy?name=code`, {
      method: "POST",
      body: code,
      headers: { authorization: `Bearer ${node.token}`, "content-type": "application/zip" },
    });
    assert.equal(compiled.status, 201, await compiled.text());
    const answer = await hostFetch(`${node.base}/api/`, { host: "code.localhost" });
    assert.equal(await answer.text(), "twice: 42");

    const feed = host.url("/0.1.1/release.json");
    const check = JSON.parse(
      ok(await node.fazt(["upgrade", "--check", "--feed", feed, "--json"])).stdout,
    );
    assert.equal(check.version, VERSION);
    assert.equal(check.form, "bundle");
    assert.equal(check.target, TARGET.id);
    assert.equal(check.available, "0.1.1");
    assert.equal(check.upgrade_available, true);
    const text = ok(await node.fazt(["upgrade", "--check", "--feed", feed])).stdout;
    assert.match(text, /offers fazt 0\.1\.1 .*\nupgrade available: run 'fazt upgrade'/);
    assert.equal((await node.system()).version, VERSION, "a check changes nothing");

    const before = await Deno.readFile(`${node.dir}/fazt.js`);
    const runtime = await Deno.readFile(`${node.dir}/deno`);
    const upgraded = ok(await node.fazt(["upgrade", "--feed", feed]));
    assert.match(
      upgraded.stdout,
      new RegExp(`upgraded this node from fazt ${VERSION} to 0\\.1\\.1`),
    );
    assert.equal((await node.system()).version, "0.1.1");
    assert.equal(await page(), "<h1>kept</h1>", "the data survived the restart");
    assert.deepEqual(await Deno.readFile(`${node.dir}/fazt.js`), rel.next.bundle);
    assert.deepEqual(await Deno.readFile(`${node.dir}/fazt.js.old`), before);
    assert.deepEqual(await Deno.readFile(`${node.dir}/deno`), runtime, "the runtime stays");

    // From now on the feed is the node's setting; it offers a release that cannot serve.
    ok(await node.fazt(["server", "config", "release_feed", host.url("/{version}/release.json")]));
    const remote = JSON.parse(
      ok(
        await node.fazt([
          "remote",
          "upgrade",
          "local",
          "--feed",
          "--check",
          "--version",
          "0.1.2",
          "--json",
        ]),
      )
        .stdout,
    );
    assert.equal(remote.node, "local");
    assert.equal(remote.version, "0.1.1");
    assert.equal(remote.available, "0.1.2");
    refused(
      await node.fazt(["upgrade", "--version", "0.1.2"]),
      /did not come up on fazt 0\.1\.2: it went back to fazt 0\.1\.1 \(UPGRADE_FAILED\)/,
    );
    assert.equal((await node.system()).version, "0.1.1");
    assert.equal(await page(), "<h1>kept</h1>");
    assert.deepEqual(await Deno.readFile(`${node.dir}/fazt.js`), rel.next.bundle);
    assert.deepEqual(await Deno.readFile(`${node.dir}/fazt.js.failed`), rel.broken.bundle);
    assert.match(await node.logText(), /did not come up healthy: going back/);

    const same = ok(await node.fazt(["upgrade", "--version", "0.1.1"]));
    assert.match(same.stdout, /this node already runs fazt 0\.1\.1/);
    // Refusals reach the CLI as one line with the node's code.
    const tampered = (await Deno.readFile(rel.broken.archivePath)).slice();
    tampered[1000] ^= 1;
    host.files.set(`/0.1.3/${rel.broken.archive.url}`, tampered);
    host.files.set("/0.1.3/release.json", host.files.get("/0.1.2/release.json")!);
    refused(
      await node.fazt(["remote", "upgrade", "local", "--feed", host.url("/0.1.3/release.json")]),
      /^error: .*does not match the SHA-256 signed for it.*\(CHECKSUM_MISMATCH\)$/m,
    );
    assert.equal((await node.system()).version, "0.1.1", "still serving");
  } finally {
    node.stopAll();
    await host.close();
    await Deno.remove(work, { recursive: true });
  }
});

Deno.test("install.sh installs a signed release into a prefix and refuses a bad signature, a changed archive, an unsigned release", async () => {
  const rel = await releases();
  const work = await Deno.makeTempDir({ prefix: "fazt-install-" });
  const host = new ReleaseServer();
  try {
    await host.serveDir("/ok", rel.next.dir);
    const other = await testKey();
    const sums = await Deno.readFile(`${rel.next.dir}/SHA256SUMS`);
    await host.serveDir("/wrong-key", rel.next.dir);
    const otherSig = await signBytes(await importSigningKey(other.pkcs8Base64), sums);
    host.files.set("/wrong-key/SHA256SUMS.sig", otherSig);
    await host.serveDir("/tampered", rel.next.dir);
    const changed = (await Deno.readFile(rel.next.archivePath)).slice();
    changed[changed.length - 10] ^= 1;
    host.files.set(`/tampered/${rel.next.archive.url}`, changed);
    await host.serveDir("/unsigned", rel.next.dir);
    host.files.delete("/unsigned/SHA256SUMS.sig");

    await Deno.writeTextFile(`${work}/release.pem`, publicKeyPem(rel.key.publicKeyHex));
    await Deno.mkdir(`${work}/home`);
    await Deno.mkdir(`${work}/empty`);
    const env = { PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin", HOME: `${work}/home` };
    const script = `${rel.next.dir}/install.sh`;
    const install = (base: string, prefix: string, ...extra: string[]) =>
      run("/bin/sh", [
        script,
        "--base-url",
        host.url(base),
        "--prefix",
        `${work}/${prefix}`,
        ...extra,
      ], env);
    const key = ["--public-key", `${work}/release.pem`];

    const first = ok(await install("/ok", "p", ...key));
    assert.match(
      first.stdout,
      new RegExp(`installed fazt 0\\.1\\.1 \\(${TARGET.id}\\) in ${work}/p/lib/fazt`),
    );
    const version = ok(await run(`${work}/p/bin/fazt`, ["--version"], { PATH: `${work}/empty` }));
    assert.match(version.stdout, /^fazt 0\.1\.1 \(deno 2\.9\.6, /, "runs with an empty PATH");
    const installed = (await Array.fromAsync(Deno.readDir(`${work}/p/lib/fazt`))).map((e) => e.name)
      .sort();
    assert.deepEqual(installed, [
      "LICENSE",
      "LICENSE-deno.txt",
      "LICENSE-esbuild.txt",
      "README.txt",
      "deno",
      "esbuild",
      "fazt",
      "fazt.js",
    ]);
    ok(await install("/ok", "p", ...key));
    await Deno.stat(`${work}/p/lib/fazt.old/fazt.js`); // the previous install, kept once

    const nothing = async (prefix: string) =>
      await assert.rejects(Deno.stat(`${work}/${prefix}/lib/fazt`), Deno.errors.NotFound);
    refused(
      await install("/wrong-key", "q", ...key),
      /does not carry a valid signature.*nothing installed/,
    );
    // Without --public-key, fazt's own release key is the one: this test's key is not it.
    refused(await install("/ok", "q"), /does not carry a valid signature/);
    refused(
      await install("/tampered", "q", ...key),
      /does not match its SHA-256 in SHA256SUMS: nothing installed/,
    );
    refused(await install("/unsigned", "q", ...key), /cannot download .*SHA256SUMS\.sig/);
    refused(await install("/ok", "q", ...key, "--target", "windows-x64"), /unknown target/);
    refused(await install("/none", "q", ...key), /cannot download .*\/none\/SHA256SUMS/);
    refused(
      await run(
        "/bin/sh",
        [script, "--base-url", "http://example.com/r", "--prefix", `${work}/q`],
        env,
      ),
      /must use https:\/\//,
    );
    await nothing("q");

    const unchecked = ok(await install("/unsigned", "u", "--skip-signature"));
    assert.match(unchecked.stdout, /warning: --skip-signature: SHA256SUMS is NOT checked/);
    assert.match(ok(await run(`${work}/u/bin/fazt`, ["--version"], env)).stdout, /^fazt 0\.1\.1 /);
  } finally {
    await host.close();
    await Deno.remove(work, { recursive: true });
  }
});
