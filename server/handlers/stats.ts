import {
  type CountRow,
  DAY_MS,
  type Dimension,
  HOUR_MS,
  type Span,
  type TopRow,
} from "../../storage/mod.ts";
import type { RouteContext } from "../context.ts";
import { HttpError } from "../http_error.ts";
import { intParam } from "../params.ts";
import type * as Api from "../api_types.ts";
import { type Answer, json } from "../respond.ts";

const MAX_BUCKETS = 5000;
const REALTIME_MS = 5 * 60_000;
const UNITS: Record<string, number> = { m: 60_000, h: HOUR_MS, d: DAY_MS, w: 7 * DAY_MS };

const floorTo = (t: number, unit: number) => t - (((t % unit) + unit) % unit);
const ceilTo = (t: number, unit: number) => floorTo(t + unit - 1, unit);

/** `ms`, an ISO date or time, `now`, or `<n>m|h|d|w` (that long before now). */
export function parseTime(raw: string | null, field: string, now: number): number | undefined {
  if (raw === null || raw.trim() === "") return undefined;
  const v = raw.trim();
  let t: number;
  if (v === "now") t = now;
  else if (/^\d{1,15}$/.test(v)) t = Number(v);
  else {
    const rel = /^-?(\d{1,6})([mhdw])$/.exec(v);
    t = rel ? now - Number(rel[1]) * UNITS[rel[2]] : Date.parse(v);
  }
  if (!Number.isFinite(t) || t < 0) {
    throw HttpError.validation(
      field,
      "time",
      `${field} must be ms since the epoch, an ISO date, 'now' or a duration like 7d`,
    );
  }
  return t;
}

function appParam(c: RouteContext): string | null {
  const app = c.url.searchParams.get("app")?.trim().toLowerCase();
  if (!app) return null;
  // deno-lint-ignore no-control-regex -- control characters are refused
  if (app.length > 253 || /[\u0000-\u001f]/.test(app)) {
    throw HttpError.validation("app", "app", "app must be an app name or a tracked domain");
  }
  return app;
}

const limitParam = (c: RouteContext) => intParam(c, "limit", { max: 1000, default: 10 });

export interface Range {
  from: number;
  to: number;
  interval: "hour" | "day";
  unit: number;
}

/**
 * `from`, `to` and `interval` from the query. Defaults: the last 30 days by
 * day (the last 24 hours by hour when `interval=hour`). Both ends are aligned
 * to the interval, `to` upwards, so the current bucket is included.
 */
export function rangeOf(q: URLSearchParams, now: number): Range {
  const raw = q.get("interval");
  if (raw !== null && raw !== "hour" && raw !== "day") {
    throw HttpError.validation("interval", "enum", "interval must be hour or day");
  }
  const to0 = parseTime(q.get("to"), "to", now) ?? now;
  const from0 = parseTime(q.get("from"), "from", now) ??
    to0 - (raw === "hour" ? DAY_MS : 30 * DAY_MS);
  if (from0 >= to0) throw HttpError.validation("from", "before_to", "from must be before to");
  const interval: Range["interval"] = raw ?? (to0 - from0 <= 2 * DAY_MS ? "hour" : "day");
  const unit = interval === "hour" ? HOUR_MS : DAY_MS;
  const from = floorTo(from0, unit);
  const to = Math.max(ceilTo(to0, unit), from + unit);
  if ((to - from) / unit > MAX_BUCKETS) {
    throw HttpError.validation(
      "interval",
      "max_buckets",
      `that range has more than ${MAX_BUCKETS} ${interval}s: use a shorter range or interval=day`,
    );
  }
  return { from, to, interval, unit };
}

/** `[from, to)` (hour-aligned) as whole days read from daily rollups, the rest from hourly ones. */
export function spansOf(from: number, to: number): Span[] {
  const d0 = ceilTo(from, DAY_MS);
  const d1 = floorTo(to, DAY_MS);
  if (d0 >= d1) return [{ grain: "hour", from, to }];
  const out: Span[] = [];
  if (from < d0) out.push({ grain: "hour", from, to: d0 });
  out.push({ grain: "day", from: d0, to: d1 });
  if (d1 < to) out.push({ grain: "hour", from: d1, to });
  return out;
}

function fill(
  rows: CountRow[],
  r: Range,
): { t: number; views: number; visitors: number; events: number }[] {
  const byBucket = new Map(rows.map((x) => [x.bucket, x]));
  const out = [];
  for (let t = r.from; t < r.to; t += r.unit) {
    const x = byBucket.get(t);
    out.push({ t, views: x?.views ?? 0, visitors: x?.visitors ?? 0, events: x?.events ?? 0 });
  }
  return out;
}

const TOP_LISTS: [string, Dimension][] = [
  ["paths", "path"],
  ["referrers", "referrer"],
  ["browsers", "browser"],
  ["oses", "os"],
  ["devices", "device"],
  ["events", "event"],
  ["sources", "source"],
];

const ALL_TIME: Span[] = [{ grain: "day", from: 0, to: 8.64e15 }];

function hourLabel(t: number): string {
  return new Date(t).toISOString().slice(0, 13).replace("T", " ") + ":00";
}

/** The original v0.9 `/api/stats` fields, from rollups, for `app` or every app. */
function legacyStats(c: RouteContext, app: string | null, now: number) {
  const store = c.server.storage.analytics;
  const all = (spans: Span[]) => {
    const t = store.totals(app, spans);
    return t.views + t.events;
  };
  const hourEnd = ceilTo(now + 1, HOUR_MS);
  const today = floorTo(now, DAY_MS);
  const timeline = store.counts(app, "hour", hourEnd - 24 * HOUR_MS, hourEnd);
  const byHour = new Map(timeline.map((x) => [x.bucket, x.views + x.events]));
  const apps = store.apps().filter((a) => app === null || a.app === app);
  return {
    total_events_today: all([{ grain: "day", from: today, to: today + DAY_MS }]),
    total_events_week: all(spansOf(floorTo(now - 7 * DAY_MS, HOUR_MS), hourEnd)),
    total_events_month: all(spansOf(floorTo(now - 30 * DAY_MS, HOUR_MS), hourEnd)),
    total_events_all_time: all(ALL_TIME),
    events_by_source_type: Object.fromEntries(
      store.top(app, "source", ALL_TIME, 100).map((x) => [x.value, x.count]),
    ),
    top_domains: apps.slice(0, 10).map((a) => ({ domain: a.app, count: a.views + a.events })),
    top_tags: store.top(app, "tag", ALL_TIME, 10).map((x) => ({ tag: x.value, count: x.count })),
    events_timeline: Array.from({ length: 24 }, (_, i) => {
      const t = hourEnd - (24 - i) * HOUR_MS;
      return { timestamp: hourLabel(t), count: byHour.get(t) ?? 0 };
    }),
    total_unique_domains: apps.length,
    total_redirect_clicks: 0,
  };
}

/**
 * `GET /api/stats?app=&from=&to=&interval=hour|day&limit=`: totals, a time
 * series with every bucket, top lists, and the original's fields.
 */
export async function stats(c: RouteContext): Promise<Answer<Api.Stats>> {
  const { analytics, storage } = c.server;
  await analytics.sync(); // buffered events first, and any pruning due
  const now = analytics.now();
  const app = appParam(c);
  const r = rangeOf(c.url.searchParams, now);
  const limit = limitParam(c);
  const spans = spansOf(r.from, r.to);
  const store = storage.analytics;
  const top: Record<string, TopRow[]> = {};
  for (const [key, dim] of TOP_LISTS) top[key] = store.top(app, dim, spans, limit);
  return json({
    app,
    from: r.from,
    to: r.to,
    interval: r.interval,
    totals: store.totals(app, spans),
    series: fill(store.counts(app, r.interval, r.from, r.to), r),
    top,
    by_app: {
      // One app's list is its top list: read once, not twice.
      paths: app === null
        ? store.topByApp(null, "path", spans, limit)
        : top.paths.map((x) => ({ app, ...x })),
      not_found: store.topByApp(app, "notfound", spans, limit),
    },
    not_stored: store.notStored(app, r.from, r.to),
    ...legacyStats(c, app, now),
  });
}

/** `GET /api/stats/realtime?app=`: visitors of the last 5 minutes and the pages they are on. */
export async function realtime(c: RouteContext): Promise<Answer<Api.Realtime>> {
  const { analytics, storage } = c.server;
  await analytics.sync(); // buffered events first, and any pruning due
  const now = analytics.now();
  const app = appParam(c);
  const since = now - REALTIME_MS;
  const r = storage.analytics.realtime(app, since);
  return json({
    app,
    since,
    visitors: r.visitors,
    pages: r.pages.map((p) => ({ path: p.value, visitors: p.count })),
  });
}

/**
 * `GET /api/stats/events?app=&name=&from=&to=&interval=&limit=`: named events
 * (not page views) over time, the most frequent names, and the newest ones
 * with their properties.
 */
export async function events(c: RouteContext): Promise<Answer<Api.EventStats>> {
  const { analytics, storage } = c.server;
  await analytics.sync(); // buffered events first, and any pruning due
  const now = analytics.now();
  const app = appParam(c);
  const name = c.url.searchParams.get("name")?.trim() || null;
  if (name !== null && name.length > 100) {
    throw HttpError.validation("name", "max_length", "name must be at most 100 characters");
  }
  const r = rangeOf(c.url.searchParams, now);
  const limit = limitParam(c);
  const store = storage.analytics;
  const spans = spansOf(r.from, r.to);
  let series: { t: number; count: number }[];
  let total: number;
  if (name === null) {
    series = fill(store.counts(app, r.interval, r.from, r.to), r).map((x) => ({
      t: x.t,
      count: x.events,
    }));
    total = store.totals(app, spans).events;
  } else {
    const rows = store.valueSeries(app, "event", name, r.interval, r.from, r.to);
    const byBucket = new Map(rows.map((x) => [x.bucket, x.count]));
    series = [];
    for (let t = r.from; t < r.to; t += r.unit) series.push({ t, count: byBucket.get(t) ?? 0 });
    total = series.reduce((sum, x) => sum + x.count, 0);
  }
  return json({
    app,
    name,
    from: r.from,
    to: r.to,
    interval: r.interval,
    total,
    series,
    names: store.top(app, "event", spans, limit).map((x) => ({ name: x.value, count: x.count })),
    recent: store.recentEvents(app, name, limit).map((e) => ({
      at: e.at,
      app: e.app,
      name: e.name,
      path: e.path,
      referrer: e.referrer,
      browser: e.browser,
      os: e.os,
      device: e.device,
      props: e.props === null ? null : JSON.parse(e.props),
    })),
  });
}
