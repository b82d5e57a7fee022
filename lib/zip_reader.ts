/**
 * Reads ZIP archives from a random-access source (a spooled upload on disk),
 * one central-directory entry and one bounded chunk at a time, so an archive
 * is never held whole and no entry can inflate past what it declares. Only
 * what fazt accepts is read: stored and deflated entries, ZIP64 sizes and
 * offsets, one disk. zip.js inflated each input chunk whole before a sink
 * could refuse (a 1 GiB bomb held ~1.6 GB) and parsed the whole central
 * directory before any limit applied, which is why this exists.
 * @module
 */
import { crc32, createInflateRaw } from "node:zlib";

/** The archive is malformed; the message is safe to show to whoever sent it. */
export class ZipFormatError extends Error {
  override readonly name = "ZipFormatError";

  constructor(message: string, readonly entry?: string) {
    super(message);
  }
}

/** Bytes that can be read at any offset: a file, or an array in tests. */
export interface ZipSource {
  readonly size: number;
  /** Exactly `length` bytes from `offset` (fewer only past the end). */
  read(offset: number, length: number): Promise<Uint8Array>;
}

/** A source over bytes already in memory. */
export function bytesSource(bytes: Uint8Array): ZipSource {
  return {
    size: bytes.byteLength,
    read: (offset, length) => Promise.resolve(bytes.subarray(offset, offset + length)),
  };
}

/** A source over an open file of `size` bytes. */
export function fileSource(file: Deno.FsFile, size: number): ZipSource {
  return {
    size,
    async read(offset, length) {
      const out = new Uint8Array(Math.max(0, Math.min(length, size - offset)));
      await file.seek(offset, Deno.SeekMode.Start);
      let at = 0;
      while (at < out.byteLength) {
        const n = await file.read(out.subarray(at));
        if (n === null) break;
        at += n;
      }
      return at === out.byteLength ? out : out.subarray(0, at);
    },
  };
}

/** One central-directory entry, as declared (sizes are checked while reading). */
export interface ZipEntry {
  /** The decoded name, exactly as the archive has it. */
  name: string;
  /** The name's bytes, compared with the local header's. */
  rawName: Uint8Array;
  method: number;
  flags: number;
  crc32: number;
  compressedSize: number;
  /** The declared uncompressed size: reading stops with an error past it. */
  size: number;
  localOffset: number;
  /** Encrypted (traditional or strong): never readable here. */
  encrypted: boolean;
  directory: boolean;
  symlink: boolean;
}

/** Where the central directory is and how many entries it declares. */
export interface ZipDirectory {
  /** The entry count the end record declares (counted again while parsing). */
  declaredEntries: number;
  centralOffset: number;
  centralSize: number;
}

export const METHOD_STORED = 0;
export const METHOD_DEFLATED = 8;

const EOCD = 0x06054b50;
const EOCD64 = 0x06064b50;
const EOCD64_LOCATOR = 0x07064b50;
const CENTRAL = 0x02014b50;
const LOCAL = 0x04034b50;
const MAX16 = 0xffff;
const MAX32 = 0xffffffff;
const UTF8_FLAG = 0x0800;
const ENCRYPTED_FLAGS = 0x0001 | 0x0040;
const S_IFMT = 0o170000;
const S_IFLNK = 0o120000;
const S_IFDIR = 0o040000;
const DOS_DIRECTORY = 0x10;
/** How much of the central directory is read at a time. */
const DIRECTORY_READ = 64 * 1024;

function fail(message: string, entry?: string): never {
  throw new ZipFormatError(message, entry);
}

const u16 = (b: Uint8Array, at: number) => b[at] | (b[at + 1] << 8);
const u32 = (b: Uint8Array, at: number) =>
  (b[at] | (b[at + 1] << 8) | (b[at + 2] << 16) | (b[at + 3] << 24)) >>> 0;

function u64(b: Uint8Array, at: number): number {
  const n = u32(b, at) + u32(b, at + 4) * 2 ** 32;
  if (!Number.isSafeInteger(n)) fail("A ZIP64 size or offset is out of range");
  return n;
}

/** Finds the end record (and its ZIP64 form) and checks that it describes one whole archive. */
export async function readDirectory(source: ZipSource): Promise<ZipDirectory> {
  if (source.size < 22) fail("The file is too short to be a ZIP archive");
  const tailLength = Math.min(source.size, 22 + MAX16);
  const tailStart = source.size - tailLength;
  const tail = await source.read(tailStart, tailLength);
  let at = -1;
  for (let i = tail.byteLength - 22; i >= 0; i--) {
    // The comment must run exactly to the end: nothing may follow the archive.
    if (u32(tail, i) === EOCD && i + 22 + u16(tail, i + 20) === tail.byteLength) {
      at = i;
      break;
    }
  }
  if (at < 0) fail("No end-of-archive record was found");
  const eocdOffset = tailStart + at;
  if (u16(tail, at + 4) !== 0 || u16(tail, at + 6) !== 0) {
    fail("Archives split over several disks are not accepted");
  }
  let entries = u16(tail, at + 10);
  let centralSize = u32(tail, at + 12);
  let centralOffset = u32(tail, at + 16);
  let directoryEnd = eocdOffset;
  const locatorOffset = eocdOffset - 20;
  const locator = locatorOffset >= 0 ? await source.read(locatorOffset, 20) : undefined;
  if (locator && u32(locator, 0) === EOCD64_LOCATOR) {
    if (u32(locator, 16) > 1 || u32(locator, 4) !== 0) {
      fail("Archives split over several disks are not accepted");
    }
    const recordOffset = u64(locator, 8);
    if (recordOffset + 56 > locatorOffset) fail("The ZIP64 end record is out of place");
    const record = await source.read(recordOffset, 56);
    if (u32(record, 0) !== EOCD64) fail("The ZIP64 end record is missing");
    if (u32(record, 16) !== 0 || u32(record, 20) !== 0) {
      fail("Archives split over several disks are not accepted");
    }
    // The record may carry extensible data after its fixed part, up to the locator.
    if (recordOffset + 12 + u64(record, 4) !== locatorOffset) {
      fail("The ZIP64 end record is out of place");
    }
    entries = u64(record, 32);
    if (u64(record, 24) !== entries) fail("The ZIP64 end record is inconsistent");
    centralSize = u64(record, 40);
    centralOffset = u64(record, 48);
    directoryEnd = recordOffset;
  } else if (entries === MAX16 || centralSize === MAX32 || centralOffset === MAX32) {
    fail("The ZIP64 end record is missing");
  }
  if (u16(tail, at + 8) !== u16(tail, at + 10)) fail("The end-of-archive record is inconsistent");
  // Nothing between the directory and its end record; nothing prepended.
  if (centralOffset + centralSize !== directoryEnd) {
    fail("The central directory is not where the end record says");
  }
  return { declaredEntries: entries, centralOffset, centralSize };
}

/**
 * The central directory's entries, parsed a block at a time as they are
 * asked for: a caller that stops at a limit has read no further. Throws
 * `ZipFormatError` for anything malformed, and when the count differs from
 * the declared one.
 */
export async function* readEntries(
  source: ZipSource,
  dir: ZipDirectory,
): AsyncGenerator<ZipEntry> {
  const end = dir.centralOffset + dir.centralSize;
  let pos = dir.centralOffset;
  let buf = new Uint8Array(0);
  let at = 0;
  /** Makes sure `n` bytes are buffered from `at`, reading more of the directory if needed. */
  const need = async (n: number) => {
    const have = buf.byteLength - at;
    if (have >= n) return true;
    if (pos - have + n > end) return false;
    const want = Math.max(n - have, Math.min(DIRECTORY_READ, end - pos));
    const more = await source.read(pos, want);
    if (more.byteLength < want) fail("The central directory is cut short");
    pos += more.byteLength;
    const next = new Uint8Array(have + more.byteLength);
    next.set(buf.subarray(at));
    next.set(more, have);
    buf = next;
    at = 0;
    return true;
  };
  let count = 0;
  while (pos < end || at < buf.byteLength) {
    if (!(await need(46))) fail("The central directory is cut short");
    if (u32(buf, at) !== CENTRAL) fail("The central directory is corrupt");
    const nameLength = u16(buf, at + 28);
    const extraLength = u16(buf, at + 30);
    const commentLength = u16(buf, at + 32);
    const total = 46 + nameLength + extraLength + commentLength;
    if (!(await need(total))) fail("The central directory is cut short");
    const entry = parseEntry(buf.subarray(at, at + total), nameLength, extraLength);
    at += total;
    count++;
    if (count > dir.declaredEntries) fail("The archive holds more entries than it declares");
    yield entry;
  }
  if (count !== dir.declaredEntries) fail("The archive holds fewer entries than it declares");
}

function parseEntry(h: Uint8Array, nameLength: number, extraLength: number): ZipEntry {
  const versionMadeBy = u16(h, 4);
  const flags = u16(h, 8);
  const rawName = h.slice(46, 46 + nameLength);
  const name = decodeName(rawName, (flags & UTF8_FLAG) !== 0);
  let size = u32(h, 24);
  let compressedSize = u32(h, 20);
  let localOffset = u32(h, 42);
  let disk = u16(h, 34);
  if (size === MAX32 || compressedSize === MAX32 || localOffset === MAX32 || disk === MAX16) {
    // ZIP64: the extra field holds, in this order, only the fields whose
    // 32-bit (or 16-bit) value is the marker.
    const z = findExtra(h.subarray(46 + nameLength, 46 + nameLength + extraLength), 0x0001);
    if (!z) fail("An entry's ZIP64 sizes are missing", name);
    let i = 0;
    const next = () => {
      if (i + 8 > z.byteLength) fail("An entry's ZIP64 sizes are cut short", name);
      const v = u64(z, i);
      i += 8;
      return v;
    };
    if (size === MAX32) size = next();
    if (compressedSize === MAX32) compressedSize = next();
    if (localOffset === MAX32) localOffset = next();
    if (disk === MAX16) {
      if (i + 4 > z.byteLength) fail("An entry's ZIP64 sizes are cut short", name);
      disk = u32(z, i);
    }
  }
  if (disk !== 0) fail("Archives split over several disks are not accepted", name);
  const external = u32(h, 38);
  const mode = external >>> 16;
  const dosCompatible = versionMadeBy >> 8 === 0;
  return {
    name,
    rawName,
    method: u16(h, 10),
    flags,
    crc32: u32(h, 16),
    compressedSize,
    size,
    localOffset,
    encrypted: (flags & ENCRYPTED_FLAGS) !== 0,
    symlink: (mode & S_IFMT) === S_IFLNK,
    directory: name.endsWith("/") || (mode & S_IFMT) === S_IFDIR ||
      (dosCompatible && (external & DOS_DIRECTORY) !== 0),
  };
}

function findExtra(extra: Uint8Array, id: number): Uint8Array | undefined {
  let i = 0;
  while (i + 4 <= extra.byteLength) {
    const length = u16(extra, i + 2);
    if (i + 4 + length > extra.byteLength) return undefined;
    if (u16(extra, i) === id) return extra.subarray(i + 4, i + 4 + length);
    i += 4 + length;
  }
  return undefined;
}

const utf8 = new TextDecoder("utf-8", { fatal: true });

/** UTF-8 when flagged or when the bytes are valid UTF-8 (as zip.js did), else code page 437. */
function decodeName(raw: Uint8Array, flagged: boolean): string {
  try {
    return utf8.decode(raw);
  } catch {
    if (flagged) fail("An entry's name is not valid UTF-8");
    return Array.from(raw, (b) => (b < 0x80 ? String.fromCharCode(b) : CP437[b - 0x80])).join("");
  }
}

const CP437 =
  "ÇüéâäàåçêëèïîìÄÅÉæÆôöòûùÿÖÜ¢£¥₧ƒáíóúñÑªº¿⌐¬½¼¡«»░▒▓│┤╡╢╖╕╣║╗╝╜╛┐└┴┬├─┼╞╟╚╔╩╦╠═╬╧╨╤╥╙╘╒╓╫╪┘┌█▄▌▐▀αßΓπΣσµτΦΘΩδ∞φε∩≡±≥≤⌠⌡÷≈°∙·√ⁿ²■ ";

/** Where an entry's data starts, after checking its local header against the central one. */
export async function dataOffset(
  source: ZipSource,
  entry: ZipEntry,
  dir: ZipDirectory,
): Promise<number> {
  const h = await source.read(entry.localOffset, 30);
  if (h.byteLength < 30 || u32(h, 0) !== LOCAL) {
    fail("An entry's local header is missing", entry.name);
  }
  const nameLength = u16(h, 26);
  const start = entry.localOffset + 30 + nameLength + u16(h, 28);
  // A local header that disagrees with the directory is how archives smuggle
  // a second meaning past one reader: refused.
  const name = await source.read(entry.localOffset + 30, nameLength);
  if (!sameBytes(name, entry.rawName)) {
    fail("An entry's local header names another file", entry.name);
  }
  if (
    u16(h, 8) !== entry.method || (u16(h, 6) & ENCRYPTED_FLAGS) !== (entry.flags & ENCRYPTED_FLAGS)
  ) {
    fail("An entry's local header disagrees with the directory", entry.name);
  }
  if (start + entry.compressedSize > dir.centralOffset) {
    fail("An entry's data runs into the central directory", entry.name);
  }
  return start;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.byteLength !== b.byteLength) return false;
  for (let i = 0; i < a.byteLength; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** How much compressed input to feed at once: about 1 MiB of output at the declared ratio. */
function inputStep(entry: ZipEntry): number {
  const ratio = entry.size / Math.max(1, entry.compressedSize);
  return Math.max(4096, Math.min(256 * 1024, Math.floor((1024 * 1024) / Math.max(1, ratio))));
}

/**
 * An entry's uncompressed bytes in chunks of at most 64 KiB (stored entries:
 * 256 KiB), read from `start` (see `dataOffset`). Fails with
 * `ZipFormatError` as soon as the output passes the declared size, and at
 * the end if it falls short or the CRC-32 differs. Output is produced one
 * small input step at a time, so stopping early (a caller's limit) costs at
 * most one step.
 */
export async function* readEntryData(
  source: ZipSource,
  entry: ZipEntry,
  start: number,
): AsyncGenerator<Uint8Array> {
  if (entry.method === METHOD_STORED) {
    if (entry.compressedSize !== entry.size) {
      fail("A stored entry's sizes disagree", entry.name);
    }
    let crc = 0;
    for (let done = 0; done < entry.size;) {
      const piece = await source.read(start + done, Math.min(256 * 1024, entry.size - done));
      if (piece.byteLength === 0) fail("An entry's data is cut short", entry.name);
      crc = crc32(piece, crc);
      done += piece.byteLength;
      yield piece;
    }
    checkCrc(entry, crc);
    return;
  }
  if (entry.method !== METHOD_DEFLATED) {
    fail(`An entry uses compression method ${entry.method}, which is not accepted`, entry.name);
  }
  // Some writers give an empty file no deflate stream at all.
  if (entry.compressedSize === 0 && entry.size === 0) return checkCrc(entry, 0);
  yield* inflate(source, entry, start);
}

async function* inflate(
  source: ZipSource,
  entry: ZipEntry,
  start: number,
): AsyncGenerator<Uint8Array> {
  const inflater = createInflateRaw({ chunkSize: 64 * 1024 });
  const queue: Uint8Array[] = [];
  let out = 0;
  let crc = 0;
  let failure: ZipFormatError | undefined;
  let ended = false;
  let wake: (() => void) | undefined;
  const stop = (err: ZipFormatError) => {
    failure ??= err;
    inflater.destroy();
    wake?.();
  };
  inflater.on("data", (chunk: Uint8Array) => {
    out += chunk.byteLength;
    if (out > entry.size) {
      stop(new ZipFormatError("An entry is larger than its header says", entry.name));
      return;
    }
    crc = crc32(chunk, crc);
    queue.push(chunk);
  });
  inflater.on("error", () => stop(new ZipFormatError("An entry's data is corrupt", entry.name)));
  inflater.on("end", () => {
    ended = true;
    wake?.();
  });
  /** Resolves when the inflater has taken in `piece` (or `end()`), or failed. */
  const settle = (act: (done: () => void) => void) =>
    new Promise<void>((resolve) => {
      wake = resolve;
      act(resolve);
    });
  try {
    const step = inputStep(entry);
    for (let done = 0; done < entry.compressedSize && !ended;) {
      const piece = await source.read(start + done, Math.min(step, entry.compressedSize - done));
      if (piece.byteLength === 0) fail("An entry's data is cut short", entry.name);
      done += piece.byteLength;
      await settle((resolve) => inflater.write(piece, () => resolve()));
      if (failure) throw failure;
      while (queue.length) yield queue.shift()!;
    }
    if (!ended) await settle(() => inflater.end());
    if (failure) throw failure;
    while (queue.length) yield queue.shift()!;
    if (!ended) fail("An entry's data is cut short", entry.name);
  } finally {
    inflater.destroy();
  }
  if (out !== entry.size) fail("An entry is smaller than its header says", entry.name);
  checkCrc(entry, crc);
}

function checkCrc(entry: ZipEntry, crc: number): void {
  if (crc !== entry.crc32) fail("An entry's checksum does not match its data", entry.name);
}
