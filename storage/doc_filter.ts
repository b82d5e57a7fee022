/**
 * Document filters and sorts compiled to SQL over `json_extract`. Every value
 * is bound; only validated field paths and fixed operator text reach the SQL
 * text, so the planner can match them against the expression indexes
 * `DocStore.ensureIndexes` creates.
 * @module
 */
import type { Params } from "./database.ts";
import { isPlainObject, toJson } from "./json_value.ts";
import { invalid, StorageError } from "./storage_error.ts";

/** The largest document, as JSON; also bounds a filter's object operand. */
export const MAX_DOC_BYTES = 1024 * 1024;
const FIELD_PATH = /^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$/;
const MAX_PATH = 256;
const MAX_FILTER_FIELDS = 32;
const MAX_SORT_FIELDS = 8;
const MAX_IN = 1000;
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
export interface Where extends Sql {
  equalities: string[];
}

/** Field paths are the only input that reaches SQL text, so they are held to identifiers. */
export function checkPath(path: unknown): string {
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

export function compileFilter(filter: unknown): Where {
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

export function compileSort(sort: unknown): string | undefined {
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
