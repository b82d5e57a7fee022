/**
 * A `multipart/form-data` body read as it arrives, part by part, so a large
 * file part can go straight to disk: `Request.formData()` holds the whole
 * body (and each file) in memory.
 * @module
 */
import { Buffer } from "node:buffer";

/** The body is not well-formed multipart; the message is safe to show. */
export class MultipartError extends Error {
  override readonly name = "MultipartError";
}

/** A part's name, and its file name when it is a file. */
export interface PartInfo {
  name: string;
  filename?: string;
}

/** Receives one part's bytes in order (awaited: a slow sink slows the reading). */
export type PartSink = (chunk: Uint8Array) => void | Promise<void>;

const MAX_HEADER_BYTES = 16 * 1024;
const encoder = new TextEncoder();
const CRLF_CRLF = encoder.encode("\r\n\r\n");

/** The `boundary` parameter of a `multipart/form-data` content type. */
export function boundaryOf(contentType: string): string | undefined {
  const m = /;\s*boundary=(?:"([^"]{1,70})"|([^;\s]{1,70}))/i.exec(contentType);
  return m?.[1] ?? m?.[2];
}

function indexOf(haystack: Uint8Array, needle: Uint8Array, from = 0): number {
  return Buffer.from(haystack.buffer, haystack.byteOffset, haystack.byteLength)
    .indexOf(needle, from);
}

function join(a: Uint8Array, b: Uint8Array): Uint8Array {
  if (a.byteLength === 0) return b;
  const out = new Uint8Array(a.byteLength + b.byteLength);
  out.set(a);
  out.set(b, a.byteLength);
  return out;
}

function param(header: string, key: string): string | undefined {
  const m = new RegExp(`;\\s*${key}=(?:"((?:[^"\\\\]|\\\\.)*)"|([^;\\s]*))`, "i").exec(header);
  if (!m) return undefined;
  return m[1] !== undefined ? m[1].replace(/\\(.)/g, "$1") : m[2];
}

function partInfo(head: Uint8Array): PartInfo {
  const lines = new TextDecoder().decode(head).split("\r\n");
  const disposition = lines.find((l) => /^content-disposition\s*:/i.test(l));
  if (!disposition || !/:\s*form-data\s*(;|$)/i.test(disposition)) {
    throw new MultipartError("a part has no form-data Content-Disposition");
  }
  const name = param(disposition, "name");
  if (name === undefined) throw new MultipartError("a part has no name");
  const filename = param(disposition, "filename");
  return filename === undefined ? { name } : { name, filename };
}

/**
 * Reads `chunks` (a request body) as multipart with `boundary`, calling
 * `onPart` at each part's start for the sink that gets its bytes. Holds at
 * most one chunk plus a boundary's length (and one part's headers, up to
 * 16 KiB) at a time. Throws `MultipartError` when the body is malformed or
 * ends before its closing boundary.
 */
export async function readMultipart(
  chunks: AsyncIterable<Uint8Array>,
  boundary: string,
  onPart: (part: PartInfo) => PartSink,
): Promise<void> {
  const delimiter = encoder.encode(`\r\n--${boundary}`);
  // The first boundary may open the body without a line break before it.
  let buf: Uint8Array = encoder.encode("\r\n");
  let state = "preamble" as "preamble" | "delimited" | "headers" | "body" | "done";
  let sink: PartSink = () => {};
  const keep = delimiter.byteLength - 1;
  const step = async (): Promise<boolean> => {
    switch (state) {
      case "preamble": {
        const i = indexOf(buf, delimiter);
        if (i < 0) {
          buf = buf.subarray(Math.max(0, buf.byteLength - keep));
          return false;
        }
        buf = buf.subarray(i + delimiter.byteLength);
        state = "delimited";
        return true;
      }
      case "delimited": {
        if (buf.byteLength < 2) return false;
        if (buf[0] === 0x2d && buf[1] === 0x2d) {
          state = "done";
          return false;
        }
        if (buf[0] !== 0x0d || buf[1] !== 0x0a) throw new MultipartError("a boundary is malformed");
        buf = buf.subarray(2);
        state = "headers";
        return true;
      }
      case "headers": {
        const i = indexOf(buf, CRLF_CRLF);
        if (i < 0) {
          if (buf.byteLength > MAX_HEADER_BYTES) {
            throw new MultipartError("a part's headers are too long");
          }
          return false;
        }
        sink = onPart(partInfo(buf.subarray(0, i)));
        buf = buf.subarray(i + 4);
        state = "body";
        return true;
      }
      case "body": {
        const i = indexOf(buf, delimiter);
        if (i < 0) {
          const upTo = buf.byteLength - keep;
          if (upTo > 0) {
            await sink(buf.subarray(0, upTo));
            buf = buf.subarray(upTo);
          }
          return false;
        }
        if (i > 0) await sink(buf.subarray(0, i));
        buf = buf.subarray(i + delimiter.byteLength);
        state = "delimited";
        return true;
      }
      case "done":
        return false;
    }
  };
  for await (const chunk of chunks) {
    if (state === "done") continue; // the epilogue is ignored
    buf = join(buf, chunk);
    while (await step());
  }
  if (state !== "done") throw new MultipartError("the body ends before its closing boundary");
}
