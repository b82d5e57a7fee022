import { createHash } from "node:crypto";
import type { Database } from "./database.ts";
import { checkPath, compileFilter, compileSort, MAX_DOC_BYTES, type Where } from "./doc_filter.ts";
import { decodeCursor, encodeCursor } from "./cursor.ts";
import { checkAppId, checkKey, checkLimit } from "./input_checks.ts";
import { isPlainObject, toJson, utf8Length } from "./json_value.ts";
import { type PendingUsage, pendingUsage } from "./pending_usage.ts";
import { forApp, invalid, StorageError } from "./storage_error.ts";

export type Doc = Record<string, unknown>;
/** A document as stored: `insert` gives every one an `id`, and no update changes it. */
export type StoredDoc = Doc & { id: string };
export type DocFilter = Record<string, unknown>;

export interface DocPage {
  items: StoredDoc[];
  cursor: string | null;
}

export interface FindOptions {
  /** Field paths, 1 ascending and -1 descending; `id` breaks ties. */
  sort?: Record<string, 1 | -1>;
  limit?: number;
  cursor?: string;
}

export interface DocUpdate {
  $set?: Record<string, unknown>;
  $unset?: Record<string, unknown> | string[];
  $inc?: Record<string, number>;
}

export interface DocStoreOptions {
  now?: () => number;
  /**
   * Field indexes slow every insert, so each app may declare at most this
   * many distinct fields (over its kept versions); the default of
   * `ensureIndexes`' `max`.
   */
  maxIndexes?: number;
}

const COLLECTION = /^[A-Za-z0-9_-]{1,64}$/;
const MAX_ID = 128;

/**
 * Collections of JSON documents per app. Filters compile to SQL in
 * `doc_filter.ts`; field indexes are expression indexes shared by every app.
 */
export class DocStore {
  #db: Database;
  #now: () => number;
  #maxIndexes: number;
  #usage: PendingUsage;
  /** Field index names, reloaded when the schema version moves. */
  #indexes = { version: -1, names: new Set<string>() };

  constructor(db: Database, opts: DocStoreOptions = {}) {
    this.#db = db;
    this.#now = opts.now ?? Date.now;
    this.#maxIndexes = opts.maxIndexes ?? 32;
    this.#usage = pendingUsage(db);
  }

  /** Stores `doc`, keeping a string `doc.id` or generating one; an existing id is a CONFLICT. */
  insert(appId: number, collection: string, doc: Doc): StoredDoc {
    return JSON.parse(this.insertJson(appId, collection, doc));
  }

  /** `insert`, answering with the stored document as its JSON text (what an app's call sends on). */
  insertJson(appId: number, collection: string, doc: Doc): string {
    checkAppId(appId);
    checkCollection(collection);
    if (!isPlainObject(doc)) throw invalid("doc", "doc must be an object");
    // The usage it adds is held until its transaction's end (`PendingUsage`):
    // alone, the insert gets a transaction of its own.
    return this.#db.transaction(() => this.#insert(appId, collection, doc));
  }

  #insert(appId: number, collection: string, doc: Doc): string {
    const generated = doc.id === undefined;
    const now = this.#now();
    // A generated id that is taken (its 48 random bits drawn twice in one
    // millisecond) is drawn again; a given one is the caller's conflict.
    for (let attempt = 0;; attempt++) {
      const id = generated ? newDocId(now) : checkKey(doc.id, "id", MAX_ID);
      const text = toJson({ ...doc, id }, "doc", MAX_DOC_BYTES);
      const { changes } = forApp(() =>
        this.#db.run(
          `INSERT INTO app_docs (app_id, collection, id, doc, created_at, updated_at)
           VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`,
          appId,
          collection,
          id,
          text,
          now,
          now,
        )
      );
      if (changes === 1) {
        // As octet_length() counts them: a collection name is ASCII.
        this.#usage.addDocs(appId, collection.length + utf8Length(id) + utf8Length(text));
        return text;
      }
      if (!generated || attempt >= 3) {
        throw new StorageError("CONFLICT", "a document has this id", "id");
      }
    }
  }

  get(appId: number, collection: string, id: string): StoredDoc | undefined {
    checkAppId(appId);
    checkCollection(collection);
    checkKey(id, "id", MAX_ID);
    const row = this.#db.get<{ doc: string }>(
      "SELECT doc FROM app_docs WHERE app_id = ? AND collection = ? AND id = ?",
      appId,
      collection,
      id,
    );
    return row ? JSON.parse(row.doc) : undefined;
  }

  /**
   * Matching documents. Without `sort` they come in id order and the cursor
   * is the last id (stable while documents change); with `sort` the cursor is
   * an offset, so concurrent writes may shift a page.
   */
  find(appId: number, collection: string, filter: DocFilter = {}, opts: FindOptions = {}): DocPage {
    const query = this.#findSql(appId, collection, filter, opts);
    const rows = this.#db.all<{ id: string; doc: string }>(query.sql, ...query.params);
    const more = rows.length > query.limit;
    const page = rows.slice(0, query.limit);
    let cursor: string | null = null;
    if (more) {
      cursor = query.offset === undefined
        ? encodeCursor(JSON.stringify({ after: page[page.length - 1].id }))
        : encodeCursor(JSON.stringify({ offset: query.offset + page.length }));
    }
    return { items: page.map((r) => JSON.parse(r.doc)), cursor };
  }

  /** The query plan `find` would use, for diagnosing missing indexes. */
  explain(
    appId: number,
    collection: string,
    filter: DocFilter = {},
    opts: FindOptions = {},
  ): string[] {
    const query = this.#findSql(appId, collection, filter, opts);
    return this.#db.all<{ detail: string }>(`EXPLAIN QUERY PLAN ${query.sql}`, ...query.params)
      .map((r) => r.detail);
  }

  /** Applies `update` to every match in one transaction; any refusal changes nothing. */
  update(appId: number, collection: string, filter: DocFilter, update: DocUpdate): number {
    const where = this.#where(appId, collection, filter);
    const apply = compileUpdate(update);
    return this.#db.transaction(() => {
      this.#usage.flush();
      const rows = this.#db.all<{ id: string; doc: string }>(
        `SELECT id, doc FROM app_docs WHERE ${where.sql}`,
        ...where.params,
      );
      const now = this.#now();
      for (const row of rows) {
        const doc: Doc = JSON.parse(row.doc);
        apply(doc);
        this.#db.run(
          "UPDATE app_docs SET doc = ?, updated_at = ? WHERE app_id = ? AND collection = ? AND id = ?",
          toJson(doc, "doc", MAX_DOC_BYTES),
          now,
          appId,
          collection,
          row.id,
        );
      }
      return rows.length;
    });
  }

  /**
   * Replaces the whole document `id` (its `id` kept); false when there is
   * none. A `doc.id` other than `id` is refused: ids never change.
   */
  replace(appId: number, collection: string, id: string, doc: Doc): boolean {
    checkAppId(appId);
    checkCollection(collection);
    checkKey(id, "id", MAX_ID);
    if (!isPlainObject(doc)) throw invalid("doc", "doc must be an object");
    if (doc.id !== undefined && doc.id !== id) {
      throw invalid("id", "a document's id cannot change");
    }
    const text = toJson({ ...doc, id }, "doc", MAX_DOC_BYTES);
    this.#usage.flush();
    const { changes } = forApp(() =>
      this.#db.run(
        "UPDATE app_docs SET doc = ?, updated_at = ? WHERE app_id = ? AND collection = ? AND id = ?",
        text,
        this.#now(),
        appId,
        collection,
        id,
      )
    );
    return changes > 0;
  }

  delete(appId: number, collection: string, filter: DocFilter): number {
    const where = this.#where(appId, collection, filter);
    this.#usage.flush();
    return this.#db.run(`DELETE FROM app_docs WHERE ${where.sql}`, ...where.params).changes;
  }

  count(appId: number, collection: string, filter: DocFilter = {}): number {
    const where = this.#where(appId, collection, filter);
    return this.#db.get<{ n: number }>(
      `SELECT COUNT(*) AS n FROM app_docs WHERE ${where.sql}`,
      ...where.params,
    )!.n;
  }

  /** An app's collections with their document counts, by name (for the dashboard). */
  collections(appId: number): { collection: string; count: number }[] {
    checkAppId(appId);
    return this.#db.all<{ collection: string; count: number }>(
      `SELECT collection, COUNT(*) AS count FROM app_docs WHERE app_id = ?
       GROUP BY collection ORDER BY collection`,
      appId,
    ).map((r) => ({ ...r }));
  }

  /**
   * The distinct field paths `indexes` declares (collection → fields), checked.
   * Throws `VALIDATION_FAILED` for a bad name, `LIMIT_EXCEEDED` for more than
   * `max` fields: the part of the cap that needs no database.
   */
  indexPaths(indexes: Record<string, string[]>, max = this.#maxIndexes): Set<string> {
    if (!isPlainObject(indexes)) throw invalid("indexes", "indexes must map collections to fields");
    const paths = new Set<string>();
    for (const [collection, fields] of Object.entries(indexes)) {
      checkCollection(collection);
      if (!Array.isArray(fields)) throw invalid(collection, "index fields must be an array");
      for (const field of fields) paths.add(checkPath(field));
    }
    paths.delete("id"); // The primary key already covers it.
    if (paths.size > max) throw tooManyIndexes(max);
    return paths;
  }

  /**
   * Records the fields `indexes` declares for the app and creates one
   * expression index per distinct field path. Indexes lead with (app_id,
   * collection) and are shared by every app and collection, so `indexes`
   * keys are only validated: one index serves all of them. Fields are
   * recorded for `version` (and go when it is pruned), or for the app's
   * lifetime without one; with `versions`, what the app's other versions
   * declared is forgotten (a deploy passes the new and the live version), so
   * an app can change its fields. The cap is per app: the distinct fields it
   * declares may not pass `max`, so no app can use up what another may
   * declare. Run it in the transaction that writes the version, so a
   * refusal writes nothing.
   */
  ensureIndexes(
    appId: number,
    indexes: Record<string, string[]>,
    opts: { version?: number; versions?: number[]; max?: number } = {},
  ): void {
    checkAppId(appId);
    const max = opts.max ?? this.#maxIndexes;
    const paths = this.indexPaths(indexes, max);
    this.#db.transaction(() => {
      if (opts.versions) {
        const keep = new Set(opts.versions);
        const rows = this.#db.all<{ version: number }>(
          "SELECT DISTINCT version FROM doc_indexes WHERE app_id = ? AND version IS NOT NULL",
          appId,
        );
        for (const { version } of rows) {
          if (keep.has(version)) continue;
          this.#db.run(
            "DELETE FROM doc_indexes WHERE app_id = ? AND version = ?",
            appId,
            version,
          );
        }
      }
      for (const path of paths) {
        this.#db.run(
          "INSERT OR IGNORE INTO doc_indexes (app_id, version, path) VALUES (?, ?, ?)",
          appId,
          opts.version ?? null,
          path,
        );
      }
      const declared = this.#db.get<{ n: number }>(
        "SELECT COUNT(DISTINCT path) AS n FROM doc_indexes WHERE app_id = ?",
        appId,
      )!.n;
      if (declared > max) throw tooManyIndexes(max);
      const existing = this.#indexNames();
      for (const path of paths) {
        if (existing.has(indexName(path))) continue;
        this.#db.exec(
          `CREATE INDEX IF NOT EXISTS ${indexName(path)}
           ON app_docs (app_id, collection, json_extract(doc, '$.${path}'))`,
        );
      }
    });
  }

  /**
   * Drops field indexes no app declares any more (their versions were
   * pruned, or their app deleted). Returns how many went.
   */
  dropUnusedIndexes(): number {
    return this.#db.transaction(() => {
      const wanted = new Set(
        this.#db.all<{ path: string }>("SELECT DISTINCT path FROM doc_indexes")
          .map((r) => indexName(r.path)),
      );
      let dropped = 0;
      for (const name of this.#indexNames()) {
        if (wanted.has(name)) continue;
        this.#db.exec(`DROP INDEX IF EXISTS ${name}`);
        dropped++;
      }
      return dropped;
    });
  }

  #where(appId: number, collection: string, filter: DocFilter): Where {
    checkAppId(appId);
    checkCollection(collection);
    const match = compileFilter(filter);
    return {
      sql: `app_id = ? AND collection = ? AND ${match.sql}`,
      params: [appId, collection, ...match.params],
      equalities: match.equalities,
    };
  }

  #indexNames(): Set<string> {
    const { schema_version } = this.#db.get<{ schema_version: number }>("PRAGMA schema_version")!;
    if (schema_version !== this.#indexes.version) {
      const rows = this.#db.all<{ name: string }>(
        "SELECT name FROM sqlite_master WHERE type = 'index' AND name LIKE 'docs\\_f\\_%' ESCAPE '\\'",
      );
      this.#indexes = { version: schema_version, names: new Set(rows.map((r) => r.name)) };
    }
    return this.#indexes.names;
  }

  #findSql(appId: number, collection: string, filter: DocFilter, opts: FindOptions) {
    const where = this.#where(appId, collection, filter);
    const limit = checkLimit(opts.limit);
    const order = compileSort(opts.sort);
    const position = parseDocCursor(opts.cursor, order !== undefined);
    // Without statistics the planner walks the primary key to skip sorting by
    // id, even past a field index that would find the few matches directly;
    // a unary + on id takes that option away when such an index exists.
    const names = this.#indexNames();
    const indexed = where.equalities.some((p) => p !== "id" && names.has(indexName(p)));
    const id = indexed ? "+id" : "id";
    const params = [...where.params];
    let sql = `SELECT id, doc FROM app_docs WHERE ${where.sql}`;
    if (position.after !== undefined) {
      sql += ` AND ${id} > ?`;
      params.push(position.after);
    }
    sql += ` ORDER BY ${order ?? ""}${id} LIMIT ?`;
    params.push(limit + 1);
    if (position.offset !== undefined) {
      sql += " OFFSET ?";
      params.push(position.offset);
    }
    return { sql, params, limit, offset: position.offset };
  }
}

function checkCollection(collection: unknown): void {
  if (typeof collection !== "string" || !COLLECTION.test(collection)) {
    throw invalid("collection", "collection must be 1-64 letters, digits, '_' or '-'");
  }
}

function tooManyIndexes(max: number): StorageError {
  return new StorageError(
    "LIMIT_EXCEEDED",
    `an app may declare at most ${max} indexed fields over its kept versions`,
    "indexes",
  );
}

function indexName(path: string): string {
  return `docs_f_${createHash("sha256").update(path).digest("hex").slice(0, 20)}`;
}

// Ids are cut from a pool of random bytes filled 64 KiB at a time: one
// `getRandomValues` per id was a tenth of the write path.
const POOL = new Uint8Array(65536);
let poolAt = POOL.length;

/** The 64 characters of generated ids in byte order, so ids sort as SQLite compares them. */
const SORTED_ALPHABET = "-0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ_abcdefghijklmnopqrstuvwxyz";

/**
 * A generated document id: 8 characters of the time in ms (most
 * significant first), then 8 random ones (48 bits). Ids made later sort
 * later, so inserts go to the end of the primary key's B-tree: random ids
 * landed each on a page of its own, and a transaction of 20 inserts wrote
 * ~25 pages to the WAL instead of ~6 (measured: 2x the write path's time).
 */
function newDocId(now: number): string {
  if (poolAt + 8 > POOL.length) {
    crypto.getRandomValues(POOL);
    poolAt = 0;
  }
  let time = "";
  let t = Math.max(0, Math.floor(now));
  for (let i = 0; i < 8; i++) {
    time = SORTED_ALPHABET[t % 64] + time;
    t = Math.floor(t / 64);
  }
  let random = "";
  for (let i = poolAt; i < poolAt + 8; i++) random += SORTED_ALPHABET[POOL[i] & 63];
  poolAt += 8;
  return time + random;
}

/** Unsorted pages resume after an id; sorted ones at an offset. */
function parseDocCursor(cursor: unknown, sorted: boolean): { after?: string; offset?: number } {
  const text = decodeCursor(cursor);
  if (text === undefined) return sorted ? { offset: 0 } : {};
  let position: unknown;
  try {
    position = JSON.parse(text);
  } catch {
    position = undefined;
  }
  if (isPlainObject(position)) {
    const { after, offset } = position;
    if (!sorted && typeof after === "string") return { after };
    if (sorted && typeof offset === "number" && Number.isSafeInteger(offset) && offset >= 0) {
      return { offset };
    }
  }
  throw invalid("cursor", "cursor is not one this query returned");
}

type Apply = (doc: Doc) => void;

/** Checks an update once and returns the function that applies it to each document. */
function compileUpdate(update: unknown): Apply {
  if (!isPlainObject(update)) throw invalid("update", "update must be an object");
  const keys = Object.keys(update);
  if (keys.length === 0) throw invalid("update", "update needs $set, $unset or $inc");
  const steps: Apply[] = [];
  for (const key of keys) {
    if (key === "$set") steps.push(...setSteps(update.$set));
    else if (key === "$unset") steps.push(...unsetSteps(update.$unset));
    else if (key === "$inc") steps.push(...incSteps(update.$inc));
    else throw invalid(key, `unknown update operator ${key}`);
  }
  return (doc) => steps.forEach((step) => step(doc));
}

function updatePath(path: string): string[] {
  checkPath(path);
  const segments = path.split(".");
  if (segments[0] === "id") throw invalid("id", "a document's id cannot change");
  return segments;
}

function setSteps(fields: unknown): Apply[] {
  if (!isPlainObject(fields)) throw invalid("$set", "$set must be an object");
  return Object.entries(fields).map(([path, value]) => {
    const segments = updatePath(path);
    const text = toJson(value, path, MAX_DOC_BYTES);
    return (doc) => {
      const [parent, leaf] = parentOf(doc, segments, path, true)!;
      // A fresh copy per document, so matched documents never share objects.
      parent[leaf] = JSON.parse(text);
    };
  });
}

function unsetSteps(fields: unknown): Apply[] {
  const paths = Array.isArray(fields) ? fields : isPlainObject(fields) ? Object.keys(fields) : null;
  if (!paths) throw invalid("$unset", "$unset must be an object or an array of fields");
  return paths.map((path) => {
    const segments = updatePath(path);
    return (doc) => {
      const found = parentOf(doc, segments, path, false);
      if (found) delete found[0][found[1]];
    };
  });
}

function incSteps(fields: unknown): Apply[] {
  if (!isPlainObject(fields)) throw invalid("$inc", "$inc must be an object");
  return Object.entries(fields).map(([path, by]) => {
    const segments = updatePath(path);
    if (typeof by !== "number" || !Number.isFinite(by)) throw invalid(path, "$inc needs a number");
    return (doc) => {
      const [parent, leaf] = parentOf(doc, segments, path, true)!;
      const current = Object.hasOwn(parent, leaf) ? parent[leaf] : 0;
      if (typeof current !== "number") throw invalid(path, "$inc on a field that is not a number");
      if (!Number.isFinite(current + by)) {
        throw new StorageError("LIMIT_EXCEEDED", "the result is too large for a number", path);
      }
      parent[leaf] = current + by;
    };
  });
}

/**
 * The object holding the path's last segment, creating missing objects on
 * the way when `create`. Only own properties are followed, so a path can
 * never reach a prototype.
 */
function parentOf(
  doc: Doc,
  segments: string[],
  path: string,
  create: boolean,
): [Doc, string] | undefined {
  let node = doc;
  for (const segment of segments.slice(0, -1)) {
    let next = Object.hasOwn(node, segment) ? node[segment] : undefined;
    if (next === undefined) {
      if (!create) return undefined;
      next = {};
      node[segment] = next;
    }
    if (!isPlainObject(next)) {
      if (!create) return undefined;
      throw invalid(path, `${path} goes through a field that is not an object`);
    }
    node = next;
  }
  return [node, segments[segments.length - 1]];
}
