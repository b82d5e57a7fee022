/**
 * The little of tar that releases need: writing a POSIX ustar archive of a
 * few files (what `tar -x` everywhere unpacks, with their modes), and
 * finding one file in a tar stream without holding the rest in memory (the
 * Deno runtime in an npm package, fazt.js in a release archive).
 * @module
 */

const BLOCK = 512;

export interface TarFile {
  /** Relative, `/`-separated; a trailing `/` makes a directory. */
  path: string;
  data?: Uint8Array;
  mode: number;
}

const enc = new TextEncoder();

function octal(value: number, width: number): string {
  return value.toString(8).padStart(width - 1, "0") + "\0";
}

function header(file: TarFile, size: number, mtime: number): Uint8Array {
  const h = new Uint8Array(BLOCK);
  let name = file.path;
  let prefix = "";
  if (enc.encode(name).byteLength > 100) {
    const cut = name.lastIndexOf("/", name.length - 2);
    [prefix, name] = [name.slice(0, cut), name.slice(cut + 1)];
    if (cut < 0 || enc.encode(name).byteLength > 100 || enc.encode(prefix).byteLength > 155) {
      throw new RangeError(`a tar path is too long: ${file.path}`);
    }
  }
  const put = (offset: number, text: string) => h.set(enc.encode(text), offset);
  put(0, name);
  put(100, octal(file.mode, 8));
  put(108, octal(0, 8));
  put(116, octal(0, 8));
  put(124, octal(size, 12));
  put(136, octal(mtime, 12));
  put(148, "        ");
  put(156, file.path.endsWith("/") ? "5" : "0");
  put(257, "ustar\u000000");
  put(265, "root");
  put(297, "root");
  put(345, prefix);
  const sum = h.reduce((a, b) => a + b, 0);
  put(148, octal(sum, 7) + " ");
  return h;
}

/** A ustar archive of `files`, in order, all with modification time `mtime` (seconds). */
export function tarBytes(files: TarFile[], mtime = 0): Uint8Array<ArrayBuffer> {
  let total = 2 * BLOCK;
  for (const f of files) total += BLOCK + Math.ceil((f.data?.byteLength ?? 0) / BLOCK) * BLOCK;
  const out = new Uint8Array(total);
  let at = 0;
  for (const f of files) {
    const size = f.path.endsWith("/") ? 0 : f.data?.byteLength ?? 0;
    out.set(header(f, size, mtime), at);
    at += BLOCK;
    if (size) out.set(f.data!, at);
    at += Math.ceil(size / BLOCK) * BLOCK;
  }
  return out;
}

/** Reads exactly the bytes asked for from a stream, across its chunks. */
class StreamBytes {
  #chunks: Uint8Array[] = [];
  #buffered = 0;
  #done = false;
  constructor(private reader: ReadableStreamDefaultReader<Uint8Array>) {}

  async #fill(n: number): Promise<void> {
    while (this.#buffered < n && !this.#done) {
      const { value, done } = await this.reader.read();
      if (done) this.#done = true;
      else if (value.byteLength) {
        this.#chunks.push(value);
        this.#buffered += value.byteLength;
      }
    }
  }

  /** `n` bytes, or fewer at the end of the stream. */
  async read(n: number, keep = true): Promise<Uint8Array<ArrayBuffer>> {
    const out = new Uint8Array(keep ? n : 0);
    let got = 0;
    while (got < n) {
      await this.#fill(1);
      const chunk = this.#chunks[0];
      if (!chunk) break;
      const take = Math.min(chunk.byteLength, n - got);
      if (keep) out.set(chunk.subarray(0, take), got);
      got += take;
      this.#buffered -= take;
      if (take === chunk.byteLength) this.#chunks.shift();
      else this.#chunks[0] = chunk.subarray(take);
    }
    return keep ? out.subarray(0, got) : out;
  }

  skip(n: number): Promise<unknown> {
    return this.read(n, false);
  }
}

const dec = new TextDecoder();
const field = (h: Uint8Array, offset: number, size: number) =>
  dec.decode(h.subarray(offset, offset + size)).replace(/\0.*$/s, "");

/** A pax extended header's `path`, if it has one. */
function paxPath(data: Uint8Array): string | undefined {
  const text = dec.decode(data);
  let at = 0;
  while (at < text.length) {
    const space = text.indexOf(" ", at);
    const len = Number(text.slice(at, space));
    if (!(len > 0) || space < 0) return undefined;
    const record = text.slice(space + 1, at + len - 1);
    if (record.startsWith("path=")) return record.slice(5);
    at += len;
  }
  return undefined;
}

export class TarError extends Error {}

/**
 * The content of the regular file at `path` in a tar stream, or `undefined`
 * when the archive has none; reads to the end of the archive only if it has
 * to, and refuses a file larger than `maxBytes`.
 */
export async function findInTar(
  stream: ReadableStream<Uint8Array>,
  path: string,
  maxBytes: number,
): Promise<Uint8Array<ArrayBuffer> | undefined> {
  const reader = stream.getReader();
  const input = new StreamBytes(reader);
  try {
    let longName: string | undefined;
    while (true) {
      const h = await input.read(BLOCK);
      if (h.byteLength < BLOCK) throw new TarError("the archive ends inside a header");
      if (h.every((b) => b === 0)) return undefined;
      const sizeField = field(h, 124, 12).trim();
      if (!/^[0-7]*$/.test(sizeField)) throw new TarError("a tar header is damaged");
      const size = parseInt(sizeField || "0", 8);
      const padded = Math.ceil(size / BLOCK) * BLOCK;
      const type = String.fromCharCode(h[156]);
      if (type === "x" || type === "L") {
        if (size > 64 * 1024) throw new TarError("a tar extended header is too large");
        const data = await input.read(padded);
        longName = type === "x" ? paxPath(data.subarray(0, size)) : field(data, 0, size);
        continue;
      }
      const prefix = field(h, 345, 155);
      const name = longName ?? (prefix ? `${prefix}/${field(h, 0, 100)}` : field(h, 0, 100));
      longName = undefined;
      if ((type === "0" || type === "\0") && name.replace(/^\.\//, "") === path) {
        if (size > maxBytes) throw new TarError(`${path} is larger than ${maxBytes} bytes`);
        const data = await input.read(padded);
        if (data.byteLength < size) throw new TarError("the archive ends inside a file");
        return data.slice(0, size);
      }
      await input.skip(padded);
    }
  } finally {
    await reader.cancel().catch(() => {});
  }
}
