import { compareVersions } from "../../lib/compatible_version.ts";
import { probeVersion, type Program, type ProgramForm } from "../../lib/program.ts";
import { sha256Hex } from "../../lib/secrets.ts";
import { VERSION } from "../../version.ts";
import { readBody } from "../../lib/read_body.ts";
import type { RouteContext } from "../context.ts";
import { HttpError } from "../http_error.ts";
import type * as Api from "../api_types.ts";
import { type Answer, json } from "../respond.ts";
import type { Upgrader } from "../upgrader.ts";

/** A compiled fazt is ~100 MB; a bundle ~3 MB. */
const MAX_PROGRAM_BYTES = 512 * 1024 * 1024;

/** The answer of `GET /api/upgrade`. */
export interface UpgradeInfo {
  version: string;
  form: ProgramForm | "embedded" | "unknown";
  os: string;
  arch: string;
  can_upgrade: boolean;
  reason?: string;
  signature_required: boolean;
}

const CANNOT_WRITE = "This node cannot write beside its program (permissions or disk space)";

export function unavailable(upgrader?: Upgrader): string | undefined {
  if (!upgrader) return "This node runs embedded in another program and cannot replace itself";
  if (upgrader.program.form === "source") {
    return "This node runs from a source checkout: update it with git and restart it";
  }
  return undefined;
}

const folderOf = (program: Program) => program.path!.replace(/[\\/][^\\/]*$/, "");

/** Whether a file can be written (and removed) where the program lives. */
async function canWriteBeside(program: Program): Promise<boolean> {
  const probe = `${folderOf(program)}/.fazt-upgrade-probe-${crypto.randomUUID()}`;
  try {
    await Deno.writeFile(probe, new Uint8Array());
    await Deno.remove(probe);
    return true;
  } catch {
    return false;
  }
}

/** `GET /api/upgrade`: whether and how this node can be upgraded. */
export async function upgradeInfo(c: RouteContext): Promise<Answer<Api.UpgradeInfo>> {
  let reason = unavailable(c.server.upgrader);
  if (!reason && !await canWriteBeside(c.server.upgrader!.program)) reason = CANNOT_WRITE;
  const info: UpgradeInfo = {
    version: VERSION,
    form: c.server.upgrader?.program.form ?? "embedded",
    os: Deno.build.os,
    arch: Deno.build.arch,
    can_upgrade: reason === undefined,
    ...(reason ? { reason } : {}),
    signature_required: publicKey(c) !== undefined,
  };
  return json(info);
}

function publicKey(c: RouteContext): string | undefined {
  // Read per request: a key set with `fazt server config` applies at once.
  const key = c.server.storage.settings.load().upgrade_public_key;
  return key === "none" ? undefined : key;
}

async function checkSignature(c: RouteContext, program: Uint8Array<ArrayBuffer>): Promise<void> {
  const key = publicKey(c);
  if (key === undefined) return;
  const signature = c.url.searchParams.get("signature")?.toLowerCase();
  if (!signature) {
    throw new HttpError(400, "SIGNATURE_REQUIRED", "This node accepts only signed programs", {
      details: { field: "signature", constraint: "required" },
    });
  }
  let ok = false;
  if (/^[0-9a-f]{128}$/.test(signature)) {
    // Both are whole hex: the key by its setting's pattern, the signature just above.
    const k = await crypto.subtle.importKey(
      "raw",
      Uint8Array.fromHex(key),
      { name: "Ed25519" },
      false,
      ["verify"],
    );
    ok = await crypto.subtle.verify({ name: "Ed25519" }, k, Uint8Array.fromHex(signature), program);
  }
  if (!ok) {
    throw new HttpError(400, "SIGNATURE_INVALID", "The signature does not match this program", {
      details: { field: "signature", constraint: "ed25519" },
    });
  }
}

/** Writes the program beside the one it replaces (so the swap is a rename) and runs it once. */
export async function stage(
  program: Program,
  bytes: Uint8Array,
  log: (m: string) => void,
): Promise<{ path: string; version: string }> {
  const path = `${folderOf(program)}/.fazt-upgrade-${crypto.randomUUID()}` +
    (program.form === "bundle" ? ".js" : "");
  try {
    await Deno.writeFile(path, bytes, { mode: 0o755 });
  } catch (err) {
    await Deno.remove(path).catch(() => {});
    log(`upgrade refused: cannot write the program (${err instanceof Error ? err.message : err})`);
    throw new HttpError(409, "UPGRADE_UNAVAILABLE", CANNOT_WRITE);
  }
  try {
    return { path, version: await probeVersion(program.form, path) };
  } catch (err) {
    await Deno.remove(path).catch(() => {});
    log(`upgrade refused: ${err instanceof Error ? err.message : err}`);
    throw new HttpError(
      422,
      "UPGRADE_INVALID",
      `The uploaded program does not run as fazt here (this node runs a ${program.form} on ` +
        `${Deno.build.os}/${Deno.build.arch})`,
    );
  }
}

// Upgraders with an upgrade under way: after a restart is scheduled, none other.
export const busy = new WeakSet<Upgrader>();

/**
 * `POST /api/upgrade?sha256=HEX[&signature=HEX][&force=1]` with the new
 * program as the body. It is checked (checksum, signature when the node has
 * a key, that it runs and reports a newer version) before anything changes;
 * then the node answers 202 and restarts on it, going back to the old program
 * if the new one does not come up healthy.
 */
export async function upgrade(c: RouteContext): Promise<Answer<Api.UpgradeStarted>> {
  const upgrader = c.server.upgrader;
  const reason = unavailable(upgrader);
  if (reason) throw new HttpError(409, "UPGRADE_UNAVAILABLE", reason);
  const sha256 = c.url.searchParams.get("sha256")?.toLowerCase() ?? "";
  if (!/^[0-9a-f]{64}$/.test(sha256)) {
    throw HttpError.validation("sha256", "format", "sha256 must be the program's SHA-256 in hex");
  }
  if (busy.has(upgrader!)) {
    throw new HttpError(409, "UPGRADE_IN_PROGRESS", "An upgrade is already running");
  }
  busy.add(upgrader!);
  let applied = false;
  try {
    const bytes = await readBody(c.req, MAX_PROGRAM_BYTES);
    if (sha256Hex(bytes) !== sha256) {
      throw new HttpError(400, "CHECKSUM_MISMATCH", "The program's SHA-256 is not the one given", {
        details: { field: "sha256", constraint: "matches" },
      });
    }
    await checkSignature(c, bytes);
    const staged = await stage(upgrader!.program, bytes, c.server.log);
    // A signature covers the bytes, not the moment: with a key, an older
    // signed build replayed by a stolen token must not take the node back.
    const force = c.url.searchParams.get("force") === "1" && publicKey(c) === undefined;
    const order = compareVersions(staged.version, VERSION);
    if (order <= 0 && !force) {
      await Deno.remove(staged.path).catch(() => {});
      if (order === 0) {
        return json({ action: "already_current", from: VERSION, to: staged.version });
      }
      throw new HttpError(
        409,
        "DOWNGRADE",
        `The program is fazt ${staged.version}, older than ${VERSION}: ` +
          (publicKey(c) === undefined
            ? "pass force=1 to go back"
            : "a node with an upgrade key does not go back"),
      );
    }
    c.server.log(`upgrade: fazt ${VERSION} -> ${staged.version}, restarting`);
    upgrader!.apply(staged.path, staged.version);
    applied = true;
    return json({ action: "restarting", from: VERSION, to: staged.version }, 202);
  } finally {
    if (!applied) busy.delete(upgrader!);
  }
}
