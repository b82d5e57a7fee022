import type { Database } from "./database.ts";
import {
  ALL_APPS,
  type CountRow,
  countsTable,
  DAY_MS,
  type Dimension,
  type Grain,
  MAX_TOP_VALUES,
  monthAfter,
  monthStart,
  NOT_FOUND,
  notFoundQuota,
  PAGEVIEW,
  type Span,
  type StoredEvent,
  type TopRow,
  topTable,
  WEEK_MS,
} from "./analytics_model.ts";

/** An app filter: one app, or `null` for every app. */
export type AppFilter = string | null;

/**
 * Which rollup rows a filter reads: one app's; for every app, the rows of
 * `ALL_APPS` (days, weeks and months), or each app's hours through
 * `app IN (…)` so the reads stay range scans of the primary keys (which
 * begin with the app).
 */
function appWhere(app: AppFilter, grain: Grain): string {
  return app === null && grain === "hour"
    ? `app IN (SELECT DISTINCT app FROM analytics_counts WHERE grain = 'day' AND app <> '') AND `
    : "app = ? AND ";
}

function appParam(app: AppFilter, grain: Grain): string[] {
  if (app !== null) return [app];
  return grain === "hour" ? [] : [ALL_APPS];
}

const floorTo = (t: number, unit: number) => t - (((t % unit) + unit) % unit);

/**
 * SQLite's order of text (its bytes as UTF-8, so by code point), where
 * JavaScript's `<` orders UTF-16 units: a surrogate (of a code point past
 * U+FFFF) sorts after every other unit.
 */
function byCodePoint(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x === y) continue;
    const sx = x >= 0xd800 && x <= 0xdfff;
    const sy = y >= 0xd800 && y <= 0xdfff;
    return sx === sy ? x - y : sx ? 1 : -1;
  }
  return a.length - b.length;
}

/**
 * Dimensions with a handful of values a bucket (a browser's name, an OS, a
 * device type, a source): adding up all their rows costs less than reading
 * each bucket's first ones.
 */
const FEW_VALUES: ReadonlySet<Dimension> = new Set(["browser", "os", "device", "source"]);

/** Buckets a top list is read from a bucket at a time at most (more: all rows at once). */
const MAX_LISTS = 200;

/**
 * The read side of analytics: rollups by grain and dimension, and raw events
 * read back from the newest batches only (realtime, recent events).
 */
export class AnalyticsQuery {
  #db: Database;

  constructor(db: Database) {
    this.#db = db;
  }

  /** Count rows of one grain in `[from, to)`, summed over apps when `app` is null. */
  counts(app: AppFilter, grain: Grain, from: number, to: number): CountRow[] {
    return this.#db.all<CountRow>(
      `SELECT bucket, SUM(views) AS views, SUM(visitors) AS visitors, SUM(events) AS events
       FROM ${countsTable(grain)} WHERE ${
        appWhere(app, grain)
      }grain = ? AND bucket >= ? AND bucket < ?
       GROUP BY bucket ORDER BY bucket`,
      ...appParam(app, grain),
      grain,
      from,
      to,
    ).map((r) => ({ ...r }));
  }

  /** Totals over spans (e.g. whole days, then the hours of partial days). */
  totals(app: AppFilter, spans: readonly Span[]): Omit<CountRow, "bucket"> {
    const out = { views: 0, visitors: 0, events: 0 };
    for (const s of spans) {
      const r = this.#db.get<{ views: number | null; visitors: number | null; events: number }>(
        `SELECT SUM(views) AS views, SUM(visitors) AS visitors, SUM(events) AS events
         FROM ${countsTable(s.grain)}
         WHERE ${appWhere(app, s.grain)}grain = ? AND bucket >= ? AND bucket < ?`,
        ...appParam(app, s.grain),
        s.grain,
        s.from,
        s.to,
      )!;
      out.views += r.views ?? 0;
      out.visitors += r.visitors ?? 0;
      out.events += r.events ?? 0;
    }
    return out;
  }

  /**
   * The most frequent values of a dimension over spans. Whole months and
   * weeks that have their rollups are read a row a month or week (see
   * `#withRollups`), and most of each bucket's list is not grouped at all
   * (see `#topOfFirsts`).
   */
  top(app: AppFilter, dim: Dimension, spans: readonly Span[], limit: number): TopRow[] {
    if (spans.length === 0) return [];
    const read = this.#withRollups(spans);
    return this.#topOfFirsts(app, dim, read, limit) ?? this.#topOfAll(app, dim, read, limit);
  }

  /** `top` by adding up every row of the spans. */
  #topOfAll(app: AppFilter, dim: Dimension, read: readonly Span[], limit: number): TopRow[] {
    const parts = read.map((s) =>
      `SELECT value, count FROM ${topTable(s.grain)}
       WHERE ${appWhere(app, s.grain)}dim = ? AND grain = ? AND bucket >= ? AND bucket < ?`
    );
    const params = read.flatMap((s) => [...appParam(app, s.grain), dim, s.grain, s.from, s.to]);
    return this.#db.all<TopRow>(
      `SELECT value, SUM(count) AS count FROM (${parts.join(" UNION ALL ")})
       GROUP BY value ORDER BY count DESC, value LIMIT ?`,
      ...params,
      limit,
    ).map((r) => ({ ...r }));
  }

  /**
   * `top` from each bucket's most frequent values, or undefined when that
   * cannot be known to be the answer. Adding up a 90-day range's ~13k rows
   * by value is most of a stats query (SQLite sorts them), yet the first
   * few values of each bucket decide it: the values among each bucket's
   * first `2 × limit` are added up over every bucket (point reads), and a
   * value outside all of them has at most the sum of each bucket's next
   * count. When the last of the first `limit` has more than that, no other
   * value can reach it and the answer is exactly `#topOfAll`'s; when not
   * (values about as frequent as each other), undefined. A bucket with no
   * more values than that was read whole. Needs each bucket's list by
   * name: one app's rows, or every app's days, weeks and months (not every
   * app's hours, which are each app's); and a limit well under the cap
   * (else nearly every row is a first one).
   */
  #topOfFirsts(
    app: AppFilter,
    dim: Dimension,
    read: readonly Span[],
    limit: number,
  ): TopRow[] | undefined {
    const keep = Math.max(2 * limit, 20);
    if (limit < 1 || keep >= MAX_TOP_VALUES / 4 || FEW_VALUES.has(dim)) return undefined;
    if (app === null && read.some((s) => s.grain === "hour")) return undefined;
    const name = app ?? ALL_APPS;
    // The buckets from the counts, which are written with every top list.
    const lists: { grain: Grain; bucket: number }[] = [];
    for (const s of read) {
      const buckets = this.#db.all<{ bucket: number }>(
        `SELECT bucket FROM ${countsTable(s.grain)}
         WHERE app = ? AND grain = ? AND bucket >= ? AND bucket < ?`,
        name,
        s.grain,
        s.from,
        s.to,
      );
      for (const b of buckets) lists.push({ grain: s.grain, bucket: b.bucket });
      if (lists.length > MAX_LISTS) return undefined;
    }
    if (lists.length === 0) return [];
    // A statement a bucket, not one for them all: its text stays the same
    // whatever the range, so few are prepared and kept.
    const firsts: TopRow[] = [];
    const wanted = new Set<string>();
    let more = false;
    let bound = 0;
    for (const l of lists) {
      const rows = this.#db.all<TopRow>(
        `SELECT value, count FROM ${topTable(l.grain)}
         WHERE app = ? AND dim = ? AND grain = ? AND bucket = ?
         ORDER BY count DESC LIMIT ${keep + 1}`,
        name,
        dim,
        l.grain,
        l.bucket,
      );
      for (let i = 0; i < rows.length; i++) {
        if (i < keep) wanted.add(rows[i].value);
        else {
          more = true;
          bound += rows[i].count;
        }
      }
      firsts.push(...rows);
    }
    if (!more) {
      // Every bucket's whole list was read: add them up here.
      const sums = new Map<string, number>();
      for (const r of firsts) sums.set(r.value, (sums.get(r.value) ?? 0) + r.count);
      return [...sums].map(([value, count]) => ({ value, count }))
        .sort((x, y) => y.count - x.count || byCodePoint(x.value, y.value))
        .slice(0, limit);
    }
    // The wanted values of every bucket of a grain: point reads of the key.
    const grains = [...new Set(lists.map((l) => l.grain))];
    const rows = this.#db.all<TopRow>(
      `WITH wanted(value) AS (SELECT value FROM json_each(?))
       SELECT value, SUM(count) AS count FROM (${
        grains.map((g) =>
          `SELECT value, count FROM ${topTable(g)} WHERE app = ? AND dim = ? AND grain = ?
           AND bucket IN (SELECT value FROM json_each(?)) AND value IN wanted`
        ).join(" UNION ALL ")
      }) GROUP BY value ORDER BY count DESC, value LIMIT ?`,
      JSON.stringify([...wanted]),
      ...grains.flatMap((g) => [
        name,
        dim,
        g,
        JSON.stringify(lists.filter((l) => l.grain === g).map((l) => l.bucket)),
      ]),
      limit,
    );
    if (!(rows.length === limit && rows[limit - 1].count > bound)) return undefined;
    return rows.map((r) => ({ ...r }));
  }

  /**
   * The most frequent values of a dimension with the app of each, from each
   * app's own rows: over every app, `/` of one app and `/` of another stay
   * two entries (the all-apps rows add them up).
   *
   * Over every app it is each app's own top list, merged: exact (an entry
   * of the overall first `limit` is among its app's first `limit`), and each
   * app's rows are read as ranges of the primary key. One query grouping
   * every app's rows by app and value took three times as long.
   */
  topByApp(
    app: AppFilter,
    dim: Dimension,
    spans: readonly Span[],
    limit: number,
  ): (TopRow & { app: string })[] {
    if (spans.length === 0) return [];
    const apps = app === null ? this.#appsWithDays() : [app];
    const rows = apps.flatMap((a) => this.top(a, dim, spans, limit).map((r) => ({ app: a, ...r })));
    rows.sort((x, y) =>
      y.count - x.count || (x.app < y.app ? -1 : x.app > y.app ? 1 : 0) ||
      (x.value < y.value ? -1 : x.value > y.value ? 1 : 0)
    );
    return rows.slice(0, limit);
  }

  /** Every app (or tracked domain) with day rollups. */
  #appsWithDays(): string[] {
    return this.#db.all<{ app: string }>(
      "SELECT DISTINCT app FROM analytics_counts WHERE grain = 'day' AND app <> ? ORDER BY app",
      ALL_APPS,
    ).map((r) => r.app);
  }

  /** Per-bucket counts of one value of a dimension (e.g. one event name). */
  valueSeries(
    app: AppFilter,
    dim: Dimension,
    value: string,
    grain: Grain,
    from: number,
    to: number,
  ): { bucket: number; count: number }[] {
    return this.#db.all<{ bucket: number; count: number }>(
      `SELECT bucket, SUM(count) AS count FROM ${topTable(grain)}
       WHERE ${
        appWhere(app, grain)
      }dim = ? AND grain = ? AND bucket >= ? AND bucket < ? AND value = ?
       GROUP BY bucket ORDER BY bucket`,
      ...appParam(app, grain),
      dim,
      grain,
      from,
      to,
      value,
    ).map((r) => ({ ...r }));
  }

  /**
   * Raw events, newest first, from the batches that may hold events in
   * `[from, to)`; `keep` decides which are returned, `stop` ends the scan
   * early. At most `maxEvents` events are looked at.
   */
  #scan(
    from: number,
    to: number,
    maxEvents: number,
    keep: (e: StoredEvent) => boolean,
    stop: () => boolean,
  ): StoredEvent[] {
    const out: StoredEvent[] = [];
    let seen = 0;
    let below = to * 1000;
    while (seen < maxEvents && !stop()) {
      const rows = this.#db.all<{ id: number; events: string }>(
        `SELECT id, events FROM analytics_raw WHERE id < ? AND last_id >= ?
         ORDER BY id DESC LIMIT 20`,
        below,
        from * 1000,
      );
      if (rows.length === 0) break;
      for (const row of rows) {
        const { strings: t, events } = JSON.parse(row.events) as {
          strings: string[];
          events: unknown[][];
        };
        for (let i = events.length - 1; i >= 0 && seen < maxEvents && !stop(); i--) {
          const r = events[i] as number[];
          const id = row.id + r[0];
          if (id >= to * 1000 || id < from * 1000) continue;
          seen++;
          const e: StoredEvent = {
            at: Math.floor(id / 1000),
            app: t[r[1]],
            name: t[r[2]],
            source: t[r[3]],
            path: t[r[4]],
            referrer: t[r[5]],
            browser: t[r[6]],
            os: t[r[7]],
            device: t[r[8]],
            visitor: r[9] as unknown as string,
            tags: r[10] as unknown as string | null,
            props: r[11] as unknown as string | null,
          };
          if (keep(e)) out.push(e);
        }
        below = row.id;
      }
    }
    return out;
  }

  /**
   * The newest named (non-pageview) events, with their properties, among the
   * newest `maxEvents` raw events.
   */
  recentEvents(
    app: AppFilter,
    name: string | null,
    limit: number,
    maxEvents = 500_000,
  ): StoredEvent[] {
    const found: StoredEvent[] = [];
    this.#scan(0, Number.MAX_SAFE_INTEGER / 1000, maxEvents, (e) => {
      const ok = e.name !== PAGEVIEW && e.name !== NOT_FOUND &&
        (app === null || e.app === app) &&
        (name === null || e.name === name);
      if (ok) found.push(e);
      return false;
    }, () => found.length >= limit);
    return found;
  }

  /** Raw events in `[from, to)`, oldest first (at most `limit`). */
  events(app: AppFilter, from: number, to: number, limit = 100_000): StoredEvent[] {
    return this.#scan(
      from,
      to,
      Number.MAX_SAFE_INTEGER,
      (e) => app === null || e.app === app,
      () => false,
    )
      .slice(-limit)
      .reverse();
  }

  /**
   * Visitors seen since `since` and the page each was last on. Looks at most
   * at the newest `maxEvents` events, so a flood cannot make it slow.
   */
  realtime(
    app: AppFilter,
    since: number,
    maxEvents = 200_000,
  ): { visitors: number; pages: TopRow[] } {
    const last = new Map<string, string>();
    this.#scan(since, Number.MAX_SAFE_INTEGER / 1000, maxEvents, (e) => {
      if (e.name !== PAGEVIEW || (app !== null && e.app !== app)) return false;
      const key = `${e.app}\n${e.visitor}`;
      if (!last.has(key)) last.set(key, e.path); // newest first: the first seen is the latest
      return false;
    }, () => false);
    const pages = new Map<string, number>();
    for (const path of last.values()) pages.set(path, (pages.get(path) ?? 0) + 1);
    return {
      visitors: last.size,
      pages: [...pages].map(([value, count]) => ({ value, count }))
        .sort((a, b) => b.count - a.count || (a.value < b.value ? -1 : 1)),
    };
  }

  /** What `app` stored on `day` and counted over its daily cap (zeros for a day not seen). */
  quota(app: string, day: number): { stored: number; overflow: number } {
    const row = this.#db.get<{ stored: number; overflow: number }>(
      "SELECT stored, overflow FROM analytics_quota WHERE app = ? AND day = ?",
      app,
      day,
    );
    return { stored: row?.stored ?? 0, overflow: row?.overflow ?? 0 };
  }

  /**
   * Events counted over the daily cap, not stored, on the UTC days that
   * overlap `[from, to)`: the app's and its 404s' (`notFoundQuota`), or
   * every app's (and `*`'s) when `app` is null.
   */
  notStored(app: AppFilter, from: number, to: number): number {
    const day = from - (from % DAY_MS);
    return this.#db.get<{ n: number | null }>(
      `SELECT SUM(overflow) AS n FROM analytics_quota
       WHERE ${app === null ? "" : "app IN (?, ?) AND "}day >= ? AND day < ?`,
      ...(app === null ? [] : [app, notFoundQuota(app)]),
      day,
      to,
    )!.n ?? 0;
  }

  /** Page views per app (or tracked domain) from the day of `from` on, by app. */
  viewsSince(from: number): Map<string, number> {
    const rows = this.#db.all<{ app: string; views: number }>(
      `SELECT app, SUM(views) AS views FROM analytics_counts
       WHERE grain = 'day' AND app <> ? AND bucket >= ? GROUP BY app`,
      ALL_APPS,
      floorTo(from, DAY_MS),
    );
    return new Map(rows.map((r) => [r.app, r.views]));
  }

  /** Every app (or tracked domain) with rollups, with its all-time count of views and events. */
  apps(): { app: string; views: number; events: number }[] {
    return this.#db.all<{ app: string; views: number; events: number }>(
      `SELECT app, SUM(views) AS views, SUM(events) AS events FROM analytics_counts
       WHERE grain = 'day' AND app <> ? GROUP BY app ORDER BY views + events DESC, app`,
      ALL_APPS,
    ).map((r) => ({ ...r }));
  }

  /**
   * Day spans with the whole months in them that have rollups as month
   * spans, and the whole weeks in what is left as week spans (both get
   * theirs once they are over: `AnalyticsIngest.rollWeeks`, `rollMonths`).
   * A 90-day range reads two or three months, a few weeks and a few days:
   * about 13 lists of a dimension's values instead of 90. The answer is the
   * days' wherever no list reached `MAX_TOP_VALUES`; where one did, a value
   * past the cap is counted under `OTHER` in that month or week as it is in
   * that day (a month's or week's list keeps the most frequent of its days').
   */
  #withRollups(spans: readonly Span[]): Span[] {
    const last = this.#db.get<{ w: number | null; m: number | null }>(
      `SELECT (SELECT MAX(bucket) FROM analytics_week_counts WHERE app = ? AND grain = 'week') AS w,
         (SELECT MAX(bucket) FROM analytics_month_counts WHERE app = ? AND grain = 'month') AS m`,
      ALL_APPS,
      ALL_APPS,
    )!;
    const weeksUntil = last.w === null ? 0 : last.w + WEEK_MS;
    const monthsUntil = last.m === null ? 0 : monthAfter(last.m);
    const out: Span[] = [];
    const days = (from: number, to: number) => {
      const w0 = floorTo(from + WEEK_MS - 1, WEEK_MS);
      const w1 = Math.min(floorTo(to, WEEK_MS), weeksUntil);
      if (w0 >= w1) {
        if (from < to) out.push({ grain: "day", from, to });
        return;
      }
      if (from < w0) out.push({ grain: "day", from, to: w0 });
      out.push({ grain: "week", from: w0, to: w1 });
      if (w1 < to) out.push({ grain: "day", from: w1, to });
    };
    for (const s of spans) {
      if (s.grain !== "day") {
        out.push(s);
        continue;
      }
      const first = monthStart(s.from);
      const m0 = first === s.from ? first : monthAfter(first);
      const m1 = Math.min(monthStart(s.to), monthsUntil);
      if (!(m0 < m1)) {
        days(s.from, s.to);
        continue;
      }
      days(s.from, m0);
      out.push({ grain: "month", from: m0, to: m1 });
      days(m1, s.to);
    }
    return out;
  }
}
