/**
 * The program `fazt remote upgrade` sends to a peer: a file given with
 * `--file`, or this CLI's own program (from a checkout, bundled on the spot
 * with `deno bundle`, the form a peer running a bundle takes).
 * @module
 */
import { currentProgram, probeVersion, type ProgramForm } from "../lib/program.ts";
import { sha256Hex } from "../lib/secrets.ts";
import { VERSION } from "../version.ts";
import { CliError } from "./cli_error.ts";

export interface UpgradeProgram {
  form: ProgramForm;
  bytes: Uint8Array<ArrayBuffer>;
  sha256: string;
  /** What it reports, when it runs on this machine (a binary for another platform does not). */
  version?: string;
  /** Where it came from, for messages. */
  source: string;
}

function formOf(path: string): ProgramForm {
  return /\.m?js$/.test(path) ? "bundle" : "binary";
}

async function readProgram(path: string, source: string): Promise<UpgradeProgram> {
  let bytes: Uint8Array<ArrayBuffer>;
  try {
    bytes = await Deno.readFile(path);
  } catch {
    throw new CliError(`cannot read '${path}'`, "NOT_FOUND");
  }
  const form = formOf(path);
  const version = await probeVersion(form, path).catch(() => undefined);
  return { form, bytes, sha256: sha256Hex(bytes), version, source };
}

/** `deno bundle` of this checkout into a temp file, read back. */
async function bundleCheckout(): Promise<UpgradeProgram> {
  const main = new URL("../main.ts", import.meta.url);
  const dir = await Deno.makeTempDir({ prefix: "fazt-upgrade-" });
  try {
    const out = `${dir}/fazt.js`;
    const run = await new Deno.Command(Deno.execPath(), {
      args: ["bundle", "--quiet", main.pathname, "-o", out],
      stdout: "null",
      stderr: "piped",
    }).output();
    if (!run.success) {
      const why = new TextDecoder().decode(run.stderr).trim().split("\n")[0];
      throw new CliError(`could not bundle this checkout: ${why}`, "BUNDLE_FAILED");
    }
    const program = await readProgram(out, `fazt ${VERSION} (bundled from this checkout)`);
    return { ...program, version: VERSION };
  } finally {
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}

/** The program to send: `file`, or this CLI's own. */
export async function upgradeProgram(file?: string): Promise<UpgradeProgram> {
  if (file) return await readProgram(file, file);
  const own = currentProgram();
  if (own.form === "source") return await bundleCheckout();
  const program = await readProgram(own.path!, `this CLI's own ${own.form}`);
  return { ...program, version: VERSION };
}
