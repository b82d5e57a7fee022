import type { Bytes } from "../storage/mod.ts";

/**
 * A hot file body and the responses already built from it. `Response.clone()`
 * of a byte-array response shares its bytes and copies its header list
 * without validating it again, where `new Response(bytes, …)` copies the
 * bytes and checks every header on each request (measured: +35 % req/s at
 * 10 KB, +50 % at 200 KB). Templates are keyed by the object that decides
 * their headers (a file of a live version), weakly, so an old version's
 * templates go with it. Each template holds its own copy of the bytes, which
 * the cache counts through `onTemplate`.
 */
export class CachedBody {
  #templates = new WeakMap<object, Map<number, Response>>();
  /** Templates made so far (each costs the body's size). */
  templates = 0;
  /** The cache's insertion count when this entry was last moved to the back. */
  touched = -1;

  /** `onTemplate` is absent for a body too big to keep: it gets no templates. */
  constructor(readonly bytes: Bytes, private onTemplate?: () => void) {}

  /** A fresh response for `owner` with `status`, built once and cloned after. */
  response(owner: object, status: number, headers: () => HeadersInit): Response {
    if (!this.onTemplate) return new Response(this.bytes, { status, headers: headers() });
    let byStatus = this.#templates.get(owner);
    if (!byStatus) {
      byStatus = new Map();
      this.#templates.set(owner, byStatus);
    }
    let template = byStatus.get(status);
    if (!template) {
      template = new Response(this.bytes, { status, headers: headers() });
      byStatus.set(status, template);
      this.templates++;
      this.onTemplate();
    }
    return template.clone();
  }

  /** Bytes held: the body and every template's copy. */
  get cost(): number {
    return this.bytes.byteLength * (1 + this.templates);
  }
}

/**
 * A least-recently-used cache of file bodies (and their response templates)
 * bounded by total bytes, so hot files are served without touching SQLite.
 * Keys are content hashes (plus encoding), which never change meaning, so
 * nothing here goes stale.
 */
export class BodyCache {
  #entries = new Map<string, CachedBody>();
  #bytes = 0;
  #inserts = 0;

  constructor(readonly maxBytes: number) {}

  get size(): number {
    return this.#bytes;
  }

  get count(): number {
    return this.#entries.size;
  }

  /**
   * The entry, moved to the back of the eviction order, unless nothing was
   * inserted since it last was: eviction only happens on insertion, so the
   * order among entries used since then does not matter, and the hot path
   * saves two Map operations per request.
   */
  get(key: string): CachedBody | undefined {
    const hit = this.#entries.get(key);
    if (hit && hit.touched !== this.#inserts) {
      this.#entries.delete(key);
      this.#entries.set(key, hit);
      hit.touched = this.#inserts;
    }
    return hit;
  }

  /**
   * Caches `body` under `key` and returns its entry; a body over an eighth of
   * the cache gets an entry that is not kept (and builds no templates).
   */
  set(key: string, body: Bytes): CachedBody {
    const existing = this.#entries.get(key);
    if (existing) return existing;
    if (body.byteLength > this.maxBytes / 8) return new CachedBody(body);
    const entry = new CachedBody(body, () => {
      if (this.#entries.get(key) !== entry) return; // evicted meanwhile: not counted any more
      this.#bytes += body.byteLength;
      this.#evict();
    });
    this.#inserts++;
    this.#entries.set(key, entry);
    entry.touched = this.#inserts;
    this.#bytes += entry.cost;
    this.#evict();
    return entry;
  }

  #evict(): void {
    for (const [k, v] of this.#entries) {
      if (this.#bytes <= this.maxBytes) break;
      this.#entries.delete(k);
      this.#bytes -= v.cost;
    }
  }

  clear(): void {
    this.#entries.clear();
    this.#bytes = 0;
  }
}
