import { createHash } from "node:crypto";
import { concatBytes } from "../lib/bytes.ts";
import {
  bytesSource,
  dataOffset,
  METHOD_DEFLATED,
  METHOD_STORED,
  readDirectory,
  readEntries,
  readEntryData,
  type ZipDirectory,
  type ZipEntry,
  ZipFormatError,
  type ZipSource,
} from "../lib/zip_reader.ts";
import { HttpError } from "./http_error.ts";

export interface ArchiveLimits {
  maxFiles: number;
  maxUnpackedBytes: number;
  /** Largest decompressed/compressed ratio tolerated for an entry over 1 MiB. */
  maxRatio: number;
}

/** A checked file of an archive: its bytes when they were kept in memory, else read again. */
export interface ArchiveFile {
  path: string;
  size: number;
  /** SHA-256 of the content, hex. */
  hash: string;
  /** The content, when small enough to keep (see `ReadOptions`). */
  data?: Uint8Array;
  entry: ZipEntry;
}

export interface ReadOptions {
  /** Files whose bytes are always kept (the manifest, server code): their path, after stripping. */
  mustKeep?: (path: string) => boolean;
  /** Bytes of small files kept in memory in all; larger or later files are read again. */
  keepBytes?: number;
}

/** A checked archive: its files, and where to read them again. */
export interface Archive {
  files: ArchiveFile[];
  /** Reads a file's bytes again, in chunks, failing if they differ from the checked ones. */
  read(file: ArchiveFile): AsyncGenerator<Uint8Array>;
}

const RATIO_FLOOR = 1024 * 1024;
/** A file up to this size may be kept in memory between checking and storing. */
const KEEP_FILE_MAX = 1024 * 1024;
const KEEP_BYTES = 32 * 1024 * 1024;
/**
 * Entries of every kind an archive may hold, per file it may hold: folders,
 * `__MACOSX/` shadows and `.DS_Store` are not files but cost as much to parse.
 */
const ENTRIES_PER_FILE = 4;
const ENTRIES_EXTRA = 1024;

/** How many entries of every kind an archive may hold under these limits. */
export function maxEntries(limits: ArchiveLimits): number {
  return limits.maxFiles * ENTRIES_PER_FILE + ENTRIES_EXTRA;
}

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

/**
 * Gives the event loop a turn every few milliseconds, so requests are
 * answered while a large archive is checked (parsing, inflating and hashing
 * all run on this thread).
 */
class Breather {
  #last = performance.now();

  constructor(readonly everyMs = 8) {}

  async breathe(): Promise<void> {
    if (performance.now() - this.#last < this.everyMs) return;
    await new Promise((resolve) => setTimeout(resolve, 0));
    this.#last = performance.now();
  }
}

function unreadable(err: unknown): never {
  if (err instanceof ZipFormatError) {
    refuse("zip", `The file is not a readable ZIP archive: ${err.message}`, err.entry);
  }
  throw err;
}

/**
 * Checks the central directory entry by entry, refusing at the first entry
 * past a limit: entries of every kind, files, declared sizes and ratios
 * (which reading then holds every entry to). Nothing is decompressed here.
 */
async function listFiles(
  source: ZipSource,
  dir: ZipDirectory,
  limits: ArchiveLimits,
  breather: Breather,
): Promise<ZipEntry[]> {
  const most = maxEntries(limits);
  if (dir.declaredEntries > most) {
    tooLarge("max_entries", `The archive has more than ${most} entries (folders included)`);
  }
  const kept: ZipEntry[] = [];
  let entries = 0;
  let declaredBytes = 0;
  try {
    // readEntries refuses an entry past the declared count, which is within the limit.
    for await (const e of readEntries(source, dir)) {
      if (++entries % 256 === 0) await breather.breathe();
      const reason = unsafePathReason(e.name);
      if (reason) refuse("safe_path", `An entry's path ${reason}`, e.name);
      if (e.symlink) refuse("no_symlinks", "Symbolic links are not accepted", e.name);
      if (e.encrypted) refuse("no_encryption", "Encrypted entries are not accepted", e.name);
      if (e.directory || isJunk(e.name)) continue;
      if (e.method !== METHOD_STORED && e.method !== METHOD_DEFLATED) {
        refuse(
          "zip",
          `An entry uses compression method ${e.method}, which is not accepted`,
          e.name,
        );
      }
      kept.push(e);
      if (kept.length > limits.maxFiles) {
        tooLarge("max_files", `The archive has more than ${limits.maxFiles} files`);
      }
      if (e.size > RATIO_FLOOR && e.size > e.compressedSize * limits.maxRatio) {
        refuse(
          "zip_bomb",
          `An entry expands more than ${limits.maxRatio} times its compressed size`,
          e.name,
        );
      }
      declaredBytes += e.size;
      if (declaredBytes > limits.maxUnpackedBytes) {
        tooLarge(
          "max_unpacked_bytes",
          `The archive unpacks to more than ${limits.maxUnpackedBytes} bytes`,
        );
      }
    }
  } catch (err) {
    // Refusals above pass through as they are; a reader error becomes one.
    unreadable(err);
  }
  if (kept.length === 0) refuse("not_empty", "The archive holds no files");
  return kept;
}

/** Entries whose data overlap share compressed bytes: how a bomb multiplies one kernel. */
function checkNoOverlap(entries: ZipEntry[]): void {
  const sorted = [...entries].sort((a, b) => a.localOffset - b.localOffset);
  for (let i = 1; i < sorted.length; i++) {
    const prev = sorted[i - 1];
    const end = prev.localOffset + 30 + prev.rawName.byteLength + prev.compressedSize;
    if (sorted[i].localOffset < end) {
      refuse("zip", "Entries of the archive overlap", sorted[i].name);
    }
  }
}

/**
 * Reads and checks a ZIP archive in bounded memory: the central directory a
 * block at a time with every limit applied as entries are parsed, then each
 * file inflated in small steps, counted, checksummed and hashed as its bytes
 * come out, stopping at the first byte past what its header declares.
 * Small files (and those `mustKeep` names) are kept in memory up to
 * `keepBytes`; the rest are read again from the source when stored. Nothing
 * is written anywhere, so a refused archive changes nothing. Refusals are
 * `HttpError`s (400 or 413) naming the constraint.
 */
export async function openArchive(
  input: Uint8Array | ZipSource,
  limits: ArchiveLimits,
  opts: ReadOptions = {},
): Promise<Archive> {
  const source = input instanceof Uint8Array ? bytesSource(input) : input;
  const breather = new Breather();
  const dir = await readDirectory(source).catch(unreadable);
  const entries = await listFiles(source, dir, limits, breather);
  const strip = stripTopFolder(entries.map((e) => e.name));
  const seen = new Set<string>();
  for (const e of entries) {
    const path = e.name.slice(strip);
    if (seen.has(path)) refuse("unique_paths", "The archive holds the same path twice", path);
    seen.add(path);
  }
  checkNoOverlap(entries);
  let keepLeft = opts.keepBytes ?? KEEP_BYTES;
  const files: ArchiveFile[] = [];
  // In the order the data lies in the file: one pass forward over the disk.
  for (const entry of [...entries].sort((a, b) => a.localOffset - b.localOffset)) {
    const path = entry.name.slice(strip);
    const keep = opts.mustKeep?.(path) || (entry.size <= KEEP_FILE_MAX && entry.size <= keepLeft);
    const { hash, data } = await readChecked(source, dir, entry, keep, breather);
    if (keep && !opts.mustKeep?.(path)) keepLeft -= entry.size;
    files.push({ path, size: entry.size, hash, data, entry });
  }
  // Back in the archive's own order.
  const order = new Map(entries.map((e, i) => [e, i]));
  files.sort((a, b) => order.get(a.entry)! - order.get(b.entry)!);
  return {
    files,
    read: (file) => readAgain(source, dir, file, breather),
  };
}

/** `openArchive`'s files, for callers that only need the checked list. */
export async function readArchive(
  input: Uint8Array | ZipSource,
  limits: ArchiveLimits,
  opts: ReadOptions = {},
): Promise<ArchiveFile[]> {
  return (await openArchive(input, limits, opts)).files;
}

async function readChecked(
  source: ZipSource,
  dir: ZipDirectory,
  entry: ZipEntry,
  keep: boolean,
  breather: Breather,
): Promise<{ hash: string; data?: Uint8Array }> {
  const sha = createHash("sha256");
  const chunks: Uint8Array[] = [];
  try {
    const start = await dataOffset(source, entry, dir);
    for await (const chunk of readEntryData(source, entry, start)) {
      sha.update(chunk);
      if (keep) chunks.push(chunk);
      await breather.breathe();
    }
  } catch (err) {
    if (err instanceof ZipFormatError) {
      refuse("zip", `An entry of the archive is corrupt: ${err.message}`, entry.name);
    }
    throw err;
  }
  return { hash: sha.digest("hex"), data: keep ? concatBytes(chunks) : undefined };
}

async function* readAgain(
  source: ZipSource,
  dir: ZipDirectory,
  file: ArchiveFile,
  breather: Breather,
): AsyncGenerator<Uint8Array> {
  if (file.data) {
    yield file.data;
    return;
  }
  const sha = createHash("sha256");
  const start = await dataOffset(source, file.entry, dir);
  for await (const chunk of readEntryData(source, file.entry, start)) {
    sha.update(chunk);
    yield chunk;
    await breather.breathe();
  }
  if (sha.digest("hex") !== file.hash) throw new Error("an archive entry changed after its check");
}
