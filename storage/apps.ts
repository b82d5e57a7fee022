import { concatBytes } from "../lib/bytes.ts";
import type { Database } from "./database.ts";

export interface AppRecord {
  id: number;
  name: string;
  live_version: number | null;
  created_at: number;
  updated_at: number;
}

export interface AppSummary extends AppRecord {
  file_count: number;
  bytes: number;
  version_count: number;
  last_deploy_at: number | null;
  /** Drafts waiting: versions never live, newer than the live one. */
  draft_count: number;
}

const VERSION_COLUMNS = "number, file_count, bytes, deployed_by, created_at, live_from, live_until";

export interface VersionRecord {
  number: number;
  file_count: number;
  bytes: number;
  deployed_by: string | null;
  created_at: number;
  /** When it last became live; null if it never was. */
  live_from: number | null;
  /** When it last stopped being live; null while it is (or if it never was). */
  live_until: number | null;
}

/** One file of a version, without its bytes. */
export interface FileMeta {
  path: string;
  hash: string;
  size: number;
  gzip_size: number | null;
  br_size: number | null;
}

/**
 * A file of a new version. With `data` its content is written (whole) if not
 * stored yet; without, the content must already be stored (see `putContent`
 * and `putChunk`), or `createVersion` throws `MissingContentError`.
 */
export interface NewFile {
  path: string;
  hash: string;
  data?: Uint8Array;
  gzip?: Uint8Array;
  br?: Uint8Array;
}

/** How a stored content is kept: whole in its row, or as `chunks` numbered chunks. */
export interface ContentInfo {
  size: number;
  chunks: number;
}

/**
 * Contents over this size are stored as chunks of it: a deploy writes, and a
 * request reads, one chunk at a time. Smaller ones stay whole in one row, as
 * the static hot path reads them.
 */
export const CONTENT_CHUNK_BYTES = 1024 * 1024;

/**
 * `createVersion` found files whose content is not stored (another request
 * removed it since it was checked): store them again and retry.
 */
export class MissingContentError extends Error {
  override readonly name = "MissingContentError";

  constructor(readonly hashes: string[]) {
    super(`${hashes.length} file contents are not stored`);
  }
}

export type Encoding = "identity" | "gzip" | "br";

/** An app version's compiled server code (see runtime/compiler.ts). */
export interface Build {
  style: "module" | "script";
  entry: string;
  /** The bundled module (style "module"). */
  code: string;
  /** The original-style scripts by path (style "script"). */
  scripts?: Record<string, string>;
  /**
   * The source map of `code` (JSON), to the app's own files. Stored apart
   * (`sourceMap()`): `build()` returns builds without it.
   */
  sourceMap?: string;
}

/** Bytes backed by a plain ArrayBuffer, as `Response` bodies require. */
export type Bytes = Uint8Array<ArrayBuffer>;

const ENCODING_COLUMN: Record<Encoding, string> = { identity: "data", gzip: "gzip", br: "br" };

/**
 * Apps, their immutable versions and the content-addressed file store (the
 * VFS). A version is written whole in one transaction and becomes live last.
 */
export class AppStore {
  constructor(private db: Database) {}

  get(name: string): AppRecord | undefined {
    return this.db.get<AppRecord>("SELECT * FROM apps WHERE name = ?", name);
  }

  /** The names of the apps with a live version (what `<app>.<domain>` serves). */
  liveNames(): string[] {
    return this.db.all<{ name: string }>(
      "SELECT name FROM apps WHERE live_version IS NOT NULL ORDER BY name",
    ).map((r) => r.name);
  }

  list(): AppSummary[] {
    return this.db.all<AppSummary>(
      `SELECT a.*,
         COALESCE(v.file_count, 0) AS file_count,
         COALESCE(v.bytes, 0) AS bytes,
         (SELECT COUNT(*) FROM versions WHERE app_id = a.id) AS version_count,
         (SELECT MAX(created_at) FROM versions WHERE app_id = a.id) AS last_deploy_at,
         (SELECT COUNT(*) FROM versions WHERE app_id = a.id AND live_from IS NULL
            AND number > COALESCE(a.live_version, 0)) AS draft_count
       FROM apps a LEFT JOIN versions v ON v.app_id = a.id AND v.number = a.live_version
       ORDER BY a.name`,
    );
  }

  versions(appId: number): VersionRecord[] {
    return this.db.all<VersionRecord>(
      `SELECT ${VERSION_COLUMNS} FROM versions WHERE app_id = ? ORDER BY number DESC`,
      appId,
    );
  }

  version(appId: number, number: number): VersionRecord | undefined {
    return this.db.get<VersionRecord>(
      `SELECT ${VERSION_COLUMNS} FROM versions WHERE app_id = ? AND number = ?`,
      appId,
      number,
    );
  }

  files(appId: number, version: number): FileMeta[] {
    return this.db.all<FileMeta>(
      `SELECT f.path, f.hash, c.size, length(c.gzip) AS gzip_size, length(c.br) AS br_size
       FROM files f JOIN contents c ON c.hash = f.hash
       WHERE f.app_id = ? AND f.version = ? ORDER BY f.path`,
      appId,
      version,
    );
  }

  /**
   * The stored bytes of one content hash in one encoding, whole. A chunked
   * content is joined: read large files with `contentInfo` and
   * `contentChunk` instead.
   */
  content(hash: string, encoding: Encoding = "identity"): Bytes | undefined {
    const column = ENCODING_COLUMN[encoding];
    const row = this.db.get<{ body: Bytes | null; chunks: number }>(
      `SELECT ${column} AS body, chunks FROM contents WHERE hash = ?`,
      hash,
    );
    if (!row) return undefined;
    if (encoding !== "identity" || row.chunks === 0) return row.body ?? undefined;
    const parts: Uint8Array[] = [];
    for (let seq = 0; seq < row.chunks; seq++) {
      parts.push(this.contentChunk(hash, seq) ?? new Uint8Array());
    }
    return concatBytes(parts);
  }

  /** Size and chunk count of a stored content (identity encoding). */
  contentInfo(hash: string): ContentInfo | undefined {
    const row = this.db.get<ContentInfo>("SELECT size, chunks FROM contents WHERE hash = ?", hash);
    return row && { size: row.size, chunks: row.chunks };
  }

  /** Chunk `seq` (from 0) of a chunked content. */
  contentChunk(hash: string, seq: number): Bytes | undefined {
    return this.db.get<{ data: Bytes }>(
      "SELECT data FROM content_chunks WHERE hash = ? AND seq = ?",
      hash,
      seq,
    )?.data;
  }

  /** Which of `hashes` are already stored, so their work can be skipped. */
  storedHashes(hashes: string[]): Set<string> {
    const found = new Set<string>();
    for (const hash of hashes) {
      if (this.db.get("SELECT 1 FROM contents WHERE hash = ?", hash)) found.add(hash);
    }
    return found;
  }

  /**
   * Stores a content whole (with its variants) ahead of the version that
   * uses it. Until a version refers to it, it is garbage for `dropContents`
   * and `dropOrphans`.
   */
  putContent(
    hash: string,
    data: Uint8Array,
    variants: { gzip?: Uint8Array; br?: Uint8Array } = {},
  ) {
    this.db.run(
      "INSERT OR IGNORE INTO contents (hash, size, data, gzip, br) VALUES (?, ?, ?, ?, ?)",
      hash,
      data.byteLength,
      data,
      variants.gzip ?? null,
      variants.br ?? null,
    );
  }

  /** Stores chunk `seq` of a content to be sealed by `sealChunked`. */
  putChunk(hash: string, seq: number, data: Uint8Array): void {
    this.db.run(
      "INSERT OR REPLACE INTO content_chunks (hash, seq, data) VALUES (?, ?, ?)",
      hash,
      seq,
      data,
    );
  }

  /**
   * Makes a chunked content stored, once all its `chunks` are in: before
   * this, no version can use it and `storedHashes` does not list it.
   */
  sealChunked(
    hash: string,
    size: number,
    chunks: number,
    variants: { gzip?: Uint8Array; br?: Uint8Array } = {},
  ): void {
    this.db.run(
      `INSERT OR IGNORE INTO contents (hash, size, data, gzip, br, chunks)
       VALUES (?, ?, x'', ?, ?, ?)`,
      hash,
      size,
      variants.gzip ?? null,
      variants.br ?? null,
      chunks,
    );
  }

  /** Removes contents (and chunks) of `hashes` that no version uses: a deploy's leftovers. */
  dropContents(hashes: string[]): void {
    this.db.transaction(() => this.#dropUnreferenced(hashes));
  }

  /**
   * Removes every content and chunk no version uses: what a deploy that
   * stopped half-way (a crash) left behind. Returns how many contents went.
   */
  dropOrphans(): number {
    return this.db.transaction(() => {
      const gone = this.db.run(
        "DELETE FROM contents WHERE NOT EXISTS (SELECT 1 FROM files WHERE files.hash = contents.hash)",
      ).changes;
      this.db.run(
        `DELETE FROM content_chunks WHERE NOT EXISTS
           (SELECT 1 FROM contents WHERE contents.hash = content_chunks.hash)`,
      );
      return gone;
    });
  }

  /**
   * Writes a new version and makes it live (unless `draft`), all in one
   * transaction, then prunes versions beyond `keep`. Content already stored
   * is not written again; a file without `data` must have its content
   * stored already (`MissingContentError` otherwise, with nothing written).
   */
  createVersion(
    name: string,
    files: NewFile[],
    opts: {
      deployedBy?: string;
      keep: number;
      draft?: boolean;
      build?: Build;
      /** The manifest's JSON text, as deployed. */
      manifest?: string;
    },
  ): { app: AppRecord; version: VersionRecord } {
    return this.db.transaction(() => {
      const now = Date.now();
      this.db.run(
        `INSERT INTO apps (name, created_at, updated_at) VALUES (?, ?, ?)
         ON CONFLICT (name) DO NOTHING`,
        name,
        now,
        now,
      );
      const app = this.get(name)!;
      const number = this.db.get<{ n: number }>(
        "SELECT COALESCE(MAX(number), 0) + 1 AS n FROM versions WHERE app_id = ?",
        app.id,
      )!.n;
      let bytes = 0;
      const missing: string[] = [];
      for (const f of files) {
        if (f.data) this.putContent(f.hash, f.data, f);
        const size = this.db.get<{ size: number }>(
          "SELECT size FROM contents WHERE hash = ?",
          f.hash,
        )?.size;
        if (size === undefined) missing.push(f.hash);
        else bytes += size;
      }
      if (missing.length) throw new MissingContentError([...new Set(missing)]);
      this.db.run(
        `INSERT INTO versions (app_id, number, file_count, bytes, deployed_by, created_at)
         VALUES (?, ?, ?, ?, ?, ?)`,
        app.id,
        number,
        files.length,
        bytes,
        opts.deployedBy ?? null,
        now,
      );
      for (const f of files) {
        this.db.run(
          "INSERT INTO files (app_id, version, path, hash) VALUES (?, ?, ?, ?)",
          app.id,
          number,
          f.path,
          f.hash,
        );
      }
      if (opts.build || opts.manifest !== undefined) {
        const { sourceMap, ...build } = opts.build ?? {};
        this.db.run(
          "INSERT INTO builds (app_id, version, build, manifest, source_map) VALUES (?, ?, ?, ?, ?)",
          app.id,
          number,
          opts.build ? JSON.stringify(build) : null,
          opts.manifest ?? null,
          sourceMap ?? null,
        );
      }
      if (!opts.draft) this.#makeLive(app.id, number, now);
      this.#prune(app.id, opts.keep);
      return { app: this.get(name)!, version: this.version(app.id, number)! };
    });
  }

  /** The compiled server code of a version, if it has any. */
  build(appId: number, version: number): Build | undefined {
    const row = this.db.get<{ build: string | null }>(
      "SELECT build FROM builds WHERE app_id = ? AND version = ?",
      appId,
      version,
    );
    return row?.build ? JSON.parse(row.build) : undefined;
  }

  /** The source map of a version's server code, if it has one. */
  sourceMap(appId: number, version: number): string | undefined {
    const row = this.db.get<{ source_map: string | null }>(
      "SELECT source_map FROM builds WHERE app_id = ? AND version = ?",
      appId,
      version,
    );
    return row?.source_map ?? undefined;
  }

  /** Whether any app's live version has server code (the runtime then starts a spare host). */
  anyLiveServerCode(): boolean {
    return this.db.get(
      `SELECT 1 FROM builds b JOIN apps a ON a.id = b.app_id AND a.live_version = b.version
       WHERE b.build IS NOT NULL LIMIT 1`,
    ) !== undefined;
  }

  /**
   * Whether any app's live version has server code whose text contains
   * `needle` (the front door asks about `upgradeWebSocket`).
   */
  liveCodeMentions(needle: string): boolean {
    return this.db.get(
      `SELECT 1 FROM builds b JOIN apps a ON a.id = b.app_id AND a.live_version = b.version
       WHERE instr(b.build, ?) > 0 LIMIT 1`,
      needle,
    ) !== undefined;
  }

  /**
   * Records whether a version's code called `listenQueue` while it loaded
   * (the node starts a stopped app whose live version does when a message
   * of its queue is due).
   */
  setListensQueue(appId: number, version: number, listens: boolean): void {
    this.db.run(
      "UPDATE builds SET listens_queue = ? WHERE app_id = ? AND version = ?",
      listens ? 1 : 0,
      appId,
      version,
    );
  }

  /** Whether a version's code listens on its queue; undefined until it has loaded once. */
  listensQueue(appId: number, version: number): boolean | undefined {
    const row = this.db.get<{ l: number | null }>(
      "SELECT listens_queue AS l FROM builds WHERE app_id = ? AND version = ?",
      appId,
      version,
    );
    return row?.l == null ? undefined : row.l === 1;
  }

  /** Whether a version has server code, and its manifest text, without loading the code. */
  serverInfo(appId: number, version: number): { hasBuild: boolean; manifest?: string } {
    const row = this.db.get<{ has_build: number; manifest: string | null }>(
      "SELECT build IS NOT NULL AS has_build, manifest FROM builds WHERE app_id = ? AND version = ?",
      appId,
      version,
    );
    return { hasBuild: row?.has_build === 1, manifest: row?.manifest ?? undefined };
  }

  /** Points the app at another of its versions. */
  setLive(appId: number, number: number): void {
    this.db.transaction(() => this.#makeLive(appId, number, Date.now()));
  }

  /** Points the app at a version and records when the old one stopped and the new one began. */
  #makeLive(appId: number, number: number, now: number): void {
    const live = this.db.get<{ v: number | null }>(
      "SELECT live_version AS v FROM apps WHERE id = ?",
      appId,
    )?.v;
    if (live === number) return;
    if (live != null) {
      this.db.run(
        "UPDATE versions SET live_until = ? WHERE app_id = ? AND number = ?",
        now,
        appId,
        live,
      );
    }
    this.db.run(
      "UPDATE versions SET live_from = ?, live_until = NULL WHERE app_id = ? AND number = ?",
      now,
      appId,
      number,
    );
    this.db.run(
      "UPDATE apps SET live_version = ?, updated_at = ? WHERE id = ?",
      number,
      now,
      appId,
    );
  }

  /** Deletes the app, its versions, and content no other version uses. */
  delete(name: string): boolean {
    return this.db.transaction(() => {
      const app = this.get(name);
      if (!app) return false;
      const hashes = this.#hashesOf(app.id, Number.MAX_SAFE_INTEGER);
      this.db.run("DELETE FROM apps WHERE id = ?", app.id);
      this.#dropUnreferenced(hashes);
      return true;
    });
  }

  /** Keeps the newest `keep` versions, and always the live one. */
  #prune(appId: number, keep: number): void {
    const cutoff = this.db.get<{ n: number | null }>(
      "SELECT number AS n FROM versions WHERE app_id = ? ORDER BY number DESC LIMIT 1 OFFSET ?",
      appId,
      keep,
    )?.n;
    if (cutoff == null) return;
    const live =
      this.db.get<{ v: number | null }>("SELECT live_version AS v FROM apps WHERE id = ?", appId)!
        .v;
    const hashes = this.#hashesOf(appId, cutoff, live);
    this.db.run(
      "DELETE FROM versions WHERE app_id = ? AND number <= ? AND number IS NOT ?",
      appId,
      cutoff,
      live,
    );
    this.#dropUnreferenced(hashes);
  }

  #hashesOf(appId: number, maxVersion: number, except: number | null = null): string[] {
    return this.db.all<{ hash: string }>(
      "SELECT DISTINCT hash FROM files WHERE app_id = ? AND version <= ? AND version IS NOT ?",
      appId,
      maxVersion,
      except,
    ).map((r) => r.hash);
  }

  #dropUnreferenced(hashes: string[]): void {
    for (const hash of hashes) {
      this.db.run(
        "DELETE FROM contents WHERE hash = ? AND NOT EXISTS (SELECT 1 FROM files WHERE hash = ?)",
        hash,
        hash,
      );
      this.db.run(
        `DELETE FROM content_chunks WHERE hash = ?
         AND NOT EXISTS (SELECT 1 FROM contents WHERE hash = ?)`,
        hash,
        hash,
      );
    }
  }
}
