/**
 * Page cursors: base64url text, so apps treat them as opaque tokens.
 * @module
 */
import { invalid } from "./storage_error.ts";

/** The cursor for a position written as text. */
export function encodeCursor(text: string): string {
  return new TextEncoder().encode(text).toBase64({ alphabet: "base64url", omitPadding: true });
}

/** The text of a cursor this store returned; anything else is a VALIDATION_FAILED refusal. */
export function decodeCursor(cursor: unknown): string | undefined {
  if (cursor === undefined || cursor === null) return undefined;
  try {
    if (typeof cursor !== "string" || !/^[A-Za-z0-9_-]+$/.test(cursor)) throw new Error();
    const bytes = Uint8Array.fromBase64(cursor, { alphabet: "base64url" });
    return new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    throw invalid("cursor", "cursor is not one this store returned");
  }
}
