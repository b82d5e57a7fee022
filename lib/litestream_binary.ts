/**
 * Finding Litestream on this machine without the network: the
 * `litestream_path` setting, else `litestream` on PATH (seeing through npm's
 * `node` wrapper to the binary beside it), else the npm package
 * `@flydotio/litestream` where `npm install -g` puts it.
 * @module
 */

/** The npm package that ships a static Litestream 0.3.13 (Linux x64). */
export const LITESTREAM_NPM = "@flydotio/litestream@1.0.1";

/** The Litestream release fazt is built and tested against. */
export const LITESTREAM_RELEASE = "v0.3.13";

/** Litestream is not where the setting says, or nowhere to be found. */
export class LitestreamNotFound extends Error {
  override readonly name = "LitestreamNotFound";
}

/** Exactly how to get Litestream, for an owner reading a refusal. */
export function litestreamInstallHint(): string {
  const arch = Deno.build.arch === "aarch64" ? "arm64" : "amd64";
  const os = Deno.build.os === "darwin" ? "darwin" : "linux";
  return [
    `Litestream ${LITESTREAM_RELEASE} is not installed on this machine. Get it one of these ways:`,
    `  npm install -g ${LITESTREAM_NPM}    (Linux x64: a static binary; fazt finds it there)`,
    `  or the release archive litestream-${LITESTREAM_RELEASE}-${os}-${arch}.tar.gz from`,
    `  https://github.com/benbjohnson/litestream/releases/tag/${LITESTREAM_RELEASE},`,
    "  unpacked into a folder on PATH;",
    "  or put the binary anywhere and run: fazt server config litestream_path /path/to/litestream",
  ].join("\n");
}

/** `linux-x64`, `darwin-arm64`: how npm names this platform's package. */
function npmPlatform(): string {
  const arch = Deno.build.arch === "aarch64" ? "arm64" : "x64";
  return `${Deno.build.os}-${arch}`;
}

function isExecutableFile(path: string): boolean {
  try {
    const info = Deno.statSync(path);
    return info.isFile && (Deno.build.os === "windows" || ((info.mode ?? 0) & 0o111) !== 0);
  } catch {
    return false;
  }
}

/** npm's `bin/litestream` is a node script: the binary sits in the platform package beside it. */
function throughNpmWrapper(path: string): string {
  let real: string;
  try {
    real = Deno.realPathSync(path);
  } catch {
    return path;
  }
  const m = /^(.*)\/@flydotio\/litestream\/index\.js$/.exec(real);
  return m ? `${m[1]}/@flydotio/litestream-${npmPlatform()}/litestream` : path;
}

/** Where `npm install -g` (and a few common prefixes) put packages. */
function npmRoots(): string[] {
  const home = Deno.env.get("HOME");
  const roots = ["/usr/local/lib/node_modules", "/usr/lib/node_modules"];
  if (Deno.build.os === "darwin") roots.push("/opt/homebrew/lib/node_modules");
  if (home) {
    roots.push(
      `${home}/.npm-global/lib/node_modules`,
      `${home}/.local/lib/node_modules`,
      `${home}/.fazt/litestream/node_modules`,
    );
  }
  return roots;
}

/**
 * The Litestream binary to run: `setting` (`litestream_path`) unless it is
 * `auto`, else the first found on PATH or in npm's global folders. Throws
 * `LitestreamNotFound` with the install hint.
 */
export function findLitestream(setting: string): string {
  if (setting !== "auto") {
    if (isExecutableFile(setting)) return setting;
    throw new LitestreamNotFound(
      "the Litestream binary configured (litestream_path, or --litestream) is not an executable " +
        `file.\n${litestreamInstallHint()}`,
    );
  }
  const name = Deno.build.os === "windows" ? "litestream.exe" : "litestream";
  const sep = Deno.build.os === "windows" ? ";" : ":";
  for (const dir of (Deno.env.get("PATH") ?? "").split(sep)) {
    if (!dir) continue;
    const candidate = throughNpmWrapper(`${dir}/${name}`);
    if (isExecutableFile(candidate)) return candidate;
  }
  for (const root of npmRoots()) {
    const candidate = `${root}/@flydotio/litestream-${npmPlatform()}/litestream`;
    if (isExecutableFile(candidate)) return candidate;
  }
  throw new LitestreamNotFound(litestreamInstallHint());
}

/** `litestream version` (`v0.3.13`), or `undefined` when it does not answer like Litestream. */
export async function litestreamVersion(path: string): Promise<string | undefined> {
  try {
    const out = await new Deno.Command(path, {
      args: ["version"],
      stdin: "null",
      stdout: "piped",
      stderr: "null",
      signal: AbortSignal.timeout(10_000),
    }).output();
    const text = new TextDecoder().decode(out.stdout).trim();
    return out.success && /^v?\d+\.\d+\.\d+\S*$/.test(text) ? text : undefined;
  } catch {
    return undefined;
  }
}
