/**
 * Downloads with limits, for what a node fetches from the internet (release
 * feeds and artifacts): a byte ceiling enforced while the bytes arrive, a
 * deadline, and redirects followed only to URLs the caller accepts.
 * @module
 */
import { concatBytes } from "./bytes.ts";

export class FetchLimitError extends Error {
  constructor(
    readonly reason: "url" | "unreachable" | "status" | "too_large",
    message: string,
  ) {
    super(message);
  }
}

export interface FetchLimits {
  maxBytes: number;
  timeoutMs: number;
  /** Why a URL (the first or a redirect's) may not be fetched, or `undefined`. */
  urlProblem?: (url: string) => string | undefined;
}

const MAX_REDIRECTS = 5;

/** The body of `url` and the URL it finally came from. */
export async function fetchLimited(
  url: string,
  limits: FetchLimits,
): Promise<{ bytes: Uint8Array<ArrayBuffer>; url: string }> {
  const signal = AbortSignal.timeout(limits.timeoutMs);
  let current = url;
  for (let hop = 0; hop <= MAX_REDIRECTS; hop++) {
    const problem = limits.urlProblem?.(current);
    if (problem) throw new FetchLimitError("url", `${current}: ${problem}`);
    let res: Response;
    try {
      res = await fetch(current, { redirect: "manual", signal });
    } catch (err) {
      const why = signal.aborted
        ? `no answer within ${limits.timeoutMs} ms`
        : (err as Error).message;
      throw new FetchLimitError("unreachable", `cannot fetch ${current}: ${why}`);
    }
    const location = res.headers.get("location");
    if (res.status >= 300 && res.status < 400 && location) {
      await res.body?.cancel();
      current = new URL(location, current).href;
      continue;
    }
    if (!res.ok) {
      await res.body?.cancel();
      throw new FetchLimitError("status", `${current} answered ${res.status}`);
    }
    return { bytes: await readLimited(res, current, limits, signal), url: current };
  }
  throw new FetchLimitError("unreachable", `${url}: more than ${MAX_REDIRECTS} redirects`);
}

async function readLimited(
  res: Response,
  url: string,
  limits: FetchLimits,
  signal: AbortSignal,
): Promise<Uint8Array<ArrayBuffer>> {
  const tooLarge = () =>
    new FetchLimitError("too_large", `${url} is larger than ${limits.maxBytes} bytes`);
  if (Number(res.headers.get("content-length") ?? 0) > limits.maxBytes) {
    await res.body?.cancel();
    throw tooLarge();
  }
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    for await (const chunk of res.body ?? []) {
      size += chunk.byteLength;
      if (size > limits.maxBytes) throw tooLarge();
      chunks.push(chunk);
    }
  } catch (err) {
    if (err instanceof FetchLimitError) throw err;
    const why = signal.aborted ? `no answer within ${limits.timeoutMs} ms` : (err as Error).message;
    throw new FetchLimitError("unreachable", `${url} stopped mid-download: ${why}`);
  }
  return concatBytes(chunks);
}
