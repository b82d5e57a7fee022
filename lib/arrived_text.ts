/**
 * A request body Deno has already received whole, taken as text in one
 * call.
 *
 * Internal Deno API (2.9.6, ext/http/00_serve.ts): a request from
 * `Deno.serve` (or the front door's `serveHttpOnConnection`) holds its
 * `InnerRequest` under a symbol described `request`, whose
 * `consumeTextBody()` returns the body as a string when all of it has
 * arrived (and marks the body used), or null when it has not (or the body
 * was already touched). `Request.json()` uses it the same way. Taken
 * directly, a small event costs no promise, no stream, no bytes and no
 * decoding (Deno decodes it as `TextDecoder` would, lone bytes replaced).
 * @module
 */

let innerSymbol: symbol | undefined;

/**
 * The whole body as text when Deno already holds all of it; `undefined`
 * when it does not (still arriving, not from the network, already read, or
 * a Deno without this internal), and the caller reads it as a stream.
 *
 * The text is whatever arrived: only a body whose size is bounded (HTTP's
 * framing ends it at a declared length the caller checked) may be taken so.
 */
export function arrivedText(req: Request): string | undefined {
  innerSymbol ??= Object.getOwnPropertySymbols(req).find((s) => s.description === "request");
  if (innerSymbol === undefined) return undefined;
  const inner = (req as unknown as Record<symbol, { consumeTextBody?(): string | null }>)[
    innerSymbol
  ];
  const text = inner?.consumeTextBody?.();
  return typeof text === "string" ? text : undefined;
}
