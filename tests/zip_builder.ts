import { crc32 as zlibCrc32, createDeflateRaw, deflateRawSync } from "node:zlib";
import { concatBytes } from "../lib/bytes.ts";

/**
 * Builds ZIP archives byte by byte, so tests can make the malformed and
 * hostile archives that no well-behaved zip library will write: `..` paths,
 * symlinks, encrypted flags, duplicate names, lying size headers, ZIP64
 * fields, directory floods, bombs.
 */
export interface RawEntry {
  name: string;
  data?: Uint8Array | string;
  /** Unix mode in the high 16 bits of the external attributes (e.g. 0o120777 for a symlink). */
  unixMode?: number;
  /** Sets general-purpose bit 0 (encrypted). */
  encrypted?: boolean;
  /** Overrides the uncompressed size written in the headers. */
  declaredSize?: number;
  /** Stores the data deflated (method 8) instead of as is. */
  deflate?: boolean;
  /** Compressed bytes as they go in the archive (with `method`, `crc`, `declaredSize`). */
  compressed?: Uint8Array;
  /** Overrides the compression method written in both headers. */
  method?: number;
  /** Overrides the CRC-32 written in both headers. */
  crc?: number;
  /** The name written in the local header, when it differs from the central one. */
  localName?: string;
  /** Writes sizes and offset as ZIP64 extra fields (0xffffffff in the fixed fields). */
  zip64?: boolean;
}

export interface BuildOptions {
  /** Adds the ZIP64 end record and locator (always added past 65,534 entries). */
  zip64?: boolean;
  /** The archive comment. */
  comment?: string;
  /** Overrides the entry count in the end record(s). */
  declaredEntries?: number;
}

/** CRC-32 of `data`, as ZIP headers carry it. */
export function crc32(data: Uint8Array): number {
  return zlibCrc32(data);
}

const MAX32 = 0xffffffff;

function zip64Extra(values: number[]): Uint8Array {
  const out = new Uint8Array(4 + values.length * 8);
  const v = new DataView(out.buffer);
  v.setUint16(0, 0x0001, true);
  v.setUint16(2, values.length * 8, true);
  values.forEach((n, i) => v.setBigUint64(4 + i * 8, BigInt(n), true));
  return out;
}

/** A ZIP of entries with exactly the given names, flags and (possibly lying) headers. */
export function buildZip(entries: RawEntry[], opts: BuildOptions = {}): Uint8Array<ArrayBuffer> {
  const enc = new TextEncoder();
  const parts: Uint8Array[] = [];
  const centrals: Uint8Array[] = [];
  let offset = 0;
  for (const e of entries) {
    const name = enc.encode(e.name);
    const localName = e.localName === undefined ? name : enc.encode(e.localName);
    const raw = typeof e.data === "string" ? enc.encode(e.data) : e.data ?? new Uint8Array();
    const data = e.compressed ?? (e.deflate ? new Uint8Array(deflateRawSync(raw)) : raw);
    const method = e.method ?? (e.compressed || e.deflate ? 8 : 0);
    const crc = e.crc ?? crc32(raw);
    const flags = 0x0800 | (e.encrypted ? 1 : 0); // UTF-8 names
    const size = e.declaredSize ?? raw.length;
    const extra = e.zip64 ? zip64Extra([size, data.length]) : new Uint8Array();
    const local = new Uint8Array(30 + localName.length + extra.length);
    const lv = new DataView(local.buffer);
    lv.setUint32(0, 0x04034b50, true);
    lv.setUint16(4, e.zip64 ? 45 : 20, true);
    lv.setUint16(6, flags, true);
    lv.setUint16(8, method, true);
    lv.setUint32(14, crc, true);
    lv.setUint32(18, e.zip64 ? MAX32 : data.length, true);
    lv.setUint32(22, e.zip64 ? MAX32 : size, true);
    lv.setUint16(26, localName.length, true);
    lv.setUint16(28, extra.length, true);
    local.set(localName, 30);
    local.set(extra, 30 + localName.length);
    const centralExtra = e.zip64 ? zip64Extra([size, data.length, offset]) : new Uint8Array();
    const central = new Uint8Array(46 + name.length + centralExtra.length);
    const cv = new DataView(central.buffer);
    cv.setUint32(0, 0x02014b50, true);
    cv.setUint16(4, e.unixMode !== undefined ? (3 << 8) | 20 : 20, true);
    cv.setUint16(6, e.zip64 ? 45 : 20, true);
    cv.setUint16(8, flags, true);
    cv.setUint16(10, method, true);
    cv.setUint32(16, crc, true);
    cv.setUint32(20, e.zip64 ? MAX32 : data.length, true);
    cv.setUint32(24, e.zip64 ? MAX32 : size, true);
    cv.setUint16(28, name.length, true);
    cv.setUint16(30, centralExtra.length, true);
    cv.setUint32(38, e.unixMode !== undefined ? (e.unixMode << 16) >>> 0 : 0, true);
    cv.setUint32(42, e.zip64 ? MAX32 : offset, true);
    central.set(name, 46);
    central.set(centralExtra, 46 + name.length);
    parts.push(local, data);
    centrals.push(central);
    offset += local.length + data.length;
  }
  const centralSize = centrals.reduce((n, c) => n + c.length, 0);
  const count = opts.declaredEntries ?? entries.length;
  const zip64 = opts.zip64 || count > 0xfffe;
  const comment = enc.encode(opts.comment ?? "");
  const tail: Uint8Array[] = [];
  if (zip64) {
    const record = new Uint8Array(56);
    const rv = new DataView(record.buffer);
    rv.setUint32(0, 0x06064b50, true);
    rv.setBigUint64(4, 44n, true);
    rv.setUint16(12, 45, true);
    rv.setUint16(14, 45, true);
    rv.setBigUint64(24, BigInt(count), true);
    rv.setBigUint64(32, BigInt(count), true);
    rv.setBigUint64(40, BigInt(centralSize), true);
    rv.setBigUint64(48, BigInt(offset), true);
    const locator = new Uint8Array(20);
    const lv = new DataView(locator.buffer);
    lv.setUint32(0, 0x07064b50, true);
    lv.setBigUint64(8, BigInt(offset + centralSize), true);
    lv.setUint32(16, 1, true);
    tail.push(record, locator);
  }
  const end = new Uint8Array(22 + comment.length);
  const ev = new DataView(end.buffer);
  ev.setUint32(0, 0x06054b50, true);
  ev.setUint16(8, zip64 ? 0xffff : count, true);
  ev.setUint16(10, zip64 ? 0xffff : count, true);
  ev.setUint32(12, zip64 ? MAX32 : centralSize, true);
  ev.setUint32(16, zip64 ? MAX32 : offset, true);
  ev.setUint16(20, comment.length, true);
  end.set(comment, 22);
  return concatBytes([...parts, ...centrals, ...tail, end]);
}

/**
 * An entry holding `size` zero bytes deflated (about 1/1000 of the size),
 * made without ever holding the zeros: the classic bomb. Its headers tell the
 * truth unless `declaredSize` or `crc` say otherwise.
 */
export async function zerosEntry(
  name: string,
  size: number,
  over: Partial<RawEntry> = {},
): Promise<RawEntry> {
  const deflater = createDeflateRaw({ level: 9 });
  const out: Uint8Array[] = [];
  deflater.on("data", (c: Uint8Array) => out.push(c));
  const done = new Promise((resolve) => deflater.on("end", resolve));
  const block = new Uint8Array(Math.min(size, 16 * 1024 * 1024));
  let crc = 0;
  for (let left = size; left > 0; left -= block.length) {
    const piece = block.subarray(0, Math.min(block.length, left));
    crc = zlibCrc32(piece, crc);
    if (!deflater.write(piece)) await new Promise((r) => deflater.once("drain", r));
  }
  deflater.end();
  await done;
  return { name, compressed: concatBytes(out), declaredSize: size, crc, method: 8, ...over };
}
