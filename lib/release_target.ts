/**
 * The platforms fazt is released for, one archive each: what a node picks
 * from a release feed and what `install.sh` picks from SHA256SUMS.
 * @module
 */

export interface ReleaseTarget {
  /** In file names and feeds: `fazt-<version>-<id>.tar.gz`. */
  id: string;
  /** `Deno.build.os` and `Deno.build.arch` of the machines it runs on. */
  os: typeof Deno.build.os;
  arch: typeof Deno.build.arch;
  /** What `deno compile --target` calls it. */
  triple: string;
  archive: "tar.gz" | "zip";
  /** The Deno runtime's file name inside the archive. */
  runtime: "deno" | "deno.exe";
}

export const RELEASE_TARGETS: readonly ReleaseTarget[] = [
  {
    id: "linux-x64",
    os: "linux",
    arch: "x86_64",
    triple: "x86_64-unknown-linux-gnu",
    archive: "tar.gz",
    runtime: "deno",
  },
  {
    id: "linux-arm64",
    os: "linux",
    arch: "aarch64",
    triple: "aarch64-unknown-linux-gnu",
    archive: "tar.gz",
    runtime: "deno",
  },
  {
    id: "darwin-x64",
    os: "darwin",
    arch: "x86_64",
    triple: "x86_64-apple-darwin",
    archive: "tar.gz",
    runtime: "deno",
  },
  {
    id: "darwin-arm64",
    os: "darwin",
    arch: "aarch64",
    triple: "aarch64-apple-darwin",
    archive: "tar.gz",
    runtime: "deno",
  },
  {
    id: "windows-x64",
    os: "windows",
    arch: "x86_64",
    triple: "x86_64-pc-windows-msvc",
    archive: "zip",
    runtime: "deno.exe",
  },
];

/** The target of a machine (this one by default); `undefined` when fazt is not released for it. */
export function releaseTargetOf(
  os: string = Deno.build.os,
  arch: string = Deno.build.arch,
): ReleaseTarget | undefined {
  return RELEASE_TARGETS.find((t) => t.os === os && t.arch === arch);
}

/** The target with this id, or `undefined`. */
export function releaseTarget(id: string): ReleaseTarget | undefined {
  return RELEASE_TARGETS.find((t) => t.id === id);
}

/** The archive's file name, which is also the folder it unpacks into (without the extension). */
export function archiveName(version: string, target: ReleaseTarget): string {
  return `fazt-${version}-${target.id}.${target.archive}`;
}

/** The single binary's file name (`deno compile`). */
export function binaryName(version: string, target: ReleaseTarget): string {
  return `fazt-${version}-${target.id}${target.os === "windows" ? ".exe" : ""}`;
}
