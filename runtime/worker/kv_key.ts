/**
 * Deno KV keys as bytes: the tuple encoding Deno KV uses (FoundationDB's
 * tuple layer), so comparing encoded keys byte by byte orders them as Deno
 * KV does: `Uint8Array` < `string` < `bigint` < `number` < `boolean`, each
 * type by value. The server stores and compares only these bytes.
 * @module
 */

export type KvKeyPart = Uint8Array | string | number | bigint | boolean;
export type KvKey = readonly KvKeyPart[];

const BYTES = 0x01;
const STRING = 0x02;
const NEG_INT_START = 0x0b;
const INT_ZERO = 0x14;
const POS_INT_END = 0x1d;
const DOUBLE = 0x21;
const FALSE = 0x26;
const TRUE = 0x27;

const enc = new TextEncoder();
const dec = new TextDecoder();

/** A `Deno.KvU64`: an unsigned 64-bit integer that `sum`, `min` and `max` work on. */
export class KvU64 {
  readonly value: bigint;
  constructor(value: bigint) {
    if (typeof value !== "bigint") throw new TypeError("Value must be a bigint");
    if (value < 0n) throw new RangeError("Value must be a positive bigint");
    if (value > 0xffffffffffffffffn) {
      throw new RangeError("Value must fit in a 64-bit unsigned integer");
    }
    this.value = value;
    Object.freeze(this);
  }
  valueOf(): bigint {
    return this.value;
  }
  toString(): string {
    return this.value.toString();
  }
  get [Symbol.toStringTag](): string {
    return "Deno.KvU64";
  }
}

function escaped(out: number[], bytes: Uint8Array): void {
  for (const b of bytes) {
    out.push(b);
    if (b === 0) out.push(0xff);
  }
  out.push(0);
}

function bigBytes(n: bigint): number[] {
  const bytes: number[] = [];
  while (n > 0n) {
    bytes.unshift(Number(n & 0xffn));
    n >>= 8n;
  }
  return bytes;
}

function encodeInt(out: number[], n: bigint): void {
  if (n === 0n) {
    out.push(INT_ZERO);
    return;
  }
  if (n > 0n) {
    const bytes = bigBytes(n);
    if (bytes.length <= 8) out.push(INT_ZERO + bytes.length, ...bytes);
    else out.push(POS_INT_END, bytes.length, ...bytes);
    return;
  }
  const bytes = bigBytes(-n);
  const len = bytes.length;
  const ones = (1n << BigInt(8 * len)) - 1n;
  const body = bigBytes(n + ones);
  while (body.length < len) body.unshift(0);
  if (len <= 8) out.push(INT_ZERO - len, ...body);
  else out.push(NEG_INT_START, len ^ 0xff, ...body);
}

function encodeDouble(out: number[], n: number): void {
  const b = new Uint8Array(8);
  // Deno KV keeps one NaN.
  new DataView(b.buffer).setFloat64(0, Number.isNaN(n) ? NaN : n, false);
  if (b[0] & 0x80) { for (let i = 0; i < 8; i++) b[i] ^= 0xff; }
  else b[0] ^= 0x80;
  out.push(DOUBLE, ...b);
}

/** A key as bytes; a part of another type is a `TypeError`, as in Deno. */
export function encodeKey(key: KvKey): Uint8Array<ArrayBuffer> {
  if (!Array.isArray(key)) throw new TypeError("Key must be an array");
  const out: number[] = [];
  for (const part of key) {
    if (part instanceof Uint8Array) {
      out.push(BYTES);
      escaped(out, part);
    } else if (typeof part === "string") {
      out.push(STRING);
      escaped(out, enc.encode(part));
    } else if (typeof part === "bigint") encodeInt(out, part);
    else if (typeof part === "number") encodeDouble(out, part);
    else if (typeof part === "boolean") out.push(part ? TRUE : FALSE);
    else throw new TypeError(`Invalid key part: ${typeof part}`);
  }
  return new Uint8Array(out);
}

function unescaped(bytes: Uint8Array, at: number): [Uint8Array, number] {
  const out: number[] = [];
  while (at < bytes.length) {
    const b = bytes[at++];
    if (b === 0) {
      if (bytes[at] === 0xff) {
        out.push(0);
        at++;
        continue;
      }
      return [new Uint8Array(out), at];
    }
    out.push(b);
  }
  throw new TypeError("Invalid key encoding");
}

function readBig(bytes: Uint8Array): bigint {
  let n = 0n;
  for (const b of bytes) n = (n << 8n) | BigInt(b);
  return n;
}

/** The key `encodeKey` made these bytes from. */
export function decodeKey(bytes: Uint8Array): KvKeyPart[] {
  const key: KvKeyPart[] = [];
  let at = 0;
  while (at < bytes.length) {
    const tag = bytes[at++];
    if (tag === BYTES) {
      const [part, next] = unescaped(bytes, at);
      key.push(part);
      at = next;
    } else if (tag === STRING) {
      const [part, next] = unescaped(bytes, at);
      key.push(dec.decode(part));
      at = next;
    } else if (tag === INT_ZERO) key.push(0n);
    else if (tag > INT_ZERO && tag < POS_INT_END) {
      const len = tag - INT_ZERO;
      key.push(readBig(bytes.subarray(at, at + len)));
      at += len;
    } else if (tag === POS_INT_END) {
      const len = bytes[at++];
      key.push(readBig(bytes.subarray(at, at + len)));
      at += len;
    } else if (tag > NEG_INT_START && tag < INT_ZERO) {
      const len = INT_ZERO - tag;
      key.push(readBig(bytes.subarray(at, at + len)) - ((1n << BigInt(8 * len)) - 1n));
      at += len;
    } else if (tag === NEG_INT_START) {
      const len = bytes[at++] ^ 0xff;
      key.push(readBig(bytes.subarray(at, at + len)) - ((1n << BigInt(8 * len)) - 1n));
      at += len;
    } else if (tag === DOUBLE) {
      const b = bytes.slice(at, at + 8);
      if (b[0] & 0x80) b[0] ^= 0x80;
      else for (let i = 0; i < 8; i++) b[i] ^= 0xff;
      key.push(new DataView(b.buffer).getFloat64(0, false));
      at += 8;
    } else if (tag === FALSE) key.push(false);
    else if (tag === TRUE) key.push(true);
    else throw new TypeError("Invalid key encoding");
  }
  return key;
}
