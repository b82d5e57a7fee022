/**
 * `deno task release`: everything a release publishes, in `dist/`:
 *
 *   fazt-<version>-<target>.tar.gz|.zip   Deno runtime + fazt.js + launcher + esbuild, per target
 *   fazt-<version>-<target>[.exe]         single binaries, only where `deno compile` can
 *                                         fetch its runtime (denort)
 *   SHA256SUMS, SHA256SUMS.sig            checksums, and their Ed25519 signature (raw)
 *   release.json                          the feed nodes upgrade from (`fazt upgrade`)
 *   install.sh                            the installer, for the same place
 *
 * The signing key is `FAZT_RELEASE_KEY` (base64 PKCS#8); without it the task
 * says so and the release is unsigned, which nodes and install.sh refuse.
 *
 *   deno task release [--target ID]... [--out DIR] [--base-url URL] [--no-compile]
 * @module
 */
import { parseArgs } from "node:util";
import { importSigningKey, signBytes, type SigningKey } from "../lib/ed25519.ts";
import { probeVersion, SERVER_RUN_FLAGS } from "../lib/program.ts";
import {
  artifactStatement,
  RELEASE_FEED_FORMAT,
  type ReleaseArtifact,
  type ReleaseFeed,
} from "../lib/release_feed.ts";
import {
  binaryName,
  RELEASE_TARGETS,
  type ReleaseTarget,
  releaseTarget,
} from "../lib/release_target.ts";
import { sha256Hex } from "../lib/secrets.ts";
import { VERSION } from "../version.ts";
import { buildArchive } from "./archive.ts";
import { buildBundle } from "./build.ts";
import { DENO_RUNTIME_VERSION, denoRuntime } from "./deno_runtime.ts";
import { esbuildExecutable } from "./esbuild_executable.ts";

const ROOT = new URL("..", import.meta.url).pathname;

export interface ReleaseOptions {
  /** The output folder (its earlier release files are replaced). */
  out: string;
  /** Target ids (default: all). */
  targets?: string[];
  /** The version being released: what the bundle must report (default: this checkout's). */
  version?: string;
  /** A bundle already made (tests); default: `deno bundle` of this checkout. */
  bundle?: string;
  /** Base64 PKCS#8 Ed25519 private key (default: `$FAZT_RELEASE_KEY`); none: unsigned. */
  key?: string;
  /** Where the files will be served from; default: URLs relative to release.json. */
  baseUrl?: string;
  /** The release date (default: `$SOURCE_DATE_EPOCH`, else now). */
  date?: Date;
  /** gzip level of the archives (tests use 1: faster, ~20 % larger). */
  level?: number;
  /** `auto`: try `deno compile` when its runtime download host answers. */
  compile?: "auto" | "never";
  /** That host (default https://dl.deno.land). */
  denortHost?: string;
  cacheDir?: string;
  registry?: string;
  /** Where each target's Deno runtime comes from (default: `denoRuntime`, cached). */
  runtime?: (target: ReleaseTarget) => Promise<Uint8Array>;
  /** Where each target's esbuild executable comes from (default: `esbuildExecutable`, cached). */
  esbuild?: (target: ReleaseTarget) => Promise<{ file: string; bytes: Uint8Array }>;
  log?: (line: string) => void;
}

export interface ReleaseResult {
  feed: ReleaseFeed;
  signed: boolean;
  /** The files written, by name. */
  files: string[];
}

// What an earlier run left: replaced, so SHA256SUMS and the folder always agree.
const STALE = /^(fazt-\d+\.\d+\.\d+.*|SHA256SUMS(\.sig)?|release\.json|install\.sh)$/;

function releaseDate(opts: ReleaseOptions): Date {
  if (opts.date) return opts.date;
  const epoch = Deno.env.get("SOURCE_DATE_EPOCH");
  return epoch ? new Date(Number(epoch) * 1000) : new Date();
}

async function signingKey(opts: ReleaseOptions): Promise<SigningKey | undefined> {
  const raw = opts.key ?? Deno.env.get("FAZT_RELEASE_KEY");
  if (!raw) return undefined;
  try {
    return await importSigningKey(raw);
  } catch (err) {
    throw new Error(`FAZT_RELEASE_KEY: ${(err as Error).message}`);
  }
}

const DENORT_HOST = "https://dl.deno.land";

/** Whether the host `deno compile` fetches its runtime (denort) from answers from here. */
async function denortReachable(host: string): Promise<boolean> {
  try {
    const url = `${host}/release/v${Deno.version.deno}/denort-x86_64-unknown-linux-gnu.zip`;
    const res = await fetch(url, { method: "HEAD", signal: AbortSignal.timeout(5000) });
    await res.body?.cancel();
    return res.ok;
  } catch {
    return false;
  }
}

async function compileBinary(target: ReleaseTarget, out: string): Promise<string | undefined> {
  const run = await new Deno.Command(Deno.execPath(), {
    args: [
      "compile",
      "--quiet",
      ...SERVER_RUN_FLAGS,
      "--target",
      target.triple,
      "-o",
      out,
      `${ROOT}main.ts`,
    ],
    cwd: ROOT,
    stdout: "null",
    stderr: "piped",
  }).output();
  if (run.success) return undefined;
  return new TextDecoder().decode(run.stderr).trim().split("\n")[0];
}

function targetsOf(ids: string[] | undefined): ReleaseTarget[] {
  if (!ids?.length) return [...RELEASE_TARGETS];
  return ids.map((id) => {
    const t = releaseTarget(id);
    if (!t) {
      throw new Error(`unknown target '${id}': ${RELEASE_TARGETS.map((x) => x.id).join(", ")}`);
    }
    return t;
  });
}

export async function buildRelease(opts: ReleaseOptions): Promise<ReleaseResult> {
  const log = opts.log ?? (() => {});
  const version = opts.version ?? VERSION;
  const targets = targetsOf(opts.targets);
  const date = releaseDate(opts);
  const key = await signingKey(opts);
  if (Deno.version.deno !== DENO_RUNTIME_VERSION) {
    log(
      `warning: this is Deno ${Deno.version.deno}; the archives carry Deno ` +
        `${DENO_RUNTIME_VERSION}, which should also be what bundles them`,
    );
  }

  await Deno.mkdir(opts.out, { recursive: true });
  for await (const e of Deno.readDir(opts.out)) {
    if (e.isFile && STALE.test(e.name)) await Deno.remove(`${opts.out}/${e.name}`);
  }

  const work = await Deno.makeTempDir({ prefix: "fazt-release-" });
  try {
    let bundlePath = opts.bundle;
    if (!bundlePath) {
      bundlePath = `${work}/fazt.js`;
      await buildBundle(bundlePath);
    }
    const reported = await probeVersion("bundle", bundlePath);
    if (reported !== version) {
      throw new Error(`the bundle reports fazt ${reported}, not the ${version} being released`);
    }
    const bundle = await Deno.readFile(bundlePath);

    const sums: [string, string][] = [];
    const files: string[] = [];
    const artifact = async (
      name: string,
      bytes: Uint8Array,
      fields: Pick<ReleaseArtifact, "target" | "kind" | "runtime">,
    ): Promise<ReleaseArtifact> => {
      const sha256 = sha256Hex(bytes);
      sums.push([sha256, name]);
      files.push(name);
      const a: ReleaseArtifact = {
        ...fields,
        url: opts.baseUrl ? new URL(name, opts.baseUrl).href : name,
        size: bytes.byteLength,
        sha256,
      };
      if (key) a.signature = (await signBytes(key, artifactStatement(version, a))).toBase64();
      return a;
    };

    const archives: Record<string, ReleaseArtifact> = {};
    for (const target of targets) {
      const runtime = opts.runtime
        ? await opts.runtime(target)
        : await denoRuntime(target, { cacheDir: opts.cacheDir, registry: opts.registry, log });
      const esbuild = opts.esbuild ? await opts.esbuild(target) : await esbuildExecutable(target, {
        cacheDir: opts.cacheDir,
        registry: opts.registry,
        log,
      });
      const archive = await buildArchive({
        version,
        target,
        bundle,
        runtime,
        esbuild,
        mtime: Math.floor(date.getTime() / 1000),
        level: opts.level,
      });
      await Deno.writeFile(`${opts.out}/${archive.name}`, archive.bytes);
      archives[target.id] = await artifact(archive.name, archive.bytes, {
        target: target.id,
        kind: "archive",
        runtime: DENO_RUNTIME_VERSION,
      });
      log(`${archive.name}  ${archive.bytes.byteLength} bytes`);
    }

    const binaries: Record<string, ReleaseArtifact> = {};
    if (opts.compile !== "never") {
      if (!await denortReachable(opts.denortHost ?? DENORT_HOST)) {
        log(
          "single binaries: skipped, deno compile cannot download its runtime (denort) from " +
            "dl.deno.land here; the archives need none",
        );
      } else {
        for (const target of targets) {
          const name = binaryName(version, target);
          const why = await compileBinary(target, `${opts.out}/${name}`);
          if (why) {
            log(`single binary for ${target.id}: skipped, deno compile failed: ${why}`);
            continue;
          }
          const bytes = await Deno.readFile(`${opts.out}/${name}`);
          binaries[target.id] = await artifact(name, bytes, {
            target: target.id,
            kind: "binary",
            runtime: Deno.version.deno,
          });
          log(`${name}  ${bytes.byteLength} bytes`);
        }
      }
    }

    sums.sort((a, b) => a[1] < b[1] ? -1 : 1);
    const sumsText = new TextEncoder().encode(sums.map(([s, n]) => `${s}  ${n}\n`).join(""));
    await Deno.writeFile(`${opts.out}/SHA256SUMS`, sumsText);
    files.push("SHA256SUMS");
    if (key) {
      await Deno.writeFile(`${opts.out}/SHA256SUMS.sig`, await signBytes(key, sumsText));
      files.push("SHA256SUMS.sig");
    } else {
      log(
        "unsigned: FAZT_RELEASE_KEY is not set, so there is no SHA256SUMS.sig and no signatures " +
          "in release.json; nodes and install.sh refuse unsigned releases",
      );
    }

    const feed: ReleaseFeed = {
      format: RELEASE_FEED_FORMAT,
      name: "fazt",
      version,
      date: date.toISOString(),
      targets: archives,
      binaries,
    };
    await Deno.writeTextFile(`${opts.out}/release.json`, JSON.stringify(feed, null, 2) + "\n");
    await Deno.copyFile(`${ROOT}install.sh`, `${opts.out}/install.sh`);
    await Deno.chmod(`${opts.out}/install.sh`, 0o755);
    files.push("release.json", "install.sh");
    return { feed, signed: key !== undefined, files };
  } finally {
    await Deno.remove(work, { recursive: true });
  }
}

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      target: { type: "string", multiple: true },
      out: { type: "string", default: `${ROOT}dist` },
      "base-url": { type: "string" },
      "no-compile": { type: "boolean", default: false },
    },
  });
  try {
    const result = await buildRelease({
      out: values.out,
      targets: values.target,
      baseUrl: values["base-url"],
      compile: values["no-compile"] ? "never" : "auto",
      log: (line) => console.log(line),
    });
    console.log(
      `fazt ${result.feed.version}: ${result.files.length} files in ${values.out}` +
        (result.signed ? " (signed)" : " (UNSIGNED)"),
    );
  } catch (err) {
    console.error(`error: ${err instanceof Error ? err.message : err}`);
    Deno.exit(1);
  }
}
