/**
 * Releases for the release tests, built by the release task's own code
 * (`buildRelease`) for this machine's target and signed with a throw-away
 * key: fazt as this checkout is (the installed one), one reporting 0.1.1
 * (the upgrade) and one reporting 0.1.2 that cannot serve (rolled back;
 * its archive has a stand-in for the runtime, which an upgrade never takes).
 * Built once per test file; the Deno runtime comes from the shared release
 * cache (`$FAZT_RELEASE_CACHE` or ~/.cache/fazt-release), fetched from npm
 * once per machine.
 */
import assert from "node:assert/strict";
import { generateSigningKey, importSigningKey, publicKeyPem, signBytes } from "../lib/ed25519.ts";
import { artifactStatement, type ReleaseArtifact, type ReleaseFeed } from "../lib/release_feed.ts";
import { type ReleaseTarget, releaseTargetOf } from "../lib/release_target.ts";
import { buildBundle } from "../release/build.ts";
import { buildRelease } from "../release/release.ts";
import { buildArchive } from "../release/archive.ts";
import { sha256Hex } from "../lib/secrets.ts";
import { denoRuntime } from "../release/deno_runtime.ts";
import { VERSION } from "../version.ts";

export const TARGET: ReleaseTarget = releaseTargetOf()!;

export interface TestKey {
  pkcs8Base64: string;
  publicKeyHex: string;
  pem: string;
}

export async function testKey(): Promise<TestKey> {
  const k = await generateSigningKey();
  return { ...k, pem: publicKeyPem(k.publicKeyHex) };
}

export interface BuiltRelease {
  dir: string;
  feed: ReleaseFeed;
  archive: ReleaseArtifact;
  archivePath: string;
  /** The archive's program, `fazt.js`. */
  bundle: Uint8Array;
}

export interface Releases {
  root: string;
  key: TestKey;
  current: BuiltRelease;
  next: BuiltRelease;
  broken: BuiltRelease;
  log: string[];
}

let built: Promise<Releases> | undefined;

/** The three releases, built on first use (one temp folder for the test process). */
export function releases(): Promise<Releases> {
  return built ??= build();
}

async function build(): Promise<Releases> {
  assert.ok(TARGET, `fazt is not released for ${Deno.build.os}/${Deno.build.arch}`);
  const root = await Deno.makeTempDir({ prefix: "fazt-releases-" });
  // Removed when the test process ends (the folder is ~150 MB).
  globalThis.addEventListener("unload", () => {
    try {
      Deno.removeSync(root, { recursive: true });
    } catch {
      // gone
    }
  });
  const key = await testKey();
  await buildBundle(`${root}/fazt.js`);
  const source = await Deno.readTextFile(`${root}/fazt.js`);
  const marker = `VERSION = "${VERSION}"`;
  assert.equal(source.split(marker).length, 2, "the bundle holds the version once");
  const variant = async (version: string, prefix = "") => {
    const path = `${root}/fazt-${version}.js`;
    await Deno.writeTextFile(path, prefix + source.replace(marker, `VERSION = "${version}"`));
    return path;
  };
  const log: string[] = [];
  let runtime: Promise<Uint8Array> | undefined;
  const one = async (version: string, bundle: string, standIn = false): Promise<BuiltRelease> => {
    const dir = `${root}/${version}`;
    const { feed } = await buildRelease({
      out: dir,
      targets: [TARGET.id],
      version,
      bundle,
      key: key.pkcs8Base64,
      compile: "never",
      level: 1,
      // Fetched (or read from the cache) and checked once for all.
      runtime: (target) =>
        standIn
          ? Promise.resolve(new TextEncoder().encode("#!/bin/sh\nexit 1\n"))
          : runtime ??= denoRuntime(target, { log: (line) => log.push(line) }),
      date: new Date("2026-01-02T03:04:05Z"),
      log: (line) => log.push(line),
    });
    const archive = feed.targets[TARGET.id];
    return {
      dir,
      feed,
      archive,
      archivePath: `${dir}/${archive.url}`,
      bundle: await Deno.readFile(bundle),
    };
  };
  return {
    root,
    key,
    log,
    current: await one(VERSION, `${root}/fazt.js`),
    next: await one("0.1.1", await variant("0.1.1")),
    // Reports its version, then cannot serve. A node takes only fazt.js out of an
    // archive, so this one carries a stand-in runtime (a smaller, faster build).
    broken: await one(
      "0.1.2",
      await variant("0.1.2", 'if (Deno.args[0] === "server") Deno.exit(3);\n'),
      true,
    ),
  };
}

/** A feed for `version` listing `artifact` (changed by `change`), signed with `key` after the change. */
export async function signedFeed(
  version: string,
  artifact: ReleaseArtifact,
  opts: { key?: TestKey; change?: Partial<ReleaseArtifact>; targetId?: string } = {},
): Promise<ReleaseFeed> {
  const a: ReleaseArtifact = { ...artifact, ...opts.change };
  if (!opts.change || !("signature" in opts.change)) delete a.signature;
  if (opts.key) {
    const k = await importSigningKey(opts.key.pkcs8Base64);
    a.signature = (await signBytes(k, artifactStatement(version, a))).toBase64();
  }
  return {
    format: 1,
    name: "fazt",
    version,
    date: "2026-01-02T03:04:05.000Z",
    targets: { [opts.targetId ?? TARGET.id]: a },
    binaries: {},
  };
}

/**
 * An archive as the release task lays it out, labelled `version`, holding
 * `bundle` and a stand-in runtime: small, for the cases a node refuses
 * after downloading (it takes only fazt.js out of an archive).
 */
export async function smallArchive(
  version: string,
  bundle: Uint8Array,
): Promise<{ bytes: Uint8Array; artifact: ReleaseArtifact }> {
  const { name, bytes } = await buildArchive({
    version,
    target: TARGET,
    bundle,
    runtime: new TextEncoder().encode("#!/bin/sh\nexit 1\n"),
    mtime: 0,
  });
  return {
    bytes,
    artifact: {
      target: TARGET.id,
      kind: "archive",
      url: name,
      size: bytes.byteLength,
      sha256: sha256Hex(bytes),
      runtime: Deno.version.deno,
    },
  };
}

/** A static file server on loopback: what a release host (or a hostile one) serves. */
export class ReleaseServer {
  readonly files = new Map<string, Uint8Array | string>();
  /** Paths requested, in order. */
  readonly requests: string[] = [];
  #server: Deno.HttpServer<Deno.NetAddr>;

  constructor() {
    this.#server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, (req) => {
      const path = decodeURIComponent(new URL(req.url).pathname);
      this.requests.push(path);
      const body = this.files.get(path);
      if (body === undefined) return new Response("not found", { status: 404 });
      return new Response(body as BodyInit);
    });
  }

  get base(): string {
    return `http://127.0.0.1:${this.#server.addr.port}`;
  }

  url(path: string): string {
    return `${this.base}${path}`;
  }

  /** Serves every file of `dir` under `prefix/`. */
  async serveDir(prefix: string, dir: string): Promise<void> {
    for await (const e of Deno.readDir(dir)) {
      if (e.isFile) this.files.set(`${prefix}/${e.name}`, await Deno.readFile(`${dir}/${e.name}`));
    }
  }

  json(path: string, value: unknown): void {
    this.files.set(path, JSON.stringify(value));
  }

  async close(): Promise<void> {
    await this.#server.shutdown();
  }
}
