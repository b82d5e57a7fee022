/**
 * esbuild's native executable per platform, as npm publishes it
 * (`@esbuild/linux-x64`, …): what a release archive carries beside
 * `fazt.js`, so a node run from a bundle compiles apps' server code with no
 * network. Pinned to the version of `npm:esbuild` in deno.json (its JavaScript
 * API refuses an executable of another version), with the registry's
 * SHA-512 integrity written here.
 * @module
 */

/** The version of `npm:esbuild` in deno.json (a test keeps them equal). */
export const ESBUILD_VERSION = "0.25.12";

export interface EsbuildPackage {
  /** The npm package. */
  name: string;
  /** Its `dist.integrity` (`npm view <name>@<version> dist.integrity`). */
  integrity: string;
  /** The executable inside the package tarball. */
  member: string;
  /** The executable's file name beside `fazt.js`. */
  file: "esbuild" | "esbuild.exe";
}

const PACKAGES: Record<string, EsbuildPackage> = {
  "linux-x86_64": {
    name: "@esbuild/linux-x64",
    integrity:
      "sha512-uqZMTLr/zR/ed4jIGnwSLkaHmPjOjJvnm6TVVitAa08SLS9Z0VM8wIRx7gWbJB5/J54YuIMInDquWyYvQLZkgw==",
    member: "package/bin/esbuild",
    file: "esbuild",
  },
  "linux-aarch64": {
    name: "@esbuild/linux-arm64",
    integrity:
      "sha512-8bwX7a8FghIgrupcxb4aUmYDLp8pX06rGh5HqDT7bB+8Rdells6mHvrFHHW2JAOPZUbnjUpKTLg6ECyzvas2AQ==",
    member: "package/bin/esbuild",
    file: "esbuild",
  },
  "darwin-x86_64": {
    name: "@esbuild/darwin-x64",
    integrity:
      "sha512-HQ9ka4Kx21qHXwtlTUVbKJOAnmG1ipXhdWTmNXiPzPfWKpXqASVcWdnf2bnL73wgjNrFXAa3yYvBSd9pzfEIpA==",
    member: "package/bin/esbuild",
    file: "esbuild",
  },
  "darwin-aarch64": {
    name: "@esbuild/darwin-arm64",
    integrity:
      "sha512-N3zl+lxHCifgIlcMUP5016ESkeQjLj/959RxxNYIthIg+CQHInujFuXeWbWMgnTo4cp5XVHqFPmpyu9J65C1Yg==",
    member: "package/bin/esbuild",
    file: "esbuild",
  },
  "windows-x86_64": {
    name: "@esbuild/win32-x64",
    integrity:
      "sha512-alJC0uCZpTFrSL0CCDjcgleBXPnCrEAhTBILpeAp7M/OFgoqtAetfBzX0xM00MUsVVPpVjlPuMbREqnZCXaTnA==",
    member: "package/esbuild.exe",
    file: "esbuild.exe",
  },
};

/** The package for a platform (`Deno.build.os`, `Deno.build.arch`), if esbuild is pinned for it. */
export function esbuildPackage(
  os: string = Deno.build.os,
  arch: string = Deno.build.arch,
): EsbuildPackage | undefined {
  return PACKAGES[`${os}-${arch}`];
}
