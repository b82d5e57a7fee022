/**
 * The Deno runtime a release archive carries: the full `deno` executable
 * that npm publishes per platform (`@deno/linux-x64-glibc`, …), pinned to
 * one version with the registry's SHA-512 integrity written here, fetched
 * once into a cache outside the repository and checked on every use.
 * @module
 */
import { findInTar } from "../lib/tar.ts";
import { type ReleaseTarget, releaseTarget, releaseTargetOf } from "../lib/release_target.ts";

/** The Deno version in every archive (and the one that should bundle it). */
export const DENO_RUNTIME_VERSION = "2.9.6";

/** npm package and `dist.integrity` of each target's runtime (`npm view <pkg>@<v> dist.integrity`). */
const PACKAGES: Record<string, { name: string; integrity: string }> = {
  "linux-x64": {
    name: "@deno/linux-x64-glibc",
    integrity:
      "sha512-3md4TKLCuzsLDmfOoC5KN7NAZaxSVkMgm64vg6foD00JBADCpYS2/5QqXfzgnP5ZQz3iLP9vBQJtEgc116OAoQ==",
  },
  "linux-arm64": {
    name: "@deno/linux-arm64-glibc",
    integrity:
      "sha512-poqhoH9B3nYloigEMPT5t8HY+wBeiuea1An5Q7fqgJzP0SYmWsoS/oUnWO/pEiA4ofzIBy1Elt/in58xKtxEoQ==",
  },
  "darwin-x64": {
    name: "@deno/darwin-x64",
    integrity:
      "sha512-tPi3CWPRdjW1MaWlvWjORE7Ass5SADdWdj1BF1Q1PEdzi+5u/mC5YhmZzniMiPr81PpaFeqjXaLAsfb8lFsZ0Q==",
  },
  "darwin-arm64": {
    name: "@deno/darwin-arm64",
    integrity:
      "sha512-V8uO1Aolrl/yvdMb5lOtgtigs8YuZBjrOrgviVMiYkQ0swymFfzkae1wZak4Xi24t7vf7d/eiMb/7ryjjVm+tg==",
  },
  "windows-x64": {
    name: "@deno/win32-x64",
    integrity:
      "sha512-qRGnmVz/Ea6UWPht/S3xFRK17UZ/ls38DSVfgGB17fpASLxPkksqzWUI/BzL9YYoOknYzfc94mySGyInZu/JXw==",
  },
};

/** The largest runtime accepted from a package (it is ~100 MB). */
const MAX_RUNTIME_BYTES = 400 * 1024 * 1024;

export interface RuntimeOptions {
  /** Where downloaded packages are kept (default: `releaseCacheDir()`). */
  cacheDir?: string;
  /** The npm registry (default: `$NPM_CONFIG_REGISTRY` or registry.npmjs.org). */
  registry?: string;
  log?: (message: string) => void;
}

/** `$FAZT_RELEASE_CACHE`, else `fazt-release` in the user's cache folder. */
export function releaseCacheDir(): string {
  const env = (name: string) => Deno.env.get(name) || undefined;
  const explicit = env("FAZT_RELEASE_CACHE");
  if (explicit) return explicit;
  const base = env("XDG_CACHE_HOME") ??
    (Deno.build.os === "windows" ? env("LOCALAPPDATA") : undefined) ??
    `${env("HOME") ?? env("USERPROFILE") ?? "."}/.cache`;
  return `${base}/fazt-release`;
}

function registryUrl(explicit?: string): string {
  const url = explicit ?? Deno.env.get("NPM_CONFIG_REGISTRY") ??
    Deno.env.get("npm_config_registry") ??
    "https://registry.npmjs.org/";
  return url.endsWith("/") ? url : `${url}/`;
}

async function integrityOf(bytes: Uint8Array<ArrayBuffer>): Promise<string> {
  return `sha512-${new Uint8Array(await crypto.subtle.digest("SHA-512", bytes)).toBase64()}`;
}

/** The package tarball, from the cache or the registry, checked against its pinned integrity. */
async function packageTarball(target: ReleaseTarget, opts: RuntimeOptions): Promise<Uint8Array> {
  const pkg = PACKAGES[target.id];
  if (!pkg) throw new Error(`no Deno runtime is pinned for ${target.id}`);
  const file = `${pkg.name.replace("/", "+")}-${DENO_RUNTIME_VERSION}.tgz`;
  const dir = opts.cacheDir ?? releaseCacheDir();
  const cached = await Deno.readFile(`${dir}/${file}`).catch(() => undefined);
  if (cached && await integrityOf(cached) === pkg.integrity) return cached;
  if (cached) opts.log?.(`the cached ${file} does not match its integrity: fetching it again`);

  const base = pkg.name.split("/")[1];
  const url = `${registryUrl(opts.registry)}${pkg.name}/-/${base}-${DENO_RUNTIME_VERSION}.tgz`;
  opts.log?.(`fetching ${pkg.name}@${DENO_RUNTIME_VERSION} from ${url}`);
  let res: Response;
  try {
    res = await fetch(url, { signal: AbortSignal.timeout(10 * 60_000) });
  } catch (err) {
    throw new Error(`cannot fetch ${url}: ${(err as Error).message}`);
  }
  if (!res.ok) {
    await res.body?.cancel();
    throw new Error(`${url} answered ${res.status}`);
  }
  const bytes = new Uint8Array(await res.arrayBuffer());
  if (await integrityOf(bytes) !== pkg.integrity) {
    throw new Error(
      `${pkg.name}@${DENO_RUNTIME_VERSION} from ${url} does not match its pinned integrity: refused`,
    );
  }
  await Deno.mkdir(dir, { recursive: true });
  // Written aside and renamed: builds running side by side never read half a file.
  const tmp = `${dir}/.${file}.${crypto.randomUUID()}`;
  await Deno.writeFile(tmp, bytes);
  await Deno.rename(tmp, `${dir}/${file}`);
  return bytes;
}

/** The `deno` executable for `target`, checked. */
export async function denoRuntime(
  target: ReleaseTarget,
  opts: RuntimeOptions = {},
): Promise<Uint8Array<ArrayBuffer>> {
  const tgz = await packageTarball(target, opts);
  const stream = new Blob([tgz as Uint8Array<ArrayBuffer>]).stream()
    .pipeThrough(new DecompressionStream("gzip"));
  const exe = await findInTar(stream, `package/${target.runtime}`, MAX_RUNTIME_BYTES);
  if (!exe) throw new Error(`${PACKAGES[target.id].name} has no ${target.runtime}`);
  return exe;
}

// `deno run -A release/deno_runtime.ts [target…]`: fills the cache (CI does,
// before the release tests run in parallel).
if (import.meta.main) {
  const targets = Deno.args.length ? Deno.args.map((id) => releaseTarget(id)) : [releaseTargetOf()];
  for (const target of targets) {
    if (!target) {
      console.error(`error: no release target for ${Deno.args.join(" ") || Deno.build.target}`);
      Deno.exit(2);
    }
    try {
      const exe = await denoRuntime(target, { log: (line) => console.log(line) });
      console.log(
        `${target.id}: deno ${DENO_RUNTIME_VERSION}, ${exe.byteLength} bytes, cached in ${releaseCacheDir()}`,
      );
    } catch (err) {
      console.error(`error: ${(err as Error).message}`);
      Deno.exit(1);
    }
  }
}
