/**
 * Writes a ZIP archive in memory: what `fazt deploy DIR` and the MCP deploy
 * tool upload. Only what they need (stored or deflated entries, UTF-8 names,
 * no ZIP64), with zlib's native CRC-32 and deflate, because a general zip
 * library spent 0.4 s of a 1.4 s deploy on 20 MB.
 * @module
 */
import { crc32, deflateRaw } from "node:zlib";

export interface ZipEntryInput {
  /** Relative path with `/` separators. */
  path: string;
  data: Uint8Array;
  /** Deflate it (kept stored when that does not make it smaller). */
  compress: boolean;
}

/** ZIP without ZIP64 holds fewer entries than 0xffff (its ZIP64 marker) and under 4 GiB. */
export const ZIP_MAX_ENTRIES = 0xfffe;
const ZIP_MAX_BYTES = 0xffffffff;

const STORED = 0;
const DEFLATED = 8;
const UTF8_NAMES = 0x0800;
const VERSION = 20;
// 1980-01-01 00:00 in DOS format: entries carry no time, so the same folder
// always makes the same bytes.
const DOS_TIME = 0;
const DOS_DATE = (1 << 5) | 1;

interface Prepared {
  name: Uint8Array;
  crc: number;
  method: number;
  body: Uint8Array;
  size: number;
}

function deflate(data: Uint8Array): Promise<Uint8Array> {
  return new Promise((resolve, reject) =>
    deflateRaw(data, { level: 6 }, (err, out) => err ? reject(err) : resolve(out))
  );
}

async function prepare(entry: ZipEntryInput, encoder: TextEncoder): Promise<Prepared> {
  const { data } = entry;
  const name = encoder.encode(entry.path);
  if (name.byteLength > 0xffff) throw new RangeError(`a ZIP entry name is at most 65535 bytes`);
  let method = STORED;
  let body = data;
  if (entry.compress && data.byteLength > 0) {
    const packed = await deflate(data);
    if (packed.byteLength < data.byteLength) [method, body] = [DEFLATED, packed];
  }
  return {
    name,
    crc: crc32(data),
    method,
    body,
    size: data.byteLength,
  };
}

/** Builds the archive; entries keep their order. */
export async function writeZip(entries: ZipEntryInput[]): Promise<Uint8Array<ArrayBuffer>> {
  if (entries.length > ZIP_MAX_ENTRIES) {
    throw new RangeError(`a ZIP holds at most ${ZIP_MAX_ENTRIES} files`);
  }
  const encoder = new TextEncoder();
  const prepared = await Promise.all(entries.map((e) => prepare(e, encoder)));
  let localBytes = 0;
  let centralBytes = 0;
  for (const p of prepared) {
    localBytes += 30 + p.name.byteLength + p.body.byteLength;
    centralBytes += 46 + p.name.byteLength;
  }
  if (localBytes + centralBytes + 22 > ZIP_MAX_BYTES) {
    throw new RangeError("a ZIP without ZIP64 holds at most 4 GiB");
  }
  const out = new Uint8Array(localBytes + centralBytes + 22);
  const view = new DataView(out.buffer);
  let at = 0;
  let central = localBytes;
  for (const p of prepared) {
    const offset = at;
    at = header(view, at, 0x04034b50, p, -1);
    out.set(p.name, at);
    at += p.name.byteLength;
    out.set(p.body, at);
    at += p.body.byteLength;
    central = header(view, central, 0x02014b50, p, offset);
    out.set(p.name, central);
    central += p.name.byteLength;
  }
  view.setUint32(central, 0x06054b50, true);
  view.setUint16(central + 8, prepared.length, true);
  view.setUint16(central + 10, prepared.length, true);
  view.setUint32(central + 12, centralBytes, true);
  view.setUint32(central + 16, localBytes, true);
  return out;
}

/**
 * A local header (`offset` -1) or a central directory header, up to its
 * name; returns where the name goes.
 */
function header(view: DataView, at: number, signature: number, p: Prepared, offset: number) {
  const central = offset >= 0;
  view.setUint32(at, signature, true);
  let i = at + 4;
  if (central) {
    view.setUint16(i, VERSION, true); // made by
    i += 2;
  }
  view.setUint16(i, VERSION, true); // needed to extract
  view.setUint16(i + 2, UTF8_NAMES, true);
  view.setUint16(i + 4, p.method, true);
  view.setUint16(i + 6, DOS_TIME, true);
  view.setUint16(i + 8, DOS_DATE, true);
  view.setUint32(i + 10, p.crc, true);
  view.setUint32(i + 14, p.body.byteLength, true);
  view.setUint32(i + 18, p.size, true);
  view.setUint16(i + 22, p.name.byteLength, true);
  view.setUint16(i + 24, 0, true); // extra field
  i += 26;
  if (central) {
    // comment length, disk, internal and external attributes stay zero
    view.setUint32(i + 10, offset, true);
    i += 14;
  }
  return i;
}
