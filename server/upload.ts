import { bodyGuardOf } from "../lib/body_guard.ts";
import { BodyTooLargeError } from "../lib/read_body.ts";
import { fileSource, type ZipSource } from "../lib/zip_reader.ts";

/**
 * An uploaded file written to a temporary file as it arrives, so the upload
 * is never held in memory; removed when the request is done. The folder is a
 * cache: files older than an hour (left by a crash) are removed when the
 * first spool of a process opens it.
 */
export class Spool {
  #file: Deno.FsFile;
  #size = 0;
  #removed = false;

  private constructor(readonly path: string, file: Deno.FsFile, readonly max: number) {
    this.#file = file;
  }

  /** A new, empty spool file in `dir` that refuses to grow past `max` bytes. */
  static async open(dir: string, max: number): Promise<Spool> {
    await prepare(dir);
    const path = `${dir}/upload-${crypto.randomUUID()}.part`;
    const file = await Deno.open(path, { createNew: true, read: true, write: true, mode: 0o600 });
    return new Spool(path, file, max);
  }

  get size(): number {
    return this.#size;
  }

  /** Appends `chunk`; throws `BodyTooLargeError` (writing nothing more) past the limit. */
  async write(chunk: Uint8Array): Promise<void> {
    if (this.#size + chunk.byteLength > this.max) throw new BodyTooLargeError(this.max);
    this.#size += chunk.byteLength;
    for (let at = 0; at < chunk.byteLength;) at += await this.#file.write(chunk.subarray(at));
  }

  /** The written bytes, for reading at any offset. */
  source(): ZipSource {
    return fileSource(this.#file, this.#size);
  }

  /** Closes and deletes the file; safe to call twice. */
  async remove(): Promise<void> {
    if (this.#removed) return;
    this.#removed = true;
    try {
      this.#file.close();
    } catch {
      // already closed
    }
    await Deno.remove(this.path).catch(() => {});
  }
}

const prepared = new Set<string>();
const STALE_MS = 60 * 60 * 1000;

async function prepare(dir: string): Promise<void> {
  if (prepared.has(dir)) return;
  await Deno.mkdir(dir, { recursive: true, mode: 0o700 });
  prepared.add(dir);
  for await (const e of Deno.readDir(dir)) {
    if (!e.isFile || !/^upload-.*\.part$/.test(e.name)) continue;
    const path = `${dir}/${e.name}`;
    const info = await Deno.stat(path).catch(() => undefined);
    if (info?.mtime && Date.now() - info.mtime.getTime() > STALE_MS) {
      await Deno.remove(path).catch(() => {});
    }
  }
}

/**
 * The chunks of a request body, counted: throws `BodyTooLargeError` as soon
 * as they pass `max` (a declared Content-Length over it before any is read).
 */
export async function* boundedBody(
  req: { readonly headers: Headers; readonly body: ReadableStream<Uint8Array> | null },
  max: number,
): AsyncGenerator<Uint8Array> {
  const declared = Number(req.headers.get("content-length") ?? NaN);
  if (declared > max) throw new BodyTooLargeError(max);
  if (!req.body) return;
  const guard = bodyGuardOf(req);
  const reader = req.body.getReader();
  let size = 0;
  try {
    while (true) {
      const { done, value } = await (guard ? guard.wait(reader.read()) : reader.read());
      if (done) {
        if (guard) guard.ended = true;
        return;
      }
      size += value.byteLength;
      if (size > max) throw new BodyTooLargeError(max);
      yield value;
    }
  } finally {
    // Not awaited: a peer that stopped sending must not hold the refusal up.
    reader.cancel().catch(() => {});
    reader.releaseLock();
  }
}

let systemDir: string | undefined;

/** Where uploads are spooled: a `tmp` folder beside the database file (else one in the system's). */
export function spoolDir(databasePath: string): string {
  if (databasePath === ":memory:" || databasePath === "") {
    return systemDir ??= Deno.makeTempDirSync({ prefix: "fazt-uploads-" });
  }
  const dir = databasePath.replace(/[\\/][^\\/]*$/, "");
  return `${dir === databasePath ? "." : dir}/tmp`;
}
