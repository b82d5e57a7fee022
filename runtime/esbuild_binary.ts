/**
 * Which esbuild executable the compiler process runs. From source, esbuild's
 * JavaScript API finds its own inside its npm package. A bundled fazt
 * (`fazt.js`) has no package folder around it, so the executable is looked
 * for beside the program (release archives carry it there), then in Deno's
 * npm cache (a machine that ran fazt from source has it).
 * @module
 */
import { ESBUILD_VERSION, esbuildPackage } from "../lib/esbuild_package.ts";

function isFile(path: string): boolean {
  try {
    return Deno.statSync(path).isFile;
  } catch {
    return false;
  }
}

function dirOf(path: string): string {
  return path.replace(/[\\/][^\\/]*$/, "");
}

/** Deno's cache folder, as `deno info` reports it, from the variables the server may read. */
function denoCacheDir(): string | undefined {
  const env = (name: string) => {
    try {
      return Deno.env.get(name) || undefined;
    } catch {
      return undefined;
    }
  };
  const explicit = env("DENO_DIR");
  if (explicit) return explicit;
  const home = env("HOME") ?? env("USERPROFILE");
  if (Deno.build.os === "darwin") return home && `${home}/Library/Caches/deno`;
  if (Deno.build.os === "windows") return env("LOCALAPPDATA") && `${env("LOCALAPPDATA")}/deno`;
  const cache = env("XDG_CACHE_HOME") ?? (home && `${home}/.cache`);
  return cache && `${cache}/deno`;
}

/** Where a bundled fazt looks for esbuild, in order. */
export function esbuildCandidates(): string[] {
  const pkg = esbuildPackage();
  if (!pkg) return [];
  const out: string[] = [];
  const main = new URL(Deno.mainModule);
  if (main.protocol === "file:") {
    out.push(`${dirOf(decodeURIComponent(main.pathname))}/${pkg.file}`);
  }
  out.push(`${dirOf(Deno.execPath())}/${pkg.file}`);
  const cache = denoCacheDir();
  if (cache) {
    const inPackage = pkg.member.replace(/^package\//, "");
    out.push(`${cache}/npm/registry.npmjs.org/${pkg.name}/${ESBUILD_VERSION}/${inPackage}`);
  }
  return out;
}

function runningFromSource(): boolean {
  const url = new URL("./compile_main.ts", import.meta.url);
  return url.protocol === "file:" && isFile(decodeURIComponent(url.pathname));
}

/**
 * `undefined` when esbuild finds its own executable (fazt runs from
 * source), else the path of one; throws when a bundled fazt has none.
 */
export function esbuildBinary(): Promise<string | undefined> {
  if (runningFromSource()) return Promise.resolve(undefined);
  const found = esbuildCandidates().find(isFile);
  if (found) return Promise.resolve(found);
  const pkg = esbuildPackage();
  return Promise.reject(
    new CompilerUnavailableError(
      pkg
        ? `esbuild ${ESBUILD_VERSION} (${pkg.file}) is not installed beside fazt.js`
        : `esbuild is not available for ${Deno.build.os}/${Deno.build.arch}`,
    ),
  );
}

/** A bundled fazt cannot compile server code: esbuild's executable is missing. */
export class CompilerUnavailableError extends Error {}
