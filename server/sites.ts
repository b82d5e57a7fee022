import type { Encoding, Storage } from "../storage/mod.ts";
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

  /** The bytes of a file in an encoding, from memory when hot. */
  body(file: SiteFile, encoding: Encoding): CachedBody {
    const key = file.cacheKeys[encoding];
    return this.bodies.get(key) ??
      this.bodies.set(key, this.storage.apps.content(file.meta.hash, encoding) ?? new Uint8Array());
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
