import type { Database } from "./database.ts";
import { checkAppId } from "./input_checks.ts";
import { forApp, invalid, StorageError } from "./storage_error.ts";
import { keyPage, keyRange } from "./key_page.ts";

export interface BlobMeta {
  key: string;
  size: number;
  content_type: string;
  updated_at: number;
}

export interface BlobRecord extends BlobMeta {
  data: Uint8Array;
}

export interface BlobPage {
  items: BlobMeta[];
  cursor: string | null;
}

export interface BlobListOptions {
  prefix?: string;
  limit?: number;
  cursor?: string;
}

export interface BlobStoreOptions {
  now?: () => number;
  /** Largest blob accepted, in bytes. */
  maxSize?: number;
}

const MAX_KEY = 1024;
const DEFAULT_TYPE = "application/octet-stream";
/** The content type is served back as a header, so it must be one header-safe line. */
const CONTENT_TYPE = /^[\x21-\x7e][\x20-\x7e]{0,254}$/;
const META = "key, size, content_type, updated_at";

/**
 * Byte blobs per app, whole values in one row. Metadata columns precede the
 * bytes, so `head` and `list` never read a blob's overflow pages. Rows are
 * copied into ordinary objects (SQLite's have a null prototype) because they
 * are handed to app code.
 */
export class BlobStore {
  #db: Database;
  #now: () => number;
  #maxSize: number;

  constructor(db: Database, opts: BlobStoreOptions = {}) {
    this.#db = db;
    this.#now = opts.now ?? Date.now;
    this.#maxSize = opts.maxSize ?? 50 * 1024 * 1024;
  }

  put(appId: number, key: string, data: Uint8Array, opts: { contentType?: string } = {}): BlobMeta {
    checkAppId(appId);
    checkBlobKey(key);
    if (!(data instanceof Uint8Array)) throw invalid("data", "data must be a Uint8Array");
    if (data.byteLength > this.#maxSize) {
      throw new StorageError("LIMIT_EXCEEDED", `blobs are at most ${this.#maxSize} bytes`, "data");
    }
    const contentType = opts.contentType ?? DEFAULT_TYPE;
    if (typeof contentType !== "string" || !CONTENT_TYPE.test(contentType)) {
      throw invalid("contentType", "contentType must be printable ASCII, at most 255 characters");
    }
    const meta = { key, size: data.byteLength, content_type: contentType, updated_at: this.#now() };
    forApp(() =>
      this.#db.run(
        `INSERT INTO app_blobs (app_id, key, size, content_type, updated_at, data)
         VALUES (?, ?, ?, ?, ?, ?)
         ON CONFLICT (app_id, key) DO UPDATE SET size = excluded.size,
           content_type = excluded.content_type, updated_at = excluded.updated_at,
           data = excluded.data`,
        appId,
        key,
        meta.size,
        meta.content_type,
        meta.updated_at,
        data,
      )
    );
    return meta;
  }

  get(appId: number, key: string): BlobRecord | undefined {
    checkAppId(appId);
    checkBlobKey(key);
    const row = this.#db.get<BlobRecord>(
      `SELECT ${META}, data FROM app_blobs WHERE app_id = ? AND key = ?`,
      appId,
      key,
    );
    return row && { ...row };
  }

  head(appId: number, key: string): BlobMeta | undefined {
    checkAppId(appId);
    checkBlobKey(key);
    const row = this.#db.get<BlobMeta>(
      `SELECT ${META} FROM app_blobs WHERE app_id = ? AND key = ?`,
      appId,
      key,
    );
    return row && { ...row };
  }

  delete(appId: number, key: string): boolean {
    checkAppId(appId);
    checkBlobKey(key);
    return this.#db.run("DELETE FROM app_blobs WHERE app_id = ? AND key = ?", appId, key)
      .changes > 0;
  }

  /** Metadata in key order; the cursor is the last key returned, encoded. */
  list(appId: number, opts: BlobListOptions = {}): BlobPage {
    const { limit, where, params } = keyRange(appId, opts, MAX_KEY);
    const rows = this.#db.all<BlobMeta>(
      `SELECT ${META} FROM app_blobs WHERE ${where} ORDER BY key LIMIT ?`,
      ...params,
      limit + 1,
    );
    return keyPage(rows.map((r) => ({ ...r })), limit);
  }
}

function checkBlobKey(key: unknown): void {
  if (
    typeof key !== "string" || key.length < 1 || key.length > MAX_KEY || key.includes("\0") ||
    !key.isWellFormed()
  ) {
    throw invalid("key", `key must be 1 to ${MAX_KEY} characters without NUL`);
  }
}
