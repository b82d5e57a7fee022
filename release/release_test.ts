/**
 * The release task's outputs, fast: a stand-in bundle (it only has to say
 * its version) and a stand-in runtime. Real archives, unpacked and run,
 * are in tests/release_test.ts.
 */
import assert from "node:assert/strict";
import { generateSigningKey, importSigningKey, verifySignature } from "../lib/ed25519.ts";
import { BUNDLE_RUN_FLAGS, SERVER_RUN_FLAGS } from "../lib/program.ts";
import { artifactStatement, parseReleaseFeed } from "../lib/release_feed.ts";
import { releaseTarget } from "../lib/release_target.ts";
import { sha256Hex } from "../lib/secrets.ts";
import { loadZip } from "../lib/zip.ts";
import { denoRuntime } from "./deno_runtime.ts";
import { esbuildExecutable } from "./esbuild_executable.ts";
import { posixLauncher, windowsLauncher } from "./launcher.ts";
import { buildRelease, type ReleaseOptions } from "./release.ts";

const RUNTIME = new TextEncoder().encode("#!/bin/sh\necho stand-in runtime\n");
const ESBUILD = new TextEncoder().encode("#!/bin/sh\necho stand-in esbuild\n");

async function withDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "fazt-release-unit-" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** A "bundle" that answers `--version` like fazt does. */
async function fakeBundle(dir: string, version: string): Promise<string> {
  const path = `${dir}/fazt-${version}.js`;
  await Deno.writeTextFile(path, `console.log("fazt ${version} (deno x, linux/x86_64)");\n`);
  return path;
}

async function build(dir: string, extra: Partial<ReleaseOptions>) {
  const log: string[] = [];
  const result = await buildRelease({
    out: `${dir}/dist`,
    targets: ["linux-x64", "windows-x64"],
    version: "9.9.9",
    bundle: await fakeBundle(dir, "9.9.9"),
    key: "",
    compile: "never",
    level: 1,
    date: new Date("2026-05-06T07:08:09Z"),
    runtime: () => Promise.resolve(RUNTIME),
    esbuild: (t) =>
      Promise.resolve({ file: t.os === "windows" ? "esbuild.exe" : "esbuild", bytes: ESBUILD }),
    log: (line) => log.push(line),
    ...extra,
  });
  return { result, log };
}

async function tar(args: string[], cwd: string): Promise<string> {
  const out = await new Deno.Command("tar", { args, cwd, stdout: "piped", stderr: "piped" })
    .output();
  assert.ok(out.success, new TextDecoder().decode(out.stderr));
  return new TextDecoder().decode(out.stdout);
}

Deno.test("an unsigned release: archives, SHA256SUMS, release.json and install.sh, and it says so", () =>
  withDir(async (dir) => {
    await Deno.mkdir(`${dir}/dist`);
    await Deno.writeTextFile(`${dir}/dist/fazt-0.0.1-linux-x64.tar.gz`, "stale");
    await Deno.writeTextFile(`${dir}/dist/SHA256SUMS.sig`, "stale");
    await Deno.writeTextFile(`${dir}/dist/notes.txt`, "not ours");
    const { result, log } = await build(dir, {});
    assert.equal(result.signed, false);
    assert.ok(log.some((l) => /^unsigned: FAZT_RELEASE_KEY is not set/.test(l)), log.join("\n"));
    const names = (await Array.fromAsync(Deno.readDir(`${dir}/dist`))).map((e) => e.name).sort();
    assert.deepEqual(names, [
      "SHA256SUMS",
      "fazt-9.9.9-linux-x64.tar.gz",
      "fazt-9.9.9-windows-x64.zip",
      "install.sh",
      "notes.txt",
      "release.json",
    ]);
    assert.equal((await Deno.stat(`${dir}/dist/install.sh`)).mode! & 0o111, 0o111);

    const sums = await Deno.readTextFile(`${dir}/dist/SHA256SUMS`);
    const lines = sums.trimEnd().split("\n");
    assert.equal(lines.length, 2);
    for (const line of lines) {
      const [sum, name] = line.split("  ");
      assert.equal(sum, sha256Hex(await Deno.readFile(`${dir}/dist/${name}`)), name);
    }
    const feed = parseReleaseFeed(JSON.parse(await Deno.readTextFile(`${dir}/dist/release.json`)));
    assert.deepEqual(feed, result.feed);
    assert.equal(feed.version, "9.9.9");
    assert.equal(feed.date, "2026-05-06T07:08:09.000Z");
    assert.deepEqual(Object.keys(feed.targets).sort(), ["linux-x64", "windows-x64"]);
    const linux = feed.targets["linux-x64"];
    assert.equal(linux.url, "fazt-9.9.9-linux-x64.tar.gz", "relative to release.json");
    assert.equal(linux.signature, undefined);
    assert.equal(linux.size, (await Deno.stat(`${dir}/dist/${linux.url}`)).size);
    assert.deepEqual(feed.binaries, {});

    const listing = await tar(["-tzvf", `dist/${linux.url}`], dir);
    for (
      const [mode, path] of [
        ["drwxr-xr-x", "fazt-9.9.9-linux-x64/"],
        ["-rwxr-xr-x", "fazt-9.9.9-linux-x64/fazt"],
        ["-rw-r--r--", "fazt-9.9.9-linux-x64/fazt.js"],
        ["-rwxr-xr-x", "fazt-9.9.9-linux-x64/deno"],
        ["-rw-r--r--", "fazt-9.9.9-linux-x64/README.txt"],
        ["-rw-r--r--", "fazt-9.9.9-linux-x64/LICENSE"],
        ["-rw-r--r--", "fazt-9.9.9-linux-x64/LICENSE-deno.txt"],
        ["-rwxr-xr-x", "fazt-9.9.9-linux-x64/esbuild"],
        ["-rw-r--r--", "fazt-9.9.9-linux-x64/LICENSE-esbuild.txt"],
      ]
    ) assert.match(listing, new RegExp(`^${mode} .* ${path.replaceAll(".", "\\.")}$`, "m"));
    assert.equal(listing.trimEnd().split("\n").length, 9);
    assert.match(
      await tar(["-xzOf", `dist/${linux.url}`, "fazt-9.9.9-linux-x64/LICENSE"], dir),
      /^MIT License/,
    );
    await tar(["-xzf", `dist/${linux.url}`], dir);
    const top = `${dir}/fazt-9.9.9-linux-x64`;
    assert.equal(
      await Deno.readTextFile(`${top}/fazt`),
      posixLauncher("9.9.9", releaseTarget("linux-x64")!),
    );
    assert.deepEqual(await Deno.readFile(`${top}/deno`), RUNTIME);
    assert.deepEqual(await Deno.readFile(`${top}/esbuild`), ESBUILD);
    assert.match(await Deno.readTextFile(`${top}/LICENSE-esbuild.txt`), /Evan Wallace/);

    const { ZipReader, Uint8ArrayReader, TextWriter } = await loadZip();
    const zip = new ZipReader(
      new Uint8ArrayReader(await Deno.readFile(`${dir}/dist/fazt-9.9.9-windows-x64.zip`)),
    );
    const entries = await zip.getEntries();
    assert.deepEqual(entries.map((e) => e.filename).sort(), [
      "fazt-9.9.9-windows-x64/LICENSE",
      "fazt-9.9.9-windows-x64/LICENSE-deno.txt",
      "fazt-9.9.9-windows-x64/LICENSE-esbuild.txt",
      "fazt-9.9.9-windows-x64/README.txt",
      "fazt-9.9.9-windows-x64/deno.exe",
      "fazt-9.9.9-windows-x64/esbuild.exe",
      "fazt-9.9.9-windows-x64/fazt.cmd",
      "fazt-9.9.9-windows-x64/fazt.js",
    ]);
    const cmdEntry = entries.find((e) => e.filename.endsWith("fazt.cmd"));
    assert.ok(cmdEntry && !cmdEntry.directory);
    const cmd = await cmdEntry.getData(new TextWriter());
    assert.equal(cmd, windowsLauncher("9.9.9", releaseTarget("windows-x64")!));
    await zip.close();
  }));

Deno.test("a signed release: SHA256SUMS.sig and every artifact's signature verify with the key", () =>
  withDir(async (dir) => {
    const key = await generateSigningKey();
    const { result, log } = await build(dir, {
      key: key.pkcs8Base64,
      baseUrl: "https://example.com/r/1/",
    });
    assert.equal(result.signed, true);
    assert.ok(!log.some((l) => l.startsWith("unsigned")));
    const sums = await Deno.readFile(`${dir}/dist/SHA256SUMS`);
    const sig = await Deno.readFile(`${dir}/dist/SHA256SUMS.sig`);
    assert.ok(await verifySignature(key.publicKeyHex, sig, sums));
    const other = await importSigningKey((await generateSigningKey()).pkcs8Base64);
    assert.equal(await verifySignature(other.publicKeyHex, sig, sums), false);
    for (const a of Object.values(result.feed.targets)) {
      assert.ok(a.url.startsWith("https://example.com/r/1/fazt-9.9.9-"), a.url);
      const ok = await verifySignature(
        key.publicKeyHex,
        Uint8Array.fromBase64(a.signature!),
        artifactStatement("9.9.9", a),
      );
      assert.ok(ok, `${a.target} is signed`);
    }
  }));

Deno.test("the release task refuses a bundle of another version, a bad key and an unknown target", () =>
  withDir(async (dir) => {
    await assert.rejects(
      build(dir, { bundle: await fakeBundle(dir, "9.9.8") }),
      /the bundle reports fazt 9\.9\.8, not the 9\.9\.9 being released/,
    );
    await assert.rejects(build(dir, { key: "bm90IGEga2V5" }), /FAZT_RELEASE_KEY: .*not an Ed25519/);
    await assert.rejects(build(dir, { targets: ["plan9-x64"] }), /unknown target 'plan9-x64'/);
  }));

Deno.test("without a reachable denort host, single binaries are skipped in one line", () =>
  withDir(async (dir) => {
    const { result, log } = await build(dir, {
      targets: ["linux-x64"],
      compile: "auto",
      denortHost: "http://127.0.0.1:9",
    });
    assert.deepEqual(result.feed.binaries, {});
    const lines = log.filter((l) => l.startsWith("single binaries"));
    assert.equal(lines.length, 1);
    assert.match(lines[0], /skipped, deno compile cannot download its runtime \(denort\)/);
  }));

Deno.test("the launchers run exactly the flags a bundled node restarts with", () => {
  assert.deepEqual(BUNDLE_RUN_FLAGS, ["--no-config", ...SERVER_RUN_FLAGS]);
  const flags = BUNDLE_RUN_FLAGS.join(" ");
  const posix = posixLauncher("1.2.3", releaseTarget("darwin-arm64")!);
  assert.ok(posix.includes(`exec "$dir/deno" run ${flags} "$dir/fazt.js" "$@"\n`));
  const cmd = windowsLauncher("1.2.3", releaseTarget("windows-x64")!);
  assert.ok(cmd.includes(`"%~dp0deno.exe" run ${flags} "%~dp0fazt.js" %*\r\n`));
  assert.ok(!/[^\r]\n/.test(cmd), "CRLF line ends");
});

Deno.test("the POSIX launcher finds the files beside it, also through symlinks", () =>
  withDir(async (dir) => {
    const app = `${dir}/lib/fazt-1.2.3-linux-x64`;
    await Deno.mkdir(app, { recursive: true });
    await Deno.mkdir(`${dir}/bin`);
    await Deno.writeTextFile(`${app}/fazt`, posixLauncher("1.2.3", releaseTarget("linux-x64")!));
    // A stand-in runtime that shows how it was called.
    await Deno.writeTextFile(`${app}/deno`, '#!/bin/sh\necho "$0|$DENO_NO_UPDATE_CHECK|$*"\n');
    await Deno.chmod(`${app}/fazt`, 0o755);
    await Deno.chmod(`${app}/deno`, 0o755);
    await Deno.symlink(`${app}/fazt`, `${dir}/bin/abs`);
    await Deno.symlink("../lib/fazt-1.2.3-linux-x64/fazt", `${dir}/bin/rel`);
    await Deno.symlink("rel", `${dir}/bin/chain`);
    const path = Deno.env.get("PATH") ?? "/usr/bin:/bin";
    for (
      const [cmd, cwd] of [[`${app}/fazt`, dir], [`./fazt`, app], ["bin/abs", dir], [
        "bin/rel",
        dir,
      ], ["bin/chain", dir]]
    ) {
      const out = await new Deno.Command(cmd, {
        args: ["server", "start", "--db", "a b.db"],
        cwd,
        env: { PATH: path },
        clearEnv: true,
        stdout: "piped",
      }).output();
      const [runtime, noUpdate, args] = new TextDecoder().decode(out.stdout).trim().split("|");
      assert.equal(await Deno.realPath(runtime), await Deno.realPath(`${app}/deno`), cmd);
      assert.equal(noUpdate, "1");
      assert.ok(args.startsWith(`run ${BUNDLE_RUN_FLAGS.join(" ")} `), args);
      assert.ok(args.endsWith("fazt.js server start --db a b.db"), args);
    }
  }));

Deno.test("an esbuild package that does not match its pinned integrity is refused", () =>
  withDir(async (cache) => {
    const requests: string[] = [];
    const registry = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, (req) => {
      requests.push(new URL(req.url).pathname);
      return new Response(new Uint8Array(1000));
    });
    try {
      const opts = { cacheDir: cache, registry: `http://127.0.0.1:${registry.addr.port}` };
      await assert.rejects(
        esbuildExecutable(releaseTarget("darwin-arm64")!, opts),
        /@esbuild\/darwin-arm64@0\.25\.12 .* does not match its pinned integrity: refused/,
      );
      assert.deepEqual(requests, ["/@esbuild/darwin-arm64/-/darwin-arm64-0.25.12.tgz"]);
      assert.deepEqual([...Deno.readDirSync(cache)], [], "nothing cached");
    } finally {
      await registry.shutdown();
    }
  }));

Deno.test("a runtime package that does not match its pinned integrity is refused", () =>
  withDir(async (cache) => {
    const requests: string[] = [];
    const registry = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, (req) => {
      requests.push(new URL(req.url).pathname);
      return new Response(new Uint8Array(1000));
    });
    try {
      const target = releaseTarget("linux-x64")!;
      const opts = { cacheDir: cache, registry: `http://127.0.0.1:${registry.addr.port}` };
      await assert.rejects(
        denoRuntime(target, opts),
        /does not match its pinned integrity: refused/,
      );
      assert.deepEqual(requests, ["/@deno/linux-x64-glibc/-/linux-x64-glibc-2.9.6.tgz"]);
      assert.deepEqual([...Deno.readDirSync(cache)], [], "nothing cached");

      // A damaged cached copy is not used: it is fetched again (and refused again here).
      await Deno.writeFile(`${cache}/@deno+linux-x64-glibc-2.9.6.tgz`, new Uint8Array(10));
      const log: string[] = [];
      await assert.rejects(denoRuntime(target, { ...opts, log: (l) => log.push(l) }), /refused/);
      assert.ok(log.some((l) => /cached .* does not match its integrity/.test(l)));
      assert.equal(requests.length, 2);
    } finally {
      await registry.shutdown();
    }
  }));
