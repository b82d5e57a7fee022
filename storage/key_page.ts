import type { Params } from "./database.ts";
import {
  checkAppId,
  checkLimit,
  checkPrefix,
  decodeCursor,
  encodeCursor,
  prefixEnd,
} from "./storage_error.ts";

/** The checked bounds of one page of an app's keys under a prefix, after a cursor. */
export interface KeyRange {
  limit: number;
  /** `app_id = ? AND key …` for a WHERE clause (fetch `limit + 1` rows). */
  where: string;
  params: Params;
}

export function keyRange(
  appId: number,
  opts: { prefix?: unknown; limit?: unknown; cursor?: unknown },
  maxKey: number,
): KeyRange {
  checkAppId(appId);
  const prefix = checkPrefix(opts.prefix, maxKey);
  const limit = checkLimit(opts.limit);
  const after = decodeCursor(opts.cursor);
  const end = prefixEnd(prefix);
  const params: Params = [appId, prefix, after ?? ""];
  if (end !== null) params.push(end);
  const where = `app_id = ? AND key >= ? AND key > ?${end === null ? "" : " AND key < ?"}`;
  return { limit, where, params };
}

/** The first `limit` rows, and a cursor when there were more. */
export function keyPage<T extends { key: string }>(
  rows: T[],
  limit: number,
): { items: T[]; cursor: string | null } {
  const items = rows.slice(0, limit);
  const more = rows.length > limit;
  return { items, cursor: more ? encodeCursor(items[items.length - 1].key) : null };
}
