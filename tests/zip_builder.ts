import { crc32, deflateRawSync } from "node:zlib";
import { concatBytes } from "../lib/bytes.ts";

/**
 * Builds ZIP archives byte by byte, so tests can make the malformed and
 * hostile archives that no well-behaved zip library will write: `..` paths,
 * symlinks, encrypted flags, duplicate names, lying size headers.
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
}

/** A ZIP of stored (uncompressed) entries with exactly the given names and flags. */
export function buildZip(entries: RawEntry[]): Uint8Array<ArrayBuffer> {
  const enc = new TextEncoder();
  const locals: Uint8Array[] = [];
  const centrals: Uint8Array[] = [];
  let offset = 0;
  for (const e of entries) {
    const name = enc.encode(e.name);
    const raw = typeof e.data === "string" ? enc.encode(e.data) : e.data ?? new Uint8Array();
    const crc = crc32(raw);
    const data = e.deflate ? new Uint8Array(deflateRawSync(raw)) : raw;
    const method = e.deflate ? 8 : 0;
    const flags = 0x0800 | (e.encrypted ? 1 : 0); // UTF-8 names
    const size = e.declaredSize ?? raw.length;
    const local = new Uint8Array(30 + name.length + data.length);
    const lv = new DataView(local.buffer);
    lv.setUint32(0, 0x04034b50, true);
    lv.setUint16(4, 20, true);
    lv.setUint16(6, flags, true);
    lv.setUint16(8, method, true);
    lv.setUint32(14, crc, true);
    lv.setUint32(18, data.length, true);
    lv.setUint32(22, size, true);
    lv.setUint16(26, name.length, true);
    local.set(name, 30);
    local.set(data, 30 + name.length);
    const central = new Uint8Array(46 + name.length);
    const cv = new DataView(central.buffer);
    cv.setUint32(0, 0x02014b50, true);
    cv.setUint16(4, e.unixMode !== undefined ? (3 << 8) | 20 : 20, true);
    cv.setUint16(6, 20, true);
    cv.setUint16(8, flags, true);
    cv.setUint16(10, method, true);
    cv.setUint32(16, crc, true);
    cv.setUint32(20, data.length, true);
    cv.setUint32(24, size, true);
    cv.setUint16(28, name.length, true);
    cv.setUint32(38, e.unixMode !== undefined ? (e.unixMode << 16) >>> 0 : 0, true);
    cv.setUint32(42, offset, true);
    central.set(name, 46);
    locals.push(local);
    centrals.push(central);
    offset += local.length;
  }
  const centralSize = centrals.reduce((n, c) => n + c.length, 0);
  const end = new Uint8Array(22);
  const ev = new DataView(end.buffer);
  ev.setUint32(0, 0x06054b50, true);
  ev.setUint16(8, entries.length, true);
  ev.setUint16(10, entries.length, true);
  ev.setUint32(12, centralSize, true);
  ev.setUint32(16, offset, true);
  return concatBytes([...locals, ...centrals, end]);
}
