/**
 * esbuild's executable for a release target, from npm (`@esbuild/<platform>`
 * at the version deno.json pins, checked against its integrity): a release
 * archive carries it beside `fazt.js`, where a bundled node's compiler looks
 * for it (runtime/esbuild_binary.ts).
 * @module
 */
import { ESBUILD_VERSION, esbuildPackage } from "../lib/esbuild_package.ts";
import type { ReleaseTarget } from "../lib/release_target.ts";
import { packageFile, type PackageOptions, packageTarball } from "./npm_package.ts";

/** The largest executable accepted from a package (it is ~10 MB). */
const MAX_EXECUTABLE_BYTES = 64 * 1024 * 1024;

/** The executable's file name in the archive and its bytes. */
export async function esbuildExecutable(
  target: ReleaseTarget,
  opts: PackageOptions = {},
): Promise<{ file: string; bytes: Uint8Array<ArrayBuffer> }> {
  const pkg = esbuildPackage(target.os, target.arch);
  if (!pkg) throw new Error(`no esbuild executable is pinned for ${target.id}`);
  const tgz = await packageTarball({ ...pkg, version: ESBUILD_VERSION }, opts);
  const bytes = await packageFile(tgz, pkg.member, MAX_EXECUTABLE_BYTES);
  if (!bytes) throw new Error(`${pkg.name} has no ${pkg.member}`);
  return { file: pkg.file, bytes };
}
