import { createHash } from "node:crypto";
import type { Database, Params } from "./database.ts";
import {
  checkAppId,
  checkKey,
  checkLimit,
  decodeCursor,
  encodeCursor,
  forApp,
  invalid,
  isPlainObject,
  StorageError,
  toJson,
} from "./storage_error.ts";

export type Doc = Record<string, unknown>;
export type DocFilter = Record<string, unknown>;

export interface DocPage {
  items: Doc[];
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

export interface AppDocsOptions {
  now?: () => number;
  /** Field indexes are shared by every app and slow every insert, so they are capped. */
  maxIndexes?: number;
}

const COLLECTION = /^[A-Za-z0-9_-]{1,64}$/;
const FIELD_PATH = /^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$/;
const MAX_PATH = 256;
const MAX_ID = 128;
const MAX_DOC_BYTES = 1024 * 1024;
const MAX_FILTER_FIELDS = 32;
const MAX_SORT_FIELDS = 8;
const MAX_IN = 1000;
const ID_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
const NUMBER_TYPES = "('integer', 'real')";

type Scalar = string | number | boolean | null;

/** SQL for one field: its value, its JSON type, and its JSON path literal. */
interface FieldSql {
  value: string;
  type: string;
  path: string;
}

/** A WHERE fragment and the parameters it binds, in order. */
interface Sql {
  sql: string;
  params: Params;
}

/** A compiled filter, with the paths it tests for equality (index candidates). */
interface Where extends Sql {
  equalities: string[];
}

/**
 * Collections of JSON documents per app. Filters compile to SQL over
 * `json_extract` with every value bound; only validated field paths (and
 * fixed operator text) reach the SQL, so the planner can match them against
 * the expression indexes `ensureIndexes` creates.
 */
export class AppDocs {
  #db: Database;
  #now: () => number;
  #maxIndexes: number;
  /** Field index names, reloaded when the schema version moves. */
  #indexes = { version: -1, names: new Set<string>() };

  constructor(db: Database, opts: AppDocsOptions = {}) {
    this.#db = db;
    this.#now = opts.now ?? Date.now;
    this.#maxIndexes = opts.maxIndexes ?? 64;
  }

  /** Stores `doc`, keeping a string `doc.id` or generating one; an existing id is a CONFLICT. */
  insert(appId: number, collection: string, doc: Doc): Doc {
    checkAppId(appId);
    checkCollection(collection);
    if (!isPlainObject(doc)) throw invalid("doc", "doc must be an object");
    const id = doc.id === undefined ? randomId() : checkKey(doc.id, "id", MAX_ID);
    const text = toJson({ ...doc, id }, "doc", MAX_DOC_BYTES);
    const now = this.#now();
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
    if (changes === 0) throw new StorageError("CONFLICT", "a document has this id", "id");
    return JSON.parse(text);
  }

  get(appId: number, collection: string, id: string): Doc | undefined {
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

  delete(appId: number, collection: string, filter: DocFilter): number {
    const where = this.#where(appId, collection, filter);
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
   * Creates one expression index per distinct field path. Indexes lead with
   * (app_id, collection) and are shared by every app and collection, so
   * `indexes` keys are only validated: one app's index serves all of them.
   */
  ensureIndexes(appId: number, indexes: Record<string, string[]>): void {
    checkAppId(appId);
    if (!isPlainObject(indexes)) throw invalid("indexes", "indexes must map collections to fields");
    const paths = new Set<string>();
    for (const [collection, fields] of Object.entries(indexes)) {
      checkCollection(collection);
      if (!Array.isArray(fields)) throw invalid(collection, "index fields must be an array");
      for (const field of fields) paths.add(checkPath(field));
    }
    paths.delete("id"); // The primary key already covers it.
    this.#db.transaction(() => {
      const existing = this.#indexNames();
      const missing = [...paths].filter((p) => !existing.has(indexName(p)));
      if (existing.size + missing.length > this.#maxIndexes) {
        throw new StorageError("LIMIT_EXCEEDED", `at most ${this.#maxIndexes} indexes`, "indexes");
      }
      for (const path of missing) {
        this.#db.exec(
          `CREATE INDEX IF NOT EXISTS ${indexName(path)}
           ON app_docs (app_id, collection, json_extract(doc, '$.${path}'))`,
        );
      }
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

/** Field paths are the only input that reaches SQL text, so they are held to identifiers. */
function checkPath(path: unknown): string {
  if (
    typeof path !== "string" || path.length > MAX_PATH || !FIELD_PATH.test(path) ||
    path.split(".").includes("__proto__")
  ) {
    throw invalid(String(path), "field paths are dotted identifiers like 'a.b_c'");
  }
  return path;
}

function fieldSql(path: string): FieldSql {
  checkPath(path);
  if (path === "id") return { value: "id", type: "'text'", path: "'$.id'" };
  const literal = `'$.${path}'`;
  return {
    value: `json_extract(doc, ${literal})`,
    type: `json_type(doc, ${literal})`,
    path: literal,
  };
}

function indexName(path: string): string {
  return `docs_f_${createHash("sha256").update(path).digest("hex").slice(0, 20)}`;
}

function randomId(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(bytes, (b) => ID_ALPHABET[b & 63]).join("");
}

function compileFilter(filter: unknown): Where {
  if (!isPlainObject(filter)) throw invalid("filter", "filter must be an object");
  const entries = Object.entries(filter).filter(([, v]) => v !== undefined);
  if (entries.length > MAX_FILTER_FIELDS) {
    throw new StorageError(
      "LIMIT_EXCEEDED",
      `at most ${MAX_FILTER_FIELDS} filter fields`,
      "filter",
    );
  }
  const parts: string[] = [];
  const params: Params = [];
  const equalities: string[] = [];
  for (const [path, condition] of entries) {
    const field = fieldSql(path);
    for (const part of conditionsOf(path, condition)) {
      const sql = compileCondition(field, path, part.op, part.operand);
      parts.push(sql.sql);
      params.push(...sql.params);
      if (part.op === "$eq") equalities.push(path);
    }
  }
  return { sql: parts.length ? parts.join(" AND ") : "1", params, equalities };
}

/** `{f: v}` is `$eq`; `{f: {$op: v, ...}}` lists operators; a plain object without `$` keys is a value. */
function conditionsOf(path: string, condition: unknown): { op: string; operand: unknown }[] {
  if (!isPlainObject(condition)) return [{ op: "$eq", operand: condition }];
  const keys = Object.keys(condition);
  const ops = keys.filter((k) => k.startsWith("$"));
  if (ops.length === 0) return [{ op: "$eq", operand: condition }];
  if (ops.length !== keys.length) throw invalid(path, "do not mix operators and fields");
  return ops.map((op) => ({ op, operand: condition[op] }));
}

function compileCondition(field: FieldSql, path: string, op: string, operand: unknown): Sql {
  switch (op) {
    case "$eq":
      return equals(field, path, operand);
    case "$ne": {
      if (operand === null) return { sql: `${field.value} IS NOT NULL`, params: [] };
      const eq = equals(field, path, operand);
      // A missing field is "not equal", but its comparison yields NULL.
      return { sql: `NOT COALESCE(${eq.sql}, 0)`, params: eq.params };
    }
    case "$gt":
    case "$gte":
    case "$lt":
    case "$lte":
      return compare(field, path, op, operand);
    case "$in":
      return oneOf(field, path, operand);
    case "$contains":
      return contains(field, path, operand);
    default:
      throw invalid(path, `unknown operator ${op}`);
  }
}

/** Type guards keep `true` from matching 1 and the string "5" from matching 5. */
function equals(field: FieldSql, path: string, operand: unknown): Sql {
  if (operand === null) return { sql: `${field.value} IS NULL`, params: [] };
  if (typeof operand === "boolean") {
    return { sql: `(${field.value} = ? AND ${field.type} = '${operand}')`, params: [+operand] };
  }
  if (typeof operand === "string") {
    return { sql: `(${field.value} = ? AND ${field.type} = 'text')`, params: [operand] };
  }
  if (typeof operand === "number") {
    checkScalar(path, operand);
    return { sql: `(${field.value} = ? AND ${field.type} IN ${NUMBER_TYPES})`, params: [operand] };
  }
  // Objects and arrays compare as minified JSON, so key order matters.
  const text = toJson(operand, path, MAX_DOC_BYTES);
  return {
    sql: `(${field.type} IN ('object', 'array') AND ${field.value} = ?)`,
    params: [text],
  };
}

const COMPARISONS: Record<string, string> = { $gt: ">", $gte: ">=", $lt: "<", $lte: "<=" };

function compare(field: FieldSql, path: string, op: string, operand: unknown): Sql {
  if (typeof operand === "string") {
    return {
      sql: `(${field.value} ${COMPARISONS[op]} ? AND ${field.type} = 'text')`,
      params: [operand],
    };
  }
  if (typeof operand !== "number") throw invalid(path, `${op} needs a number or a string`);
  checkScalar(path, operand);
  return {
    sql: `(${field.value} ${COMPARISONS[op]} ? AND ${field.type} IN ${NUMBER_TYPES})`,
    params: [operand],
  };
}

/** Values are grouped by type and bound as one JSON array each, so list length never changes the SQL. */
function oneOf(field: FieldSql, path: string, operand: unknown): Sql {
  if (!Array.isArray(operand)) throw invalid(path, "$in needs an array");
  if (operand.length > MAX_IN) {
    throw new StorageError("LIMIT_EXCEEDED", `$in takes at most ${MAX_IN} values`, path);
  }
  const strings: string[] = [];
  const numbers: number[] = [];
  const parts: string[] = [];
  const params: Params = [];
  const flags = new Set<string>();
  for (const value of operand) {
    const scalar = checkScalar(path, value);
    if (typeof scalar === "string") strings.push(scalar);
    else if (typeof scalar === "number") numbers.push(scalar);
    else flags.add(String(scalar));
  }
  if (strings.length) {
    parts.push(`(${field.type} = 'text' AND ${field.value} IN (SELECT value FROM json_each(?)))`);
    params.push(JSON.stringify(strings));
  }
  if (numbers.length) {
    parts.push(
      `(${field.type} IN ${NUMBER_TYPES} AND ${field.value} IN (SELECT value FROM json_each(?)))`,
    );
    params.push(JSON.stringify(numbers));
  }
  if (flags.has("true")) parts.push(`${field.type} = 'true'`);
  if (flags.has("false")) parts.push(`${field.type} = 'false'`);
  if (flags.has("null")) parts.push(`${field.value} IS NULL`);
  return { sql: parts.length ? `(${parts.join(" OR ")})` : "0", params };
}

/** An element of an array field, or a substring of a string field. */
function contains(field: FieldSql, path: string, operand: unknown): Sql {
  const scalar = checkScalar(path, operand);
  const params: Params = [];
  let element: string;
  if (scalar === null) element = "e.type = 'null'";
  else if (typeof scalar === "boolean") element = `e.type = '${scalar}'`;
  else {
    element = typeof scalar === "string"
      ? "e.type = 'text' AND e.value = ?"
      : `e.type IN ${NUMBER_TYPES} AND e.value = ?`;
    params.push(scalar);
  }
  let text = "0";
  if (typeof scalar === "string") {
    text = `instr(${field.value}, ?) > 0`;
    params.push(scalar);
  }
  return {
    sql: `(CASE ${field.type}
      WHEN 'array' THEN EXISTS (SELECT 1 FROM json_each(app_docs.doc, ${field.path}) AS e
        WHERE ${element})
      WHEN 'text' THEN ${text} ELSE 0 END)`,
    params,
  };
}

function checkScalar(path: string, value: unknown): Scalar {
  if (value === null || typeof value === "string" || typeof value === "boolean") return value;
  if (typeof value === "number" && Number.isFinite(value)) return value;
  throw invalid(path, "expected a string, finite number, boolean or null");
}

function compileSort(sort: unknown): string | undefined {
  if (sort === undefined) return undefined;
  if (!isPlainObject(sort)) throw invalid("sort", "sort must map fields to 1 or -1");
  const entries = Object.entries(sort);
  if (entries.length > MAX_SORT_FIELDS) {
    throw new StorageError("LIMIT_EXCEEDED", `at most ${MAX_SORT_FIELDS} sort fields`, "sort");
  }
  let sql = "";
  for (const [path, direction] of entries) {
    if (direction !== 1 && direction !== -1) throw invalid(path, "sort direction must be 1 or -1");
    sql += `${fieldSql(path).value} ${direction === 1 ? "ASC" : "DESC"}, `;
  }
  return sql;
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
