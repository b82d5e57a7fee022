/**
 * A child process's output, line by line, with every line bounded: a
 * runaway line is cut at `max` characters instead of growing without end.
 * @module
 */

/** The lines of `stream` (without their `\n`), each at most `max` characters. */
export async function* textLines(
  stream: ReadableStream<Uint8Array>,
  max = 64 * 1024,
): AsyncGenerator<string> {
  const decoder = new TextDecoder();
  let pending = "";
  let skipping = false;
  for await (const chunk of stream) {
    pending += decoder.decode(chunk, { stream: true });
    let newline: number;
    while ((newline = pending.indexOf("\n")) !== -1) {
      const line = pending.slice(0, newline);
      pending = pending.slice(newline + 1);
      if (!skipping) yield line.slice(0, max).replace(/\r$/, "");
      skipping = false;
    }
    if (pending.length > max) {
      // The start of an overlong line goes out now; the rest of it is dropped.
      if (!skipping) yield pending.slice(0, max);
      pending = "";
      skipping = true;
    }
  }
  pending += decoder.decode();
  if (pending && !skipping) yield pending.slice(0, max);
}
