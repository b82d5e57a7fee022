/**
 * Builds fazt for release into `dist/`:
 *
 *   deno task bundle              dist/fazt.js, one file run with `deno run`, and
 *                                 dist/esbuild, which it compiles apps' server code with
 *   deno task compile [target…]   dist/fazt-<target>, one executable per target
 *
 * Each file gets a `.sha256` beside it (what `POST /api/upgrade` checks).
 * A bundle or a binary is the form a node can upgrade itself in (`fazt
 * remote upgrade NAME --file dist/fazt.js`).
 * @module
 */
import { sha256Hex } from "../lib/secrets.ts";
import { SERVER_RUN_FLAGS } from "../lib/program.ts";
import { ESBUILD_VERSION } from "../lib/esbuild_package.ts";
import { releaseTargetOf } from "../lib/release_target.ts";
import { esbuildExecutable } from "./esbuild_executable.ts";

export const TARGETS = [
  "x86_64-unknown-linux-gnu",
  "aarch64-unknown-linux-gnu",
  "x86_64-apple-darwin",
  "aarch64-apple-darwin",
  "x86_64-pc-windows-msvc",
] as const;

const ROOT = new URL("..", import.meta.url).pathname;
const MAIN = `${ROOT}main.ts`;

async function deno(args: string[]): Promise<void> {
  const out = await new Deno.Command(Deno.execPath(), {
    args,
    cwd: ROOT,
    stdout: "inherit",
    stderr: "piped",
  }).output();
  if (!out.success) {
    const why = new TextDecoder().decode(out.stderr).trim().split("\n").slice(0, 6).join("\n");
    throw new Error(`deno ${args[0]} failed:\n${why}`);
  }
}

async function writeChecksum(file: string): Promise<string> {
  const sum = sha256Hex(await Deno.readFile(file));
  await Deno.writeTextFile(`${file}.sha256`, `${sum}  ${file.split("/").pop()}\n`);
  return sum;
}

/** `deno bundle` of main.ts into `out`; returns its SHA-256. */
export async function buildBundle(out: string): Promise<string> {
  await deno(["bundle", "--quiet", MAIN, "-o", out]);
  return await writeChecksum(out);
}

/**
 * `deno compile` of main.ts for `target` into `out`, with the server's
 * permissions built in. Needs Deno's runtime for the target, which `deno
 * compile` downloads.
 */
export async function buildBinary(target: string, out: string): Promise<string> {
  await deno(["compile", "--quiet", ...SERVER_RUN_FLAGS, "--target", target, "-o", out, MAIN]);
  return await writeChecksum(out);
}

if (import.meta.main) {
  const [what, ...targets] = Deno.args;
  await Deno.mkdir(`${ROOT}dist`, { recursive: true });
  try {
    if (what === "bundle") {
      const out = `${ROOT}dist/fazt.js`;
      console.log(`${out}  sha256 ${await buildBundle(out)}`);
      const target = releaseTargetOf();
      if (target) {
        const { file, bytes } = await esbuildExecutable(target);
        await Deno.writeFile(`${ROOT}dist/${file}`, bytes, { mode: 0o755 });
        console.log(`${ROOT}dist/${file}  esbuild ${ESBUILD_VERSION}, beside fazt.js`);
      }
      console.log(`run it: deno run ${SERVER_RUN_FLAGS.join(" ")} ${out} server start`);
    } else if (what === "compile") {
      for (const target of targets.length ? targets : TARGETS) {
        const out = `${ROOT}dist/fazt-${target}${target.includes("windows") ? ".exe" : ""}`;
        console.log(`${out}  sha256 ${await buildBinary(target, out)}`);
      }
    } else {
      console.error("usage: deno run -A release/build.ts bundle | compile [target...]");
      Deno.exit(2);
    }
  } catch (err) {
    console.error(err instanceof Error ? err.message : err);
    Deno.exit(1);
  }
}
