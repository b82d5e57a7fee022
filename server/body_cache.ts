import type { Bytes } from "../storage/mod.ts";

/**
 * A least-recently-used cache of file bodies bounded by total bytes, so hot
 * files are served without touching SQLite. Keys are content hashes (plus
 * encoding), which never change meaning, so nothing here goes stale.
 */
export class BodyCache {
  #entries = new Map<string, Bytes>();
  #bytes = 0;

  constructor(readonly maxBytes: number) {}

  get size(): number {
    return this.#bytes;
  }

  get count(): number {
    return this.#entries.size;
  }

  get(key: string): Bytes | undefined {
    const hit = this.#entries.get(key);
    if (hit) {
      this.#entries.delete(key);
      this.#entries.set(key, hit);
    }
    return hit;
  }

  /** Stores `body` unless it alone would take more than an eighth of the cache. */
  set(key: string, body: Bytes): void {
    if (body.byteLength > this.maxBytes / 8 || this.#entries.has(key)) return;
    this.#entries.set(key, body);
    this.#bytes += body.byteLength;
    for (const [k, v] of this.#entries) {
      if (this.#bytes <= this.maxBytes) break;
      this.#entries.delete(k);
      this.#bytes -= v.byteLength;
    }
  }

  clear(): void {
    this.#entries.clear();
    this.#bytes = 0;
  }
}
