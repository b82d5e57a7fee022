/**
 * Recomputes every analytics rollup from the raw events with plain SQL and
 * JavaScript, to prove the incrementally kept rollups equal a recount.
 */
import type { Database } from "../storage/mod.ts";

const HOUR = 3_600_000;
const DAY = 86_400_000;
const WEEK = 7 * DAY;

export interface Rollups {
  counts: string[];
  top: string[];
}

/**
 * Weeks and months whose every-app ('') row marks them rolled: the ones
 * queries read. Apps' rows of a period still being rolled (a few apps an
 * upkeep) are left out until then.
 */
const marked = (table: string) => `WHERE bucket IN (SELECT bucket FROM ${table} WHERE app = '')`;

/** The rollup tables as sorted lines (weeks and months once marked rolled). */
export function readRollups(db: Database): Rollups {
  const counts = db.all<Record<string, unknown>>(
    `SELECT app, grain, bucket, views, visitors, events FROM analytics_counts
     UNION ALL SELECT app, grain, bucket, views, visitors, events FROM analytics_week_counts
       ${marked("analytics_week_counts")}
     UNION ALL SELECT app, grain, bucket, views, visitors, events FROM analytics_month_counts
       ${marked("analytics_month_counts")}`,
  ).map((r) => `${r.app}|${r.grain}|${r.bucket}|${r.views}|${r.visitors}|${r.events}`);
  const top = db.all<Record<string, unknown>>(
    `SELECT app, dim, grain, bucket, value, count FROM analytics_top
     UNION ALL SELECT app, dim, grain, bucket, value, count FROM analytics_week_top
       ${marked("analytics_week_counts")}
     UNION ALL SELECT app, dim, grain, bucket, value, count FROM analytics_month_top
       ${marked("analytics_month_counts")}`,
  ).map((r) => `${r.app}|${r.dim}|${r.grain}|${r.bucket}|${r.value}|${r.count}`);
  return { counts: counts.sort(), top: top.sort() };
}

/** Every raw event, from the JSON arrays of `analytics_raw`. */
export function rawEvents(db: Database): Record<string, string | number | null>[] {
  const keys = [
    "id",
    "app",
    "name",
    "source",
    "path",
    "referrer",
    "browser",
    "os",
    "device",
    "visitor",
    "tags",
    "props",
  ];
  const interned = new Set([1, 2, 3, 4, 5, 6, 7, 8]);
  return db.all<{ id: number; events: string }>("SELECT id, events FROM analytics_raw ORDER BY id")
    .flatMap((r) => {
      const { strings, events } = JSON.parse(r.events) as {
        strings: string[];
        events: (string | number | null)[][];
      };
      return events.map((e) =>
        Object.fromEntries(keys.map((k, i) => {
          if (i === 0) return [k, r.id + (e[0] as number)];
          return [k, interned.has(i) ? strings[e[i] as number] : e[i]];
        }))
      );
    });
}

/**
 * The same lines, recounted from the raw events: each app by hour and by
 * day, every app together (app '') by day, and by week and by calendar
 * month (each app and '') the weeks and months the database has rolled up
 * (so marked by a '' row).
 */
export function recount(db: Database): Rollups {
  const rows = rawEvents(db);
  const counts = new Map<string, { views: number; events: number; visitors: Set<string> }>();
  const top = new Map<string, number>();
  for (const r of rows) {
    const at = Math.floor(Number(r.id) / 1000);
    const buckets = [["hour", at - (at % HOUR)], ["day", at - (at % DAY)]] as const;
    for (const [grain, bucket] of buckets) {
      const key = `${r.app}|${grain}|${bucket}`;
      let c = counts.get(key);
      if (!c) counts.set(key, c = { views: 0, events: 0, visitors: new Set() });
      const bump = (dim: string, value: unknown) => {
        const k = `${r.app}|${dim}|${grain}|${bucket}|${value}`;
        top.set(k, (top.get(k) ?? 0) + 1);
      };
      // A 404 counts its path only: no view, event, source or visitor.
      if (r.name === "$404") {
        bump("notfound", r.path);
        continue;
      }
      if (r.name === "pageview") c.views++;
      else c.events++;
      c.visitors.add(String(r.visitor));
      if (r.name === "pageview") {
        bump("path", r.path);
        if (r.referrer) bump("referrer", r.referrer);
        bump("browser", r.browser);
        bump("os", r.os);
        bump("device", r.device);
      } else bump("event", r.name);
      bump("source", r.source);
      if (r.tags) { for (const tag of new Set(String(r.tags).split(","))) bump("tag", tag); }
    }
  }
  const lines = new Map<string, { views: number; visitors: number; events: number }>();
  for (const [k, c] of counts) {
    lines.set(k, { views: c.views, visitors: c.visitors.size, events: c.events });
  }
  const rolled = new Set(
    db.all<{ bucket: number }>(
      "SELECT bucket FROM analytics_week_counts WHERE app = ''",
    ).map((r) => r.bucket),
  );
  const rolledMonths = new Set(
    db.all<{ bucket: number }>(
      "SELECT bucket FROM analytics_month_counts WHERE app = ''",
    ).map((r) => r.bucket),
  );
  const monthOf = (day: number) => {
    const d = new Date(day);
    return Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1);
  };
  const add = (key: string, c: { views: number; visitors: number; events: number }) => {
    const into = lines.get(key) ?? { views: 0, visitors: 0, events: 0 };
    into.views += c.views;
    into.visitors += c.visitors;
    into.events += c.events;
    lines.set(key, into);
  };
  // Every app's days add up into '' and into their weeks and months; ''
  // days into its weeks and months.
  for (const [k, c] of [...lines]) {
    const [app, grain, bucket] = k.split("|");
    if (grain !== "day") continue;
    add(`|day|${bucket}`, c);
    const week = Number(bucket) - (Number(bucket) % WEEK);
    if (rolled.has(week)) {
      add(`${app}|week|${week}`, c);
      add(`|week|${week}`, c);
    }
    const month = monthOf(Number(bucket));
    if (rolledMonths.has(month)) {
      add(`${app}|month|${month}`, c);
      add(`|month|${month}`, c);
    }
  }
  for (const week of rolled) add(`|week|${week}`, { views: 0, visitors: 0, events: 0 });
  for (const month of rolledMonths) add(`|month|${month}`, { views: 0, visitors: 0, events: 0 });
  for (const [k, n] of [...top]) {
    const [app, dim, grain, bucket, value] = k.split("|");
    if (grain !== "day") continue;
    const bump = (key: string) => top.set(key, (top.get(key) ?? 0) + n);
    bump(`|${dim}|day|${bucket}|${value}`);
    const week = Number(bucket) - (Number(bucket) % WEEK);
    if (rolled.has(week)) {
      bump(`${app}|${dim}|week|${week}|${value}`);
      bump(`|${dim}|week|${week}|${value}`);
    }
    const month = monthOf(Number(bucket));
    if (rolledMonths.has(month)) {
      bump(`${app}|${dim}|month|${month}|${value}`);
      bump(`|${dim}|month|${month}|${value}`);
    }
  }
  return {
    counts: [...lines].map(([k, c]) => `${k}|${c.views}|${c.visitors}|${c.events}`).sort(),
    top: [...top].map(([k, n]) => `${k}|${n}`).sort(),
  };
}
