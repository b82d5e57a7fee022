import type { Params } from "./database.ts";
import { decodeCursor, encodeCursor } from "./cursor.ts";
import { checkAppId, checkLimit, checkPrefix } from "./input_checks.ts";

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

/**
 * The least string above every string that starts with `prefix`, for an
 * index range scan (LIKE would treat `%` and `_` as wildcards). SQLite
 * compares TEXT as UTF-8 bytes, which orders like code points, so bumping the
 * last code point works; null when the prefix is all U+10FFFF.
 */
function prefixEnd(prefix: string): string | null {
  const points = [...prefix];
  while (points.length) {
    const last = points.pop()!.codePointAt(0)!;
    if (last < 0x10ffff) {
      return points.join("") + String.fromCodePoint(last === 0xd7ff ? 0xe000 : last + 1);
    }
  }
  return null;
}
