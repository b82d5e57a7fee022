import { bodyGuardOf } from "./body_guard.ts";
import { concatBytes } from "./bytes.ts";

/** Thrown by `readBody` when a body passes its limit; reading stopped there. */
export class BodyTooLargeError extends Error {
  override readonly name = "BodyTooLargeError";

  constructor(readonly max: number) {
    super(`The body is larger than ${max} bytes`);
  }
}

/**
 * The whole body of a request (or a response), never holding more than
 * `max` bytes plus one chunk: a declared `Content-Length` over the limit is
 * refused before a byte is read, and a body without one (chunked) is counted
 * as it arrives and cancelled as soon as it passes the limit. Every body
 * fazt reads goes through here.
 *
 * A body whose declared length is within the limit is read in one call:
 * HTTP's framing ends a message from the network at its declared length, so
 * that is bounded too, and Deno then hands over a small body that has
 * already arrived without building a stream (a third of the CPU of a
 * tracking call went to the stream).
 *
 * A body the front door guards (`lib/body_guard.ts`) is read through its
 * guard, so a stalled read fails with the door's error.
 */
export async function readBody(
  message: {
    readonly headers: Headers;
    readonly body: ReadableStream<Uint8Array> | null;
    bytes?(): Promise<Uint8Array<ArrayBuffer>>;
  },
  max: number,
): Promise<Uint8Array<ArrayBuffer>> {
  const declared = Number(message.headers.get("content-length") ?? NaN);
  if (declared > max) throw new BodyTooLargeError(max);
  const guard = bodyGuardOf(message);
  // Before `body` is touched: reading it makes the stream.
  if (declared >= 0 && message.bytes) {
    const bytes = await (guard ? guard.wait(message.bytes()) : message.bytes());
    if (guard) guard.ended = true;
    if (bytes.byteLength > max) throw new BodyTooLargeError(max); // a message not from the network
    return bytes;
  }
  if (!message.body) return new Uint8Array();
  const reader = message.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    while (true) {
      const { done, value } = await (guard ? guard.wait(reader.read()) : reader.read());
      if (done) break;
      size += value.byteLength;
      if (size > max) {
        // Not awaited: a peer that stopped sending must not hold the refusal up.
        reader.cancel().catch(() => {});
        throw new BodyTooLargeError(max);
      }
      chunks.push(value);
    }
  } finally {
    reader.releaseLock();
  }
  if (guard) guard.ended = true;
  return concatBytes(chunks);
}
