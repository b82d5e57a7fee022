import { concatBytes } from "../lib/bytes.ts";
import type { Entry } from "@zip.js/zip.js";
import { loadZip } from "../lib/zip.ts";
import { HttpError } from "./http_error.ts";

export interface ArchiveLimits {
  maxFiles: number;
  maxUnpackedBytes: number;
  /** Largest decompressed/compressed ratio tolerated for an entry over 1 MiB. */
  maxRatio: number;
}

export interface ArchiveFile {
  path: string;
  data: Uint8Array;
}

const RATIO_FLOOR = 1024 * 1024;

function refuse(constraint: string, message: string, entry?: string): never {
  const details: Record<string, unknown> = { field: "file", constraint };
  if (entry !== undefined) details.entry = entry;
  throw new HttpError(400, "VALIDATION_FAILED", message, { details });
}

function tooLarge(constraint: string, message: string): never {
  throw new HttpError(413, "PAYLOAD_TOO_LARGE", message, {
    details: { field: "file", constraint },
  });
}

/** Why an entry name is unsafe to store, or `undefined` when it is fine. */
export function unsafePathReason(name: string): string | undefined {
  if (name.includes("\0")) return "contains a NUL byte";
  if (name.includes("\\")) return "contains a backslash";
  if (name.startsWith("/") || /^[A-Za-z]:/.test(name)) return "is absolute";
  const segments = name.replace(/\/$/, "").split("/");
  if (segments.includes("..")) return "has a '..' segment";
  if (segments.some((s) => s === "" || s === ".")) return "has an empty or '.' segment";
  // deno-lint-ignore no-control-regex -- control characters are what is refused
  if (/[\x00-\x1f\x7f]/.test(name)) return "contains a control character";
  return undefined;
}

function isJunk(path: string): boolean {
  return path.startsWith("__MACOSX/") || path === ".DS_Store" || path.endsWith("/.DS_Store");
}

/**
 * Drops one folder that every file sits in, as zipping a folder produces;
 * except `api/`, which is where a server-only app's code lives.
 */
function stripTopFolder(paths: string[]): number {
  if (paths.length === 0) return 0;
  const first = paths[0].split("/")[0];
  if (first === "api") return 0;
  const shared = paths.every((p) => p.startsWith(first + "/"));
  return shared ? first.length + 1 : 0;
}

/** Reads an entry's real bytes, refusing as soon as a limit is passed. */
async function readEntry(
  entry: Entry,
  budget: { left: number },
  limits: ArchiveLimits,
): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  let size = 0;
  const sink = new WritableStream<Uint8Array>({
    write(chunk) {
      size += chunk.byteLength;
      budget.left -= chunk.byteLength;
      if (budget.left < 0) {
        tooLarge(
          "max_unpacked_bytes",
          `The archive unpacks to more than ${limits.maxUnpackedBytes} bytes`,
        );
      }
      if (size > RATIO_FLOOR && size > entry.compressedSize * limits.maxRatio) {
        refuse(
          "zip_bomb",
          `An entry expands more than ${limits.maxRatio} times its compressed size`,
          entry.filename,
        );
      }
      chunks.push(chunk);
    },
  });
  if (entry.directory) return new Uint8Array();
  await entry.getData(sink, { checkSignature: true });
  return concatBytes(chunks);
}

/**
 * Unpacks a ZIP held in memory into checked files. Everything is validated
 * and decompressed before the caller writes anything, so a refused archive
 * changes nothing. Sizes in headers are never trusted: real bytes are counted
 * while streaming.
 */
export async function readArchive(
  bytes: Uint8Array,
  limits: ArchiveLimits,
): Promise<ArchiveFile[]> {
  const { ZipReader, Uint8ArrayReader } = await loadZip();
  const reader = new ZipReader(new Uint8ArrayReader(bytes), { filenameValidation: "tolerant" });
  let entries: Entry[];
  try {
    entries = await reader.getEntries();
  } catch {
    refuse("zip", "The file is not a readable ZIP archive");
  }
  try {
    const kept = checkEntries(entries, limits);
    const strip = stripTopFolder(kept.map((e) => e.filename));
    const seen = new Set<string>();
    for (const e of kept) {
      const path = e.filename.slice(strip);
      if (seen.has(path)) refuse("unique_paths", "The archive holds the same path twice", path);
      seen.add(path);
    }
    const budget = { left: limits.maxUnpackedBytes };
    const files: ArchiveFile[] = [];
    for (const e of kept) {
      files.push({
        path: e.filename.slice(strip),
        data: await readEntryOrRefuse(e, budget, limits),
      });
    }
    return files;
  } finally {
    await reader.close().catch(() => {});
  }
}

async function readEntryOrRefuse(e: Entry, budget: { left: number }, limits: ArchiveLimits) {
  try {
    return await readEntry(e, budget, limits);
  } catch (err) {
    if (err instanceof HttpError) throw err;
    refuse("zip", "An entry of the archive is corrupt", e.filename);
  }
}

/** Name, type and count checks that need no decompression. */
function checkEntries(entries: Entry[], limits: ArchiveLimits): Entry[] {
  const kept: Entry[] = [];
  for (const e of entries) {
    const reason = unsafePathReason(e.filename);
    if (reason) refuse("safe_path", `An entry's path ${reason}`, e.filename);
    if (e.symlink) refuse("no_symlinks", "Symbolic links are not accepted", e.filename);
    if (e.encrypted) refuse("no_encryption", "Encrypted entries are not accepted", e.filename);
    if (e.directory || isJunk(e.filename)) continue;
    kept.push(e);
    if (kept.length > limits.maxFiles) {
      tooLarge("max_files", `The archive has more than ${limits.maxFiles} files`);
    }
  }
  if (kept.length === 0) refuse("not_empty", "The archive holds no files");
  return kept;
}
