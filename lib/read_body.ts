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
 */
export async function readBody(
  message: { readonly headers: Headers; readonly body: ReadableStream<Uint8Array> | null },
  max: number,
): Promise<Uint8Array<ArrayBuffer>> {
  const declared = Number(message.headers.get("content-length") ?? NaN);
  if (declared > max) throw new BodyTooLargeError(max);
  if (!message.body) return new Uint8Array();
  const reader = message.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    while (true) {
      const { done, value } = await reader.read();
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
  return concatBytes(chunks);
}
