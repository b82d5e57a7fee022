import { CONTENT_CHUNK_BYTES, type Encoding, type Storage } from "../storage/mod.ts";
import { BodyCache, type CachedBody } from "./body_cache.ts";
import { type Manifest, parseManifest } from "../runtime/mod.ts";
import { type SiteFile, SiteIndex } from "./site_index.ts";

/**
 * What every app serves right now, held in memory. Deploys, rollbacks and
 * deletes in this process call `refresh`, which swaps an app's index in one
 * assignment: a request holds the index it started with, so it can never mix
 * two versions.
 */
export class Sites {
  #live = new Map<string, SiteIndex | null>();
  #listeners = new Set<(name: string) => void>();
  readonly bodies: BodyCache;

  constructor(private storage: Storage, cacheBytes: number) {
    this.bodies = new BodyCache(cacheBytes);
  }

  /** The live version of `name`, or `undefined` when there is no such app. */
  live(name: string): SiteIndex | undefined {
    let index = this.#live.get(name);
    if (index === undefined) index = this.refresh(name);
    return index ?? undefined;
  }

  /** A specific version of `name` (drafts and previews). */
  version(name: string, number: number): SiteIndex | undefined {
    const app = this.storage.apps.get(name);
    const v = app && this.storage.apps.version(app.id, number);
    if (!app || !v) return undefined;
    const current = this.#live.get(name);
    if (current && current.appId === app.id && current.version === number) return current;
    return this.#load(app.id, number, v.created_at);
  }

  #load(appId: number, version: number, createdAt: number): SiteIndex {
    const info = this.storage.apps.serverInfo(appId, version);
    // A manifest that was accepted at deploy time parses again.
    const server = info.hasBuild ? { manifest: parseManifest(info.manifest) } : undefined;
    return new SiteIndex(
      appId,
      version,
      createdAt,
      this.storage.apps.files(appId, version),
      server,
      (server?.manifest ?? spaManifest(info.manifest))?.spa,
    );
  }

  /**
   * After a deploy, rollback, promotion or delete of `name`: reloads it and
   * tells the listeners (the certificate manager: a new app needs a
   * certificate). Lookups of unknown names use `refresh` and tell no one.
   */
  changed(name: string): SiteIndex | null {
    const index = this.refresh(name);
    for (const listener of this.#listeners) listener(name);
    return index;
  }

  /** Calls `listener` after each `changed`; returns an unsubscribe. */
  onChange(listener: (name: string) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Reloads `name` from the database after a change. */
  refresh(name: string): SiteIndex | null {
    const app = this.storage.apps.get(name);
    const v = app?.live_version != null
      ? this.storage.apps.version(app.id, app.live_version)
      : undefined;
    const index = app && v ? this.#load(app.id, v.number, v.created_at) : null;
    // Unknown names are remembered too (bounded), so a flood of random hosts
    // does not become a flood of queries.
    if (index === null && this.#live.size > 10_000) return null;
    this.#live.set(name, index);
    return index;
  }

  /**
   * Forgets every app's index: the database under them was replaced (a
   * standby's refresh). Cached bodies stay: they are keyed by content.
   */
  reset(): void {
    this.#live.clear();
  }

  /** The bytes of a file in an encoding, from memory when hot. */
  body(file: SiteFile, encoding: Encoding): CachedBody {
    const key = file.cacheKeys[encoding];
    return this.bodies.get(key) ??
      this.bodies.set(key, this.storage.apps.content(file.meta.hash, encoding) ?? new Uint8Array());
  }

  /**
   * Whether a file is read chunk by chunk rather than whole: stored as
   * chunks and too big for the body cache (which keeps nothing over an
   * eighth of itself anyway).
   */
  #streamed(file: SiteFile, encoding: Encoding): boolean {
    if (encoding !== "identity" || file.meta.size <= this.bodies.maxBytes / 8) return false;
    return (this.storage.apps.contentInfo(file.meta.hash)?.chunks ?? 0) > 0;
  }

  /** A response with a file's body in an encoding; `headers` is called at most once. */
  response(
    file: SiteFile,
    encoding: Encoding,
    status: number,
    headers: () => HeadersInit,
  ): Response {
    if (this.#streamed(file, encoding)) {
      const h = new Headers(headers());
      h.set("content-length", String(file.meta.size));
      return new Response(this.#chunks(file.meta.hash, 0, file.meta.size), { status, headers: h });
    }
    return this.body(file, encoding).response(file, status, headers);
  }

  /** Bytes `start` to `end` (exclusive) of a file, unencoded. */
  slice(file: SiteFile, start: number, end: number): BodyInit {
    if (this.#streamed(file, "identity")) return this.#chunks(file.meta.hash, start, end);
    return this.body(file, "identity").bytes.subarray(start, end);
  }

  /** A stream of a chunked content's bytes from `start` to `end`, one chunk read per pull. */
  #chunks(hash: string, start: number, end: number): ReadableStream<Uint8Array> {
    const apps = this.storage.apps;
    let at = start;
    return new ReadableStream<Uint8Array>({
      pull(controller) {
        if (at >= end) return controller.close();
        const seq = Math.floor(at / CONTENT_CHUNK_BYTES);
        const chunk = apps.contentChunk(hash, seq);
        // Gone mid-answer (its version pruned): the response ends short, as a cut connection would.
        if (!chunk) return controller.error(new Error("the file is no longer stored"));
        const from = at - seq * CONTENT_CHUNK_BYTES;
        const piece = chunk.subarray(from, Math.min(chunk.byteLength, from + end - at));
        at += piece.byteLength;
        controller.enqueue(piece);
        if (at >= end) controller.close();
      },
    }, { highWaterMark: 0 });
  }
}

/** A static site's manifest, for its `spa` flag; one an older fazt stored that no longer parses is none. */
function spaManifest(text: string | undefined): Manifest | undefined {
  if (text === undefined) return undefined;
  try {
    return parseManifest(text);
  } catch {
    return undefined;
  }
}
