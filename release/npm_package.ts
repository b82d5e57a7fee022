/**
 * npm package tarballs a release carries files from (Deno's runtime,
 * esbuild's executable): pinned to a version and the registry's SHA-512
 * integrity, fetched once into a cache outside the repository and checked on
 * every use.
 * @module
 */
import { findInTar } from "../lib/tar.ts";

export interface PackageOptions {
  /** Where downloaded packages are kept (default: `releaseCacheDir()`). */
  cacheDir?: string;
  /** The npm registry (default: `$NPM_CONFIG_REGISTRY` or registry.npmjs.org). */
  registry?: string;
  log?: (message: string) => void;
}

/** A package pinned by version and `dist.integrity`. */
export interface PinnedPackage {
  name: string;
  version: string;
  integrity: string;
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
export async function packageTarball(
  pkg: PinnedPackage,
  opts: PackageOptions,
): Promise<Uint8Array<ArrayBuffer>> {
  const file = `${pkg.name.replace("/", "+")}-${pkg.version}.tgz`;
  const dir = opts.cacheDir ?? releaseCacheDir();
  const cached = await Deno.readFile(`${dir}/${file}`).catch(() => undefined);
  if (cached && await integrityOf(cached) === pkg.integrity) return cached;
  if (cached) opts.log?.(`the cached ${file} does not match its integrity: fetching it again`);

  const base = pkg.name.split("/").pop();
  const url = `${registryUrl(opts.registry)}${pkg.name}/-/${base}-${pkg.version}.tgz`;
  opts.log?.(`fetching ${pkg.name}@${pkg.version} from ${url}`);
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
      `${pkg.name}@${pkg.version} from ${url} does not match its pinned integrity: refused`,
    );
  }
  await Deno.mkdir(dir, { recursive: true });
  // Written aside and renamed: builds running side by side never read half a file.
  const tmp = `${dir}/.${file}.${crypto.randomUUID()}`;
  await Deno.writeFile(tmp, bytes);
  await Deno.rename(tmp, `${dir}/${file}`);
  return bytes;
}

/** One file out of a package tarball (`package/...`), at most `maxBytes`. */
export async function packageFile(
  tgz: Uint8Array<ArrayBuffer>,
  member: string,
  maxBytes: number,
): Promise<Uint8Array<ArrayBuffer> | undefined> {
  const stream = new Blob([tgz]).stream().pipeThrough(new DecompressionStream("gzip"));
  return await findInTar(stream, member, maxBytes);
}
