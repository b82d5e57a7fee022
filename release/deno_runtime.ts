/**
 * The Deno runtime a release archive carries: the full `deno` executable
 * that npm publishes per platform (`@deno/linux-x64-glibc`, …), pinned to
 * one version with the registry's SHA-512 integrity written here, fetched
 * once into a cache outside the repository and checked on every use.
 * @module
 */
import { type ReleaseTarget, releaseTarget, releaseTargetOf } from "../lib/release_target.ts";
import {
  packageFile,
  type PackageOptions,
  packageTarball,
  releaseCacheDir,
} from "./npm_package.ts";

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

/** How the runtime's package is fetched (see `packageTarball`). */
export type RuntimeOptions = PackageOptions;

export { releaseCacheDir };

/** The `deno` executable for `target`, checked. */
export async function denoRuntime(
  target: ReleaseTarget,
  opts: RuntimeOptions = {},
): Promise<Uint8Array<ArrayBuffer>> {
  const pkg = PACKAGES[target.id];
  if (!pkg) throw new Error(`no Deno runtime is pinned for ${target.id}`);
  const tgz = await packageTarball({ ...pkg, version: DENO_RUNTIME_VERSION }, opts);
  const exe = await packageFile(tgz, `package/${target.runtime}`, MAX_RUNTIME_BYTES);
  if (!exe) throw new Error(`${pkg.name} has no ${target.runtime}`);
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
