import type { Database } from "./database.ts";

/** One counted thing: a page view (`name` = `pageview`) or a named event. */
export interface AnalyticsEvent {
  /** When it happened, ms since the epoch. */
  at: number;
  /** The app's name, or for the original `/track` a domain that is no app here. */
  app: string;
  name: string;
  /** How it arrived: `server` (counted while serving), `track`, `pixel`. */
  source: string;
  path: string;
  /** The referring host only, `""` when there was none or it was the site itself. */
  referrer: string;
  browser: string;
  os: string;
  device: string;
  /** The day's salted hash of app, IP and user agent (never the IP). */
  visitor: string;
  tags: string[] | null;
  /** JSON text of the event's properties. */
  props: string | null;
}

/** A stored event, as the read side returns it: tags as stored text. */
export type StoredEvent = Omit<AnalyticsEvent, "tags"> & { tags: string | null };

/**
 * Values per event in a packed batch: `at, app, name, source, path,
 * referrer, agent, visitor, tags, props`, where `agent` is
 * `agentKey(browser, os, device)` and `tags` a list or null.
 */
export const PACKED_FIELDS = 10;

/**
 * A batch as one flat array of PACKED_FIELDS values per event: no object per
 * event, and cheap to send to another thread. `app`, `name`, `source` and
 * `agent` may be numbers: indexes into `strings`, so repeated values are
 * sent once.
 */
export interface PackedBatch {
  strings: string[];
  events: (string | number | string[] | null)[];
}

/** Fields of a packed event that may be an index into `strings`. */
const INTERNED = [1, 2, 3, 6];

export function agentKey(browser: string, os: string, device: string): string {
  return `${browser}\n${os}\n${device}`;
}

export function packEvents(events: readonly AnalyticsEvent[]): PackedBatch {
  const out: PackedBatch["events"] = [];
  for (const e of events) {
    out.push(
      e.at,
      e.app,
      e.name,
      e.source,
      e.path,
      e.referrer,
      agentKey(e.browser, e.os, e.device),
      e.visitor,
      e.tags,
      e.props,
    );
  }
  return { strings: [], events: out };
}

/** The batch with every interned field as its string again. */
function resolved(batch: PackedBatch): PackedBatch["events"] {
  const flat = batch.events;
  if (batch.strings.length === 0) return flat;
  const out = flat.slice();
  for (let i = 0; i < out.length; i += PACKED_FIELDS) {
    for (const f of INTERNED) {
      const v = out[i + f];
      if (typeof v === "number") out[i + f] = batch.strings[v];
    }
  }
  return out;
}

export function unpackEvents(batch: PackedBatch): AnalyticsEvent[] {
  const out: AnalyticsEvent[] = [];
  const flat = resolved(batch);
  for (let i = 0; i + PACKED_FIELDS <= flat.length; i += PACKED_FIELDS) {
    const [browser = "Other", os = "Other", device = "desktop"] = String(flat[i + 6]).split("\n");
    out.push({
      at: flat[i] as number,
      app: flat[i + 1] as string,
      name: flat[i + 2] as string,
      source: flat[i + 3] as string,
      path: flat[i + 4] as string,
      referrer: flat[i + 5] as string,
      browser,
      os,
      device,
      visitor: flat[i + 7] as string,
      tags: flat[i + 8] as string[] | null,
      props: flat[i + 9] as string | null,
    });
  }
  return out;
}

export type Grain = "hour" | "day";
export type Dimension =
  | "path"
  | "referrer"
  | "browser"
  | "os"
  | "device"
  | "event"
  | "source"
  | "tag";

export interface CountRow {
  bucket: number;
  views: number;
  visitors: number;
  events: number;
}

export interface TopRow {
  value: string;
  count: number;
}

/** A stretch of time read at one grain: `[from, to)`, both aligned to it. */
export interface Span {
  grain: Grain;
  from: number;
  to: number;
}

export const PAGEVIEW = "pageview";
export const HOUR_MS = 3_600_000;
export const DAY_MS = 86_400_000;
/** Named values kept per app, dimension and bucket; the rest add up under `OTHER`. */
export const MAX_TOP_VALUES = 1000;
export const OTHER = "(other)";

const CACHE_MAX = 50_000;

/** An app filter: one app, or `null` for every app. */
type AppFilter = string | null;

/**
 * Every app goes through `app IN (…)` rather than no condition, so rollup
 * reads stay range scans of the primary keys (which begin with the app).
 */
function appWhere(app: AppFilter): string {
  return app === null
    ? "app IN (SELECT DISTINCT app FROM analytics_counts WHERE grain = 'day') AND "
    : "app = ? AND ";
}

function appParam(app: AppFilter): string[] {
  return app === null ? [] : [app];
}

const DIMENSIONS: readonly Dimension[] = [
  "path",
  "referrer",
  "browser",
  "os",
  "device",
  "event",
  "source",
  "tag",
];

/** Counts of one app in one bucket, while a batch is aggregated. */
interface Agg {
  app: string;
  bucket: number;
  views: number;
  visitors: number;
  events: number;
  dims: Record<Dimension, Map<string, number>>;
  /** Page views per agent key (turned into browser, OS and device counts). */
  agents: Map<string, number>;
}

function newAgg(app: string, bucket: number): Agg {
  const dims = {} as Record<Dimension, Map<string, number>>;
  for (const d of DIMENSIONS) dims[d] = new Map();
  return { app, bucket, views: 0, visitors: 0, events: 0, dims, agents: new Map() };
}

function bump(m: Map<string, number>, value: string, n: number): void {
  m.set(value, (m.get(value) ?? 0) + n);
}

/** Hours-of-the-day bitmask per visitor of one app and day, in a batch. */
interface DayVisitors {
  app: string;
  day: number;
  masks: Map<string, number>;
}

/**
 * Analytics in SQLite: raw events (pruned after the retention period),
 * hourly and daily rollups (kept), the visitor hashes a day has counted, and
 * the day's salt.
 *
 * Raw events are one row per batch (a JSON array), since a row per event
 * cost the writer twice as much CPU; reading them back (realtime, recent
 * events) parses the newest batches only. An event's id is its time in ms
 * times 1000 plus a sequence number, so a batch covers an id range. Rollups
 * are updated in the same transaction as the raw row, from the id's time, so
 * they always equal a recount of the raw events they cover.
 */
export class AnalyticsStore {
  #db: Database;
  #lastId: number | undefined;
  /** `app\0day` → visitor → hours-of-the-day bitmask already counted. */
  #seen = new Map<string, Map<string, number>>();
  #seenCount = 0;
  /** `app\0dim\0grain\0bucket` → named values stored. */
  #cardinality = new Map<string, number>();
  /** Agent key → [browser, os, device]. */
  #agentNames = new Map<string, [string, string, string]>();

  constructor(db: Database) {
    this.#db = db;
  }

  #nextId(at: number): number {
    if (this.#lastId === undefined) {
      this.#lastId = this.#db.get<{ id: number | null }>(
        "SELECT max(last_id) AS id FROM analytics_raw",
      )!.id ?? 0;
    }
    const id = Math.max(this.#lastId + 1, Math.floor(at) * 1000);
    this.#lastId = id;
    return id;
  }

  #agent(key: string): [string, string, string] {
    let names = this.#agentNames.get(key);
    if (!names) {
      const [browser = "Other", os = "Other", device = "desktop"] = key.split("\n");
      names = [browser, os, device];
      if (this.#agentNames.size >= 1000) this.#agentNames.clear();
      this.#agentNames.set(key, names);
    }
    return names;
  }

  /**
   * Writes events and updates every rollup, all in one transaction. Events
   * are stored in time order; one older than the newest already stored is
   * stored at that newest time (ids only grow).
   */
  ingest(events: readonly AnalyticsEvent[]): void {
    this.ingestPacked(packEvents(events));
  }

  /** `ingest` for a packed batch (what the server's writer thread receives). */
  ingestPacked(batch: PackedBatch): void {
    const packed = resolved(batch);
    if (packed.length < PACKED_FIELDS) return;
    let sorted = true;
    for (let i = PACKED_FIELDS; i < packed.length && sorted; i += PACKED_FIELDS) {
      sorted = (packed[i - PACKED_FIELDS] as number) <= (packed[i] as number);
    }
    const rows = sorted
      ? packed
      : packEvents(unpackEvents({ strings: [], events: packed }).sort((a, b) => a.at - b.at))
        .events;
    const lastId = this.#lastId;
    try {
      this.#db.transaction(() => this.#ingest(rows));
    } catch (err) {
      // The in-memory views of the tables may now be ahead of them.
      this.#lastId = lastId;
      this.#seen.clear();
      this.#seenCount = 0;
      this.#cardinality.clear();
      throw err;
    }
  }

  #ingest(p: PackedBatch["events"]): void {
    const hours = new Map<string, Agg>();
    const visitors = new Map<string, DayVisitors>();
    let cur: Agg | undefined;
    let curApp = "";
    let curHour = -1;
    let days: DayVisitors | undefined;
    // The raw events of a batch are one row: a JSON array of events, with
    // repeated strings (app, path, browser…) once in `strings`.
    const raw: unknown[][] = [];
    const strings: string[] = [];
    const index = new Map<string, number>();
    const intern = (v: string): number => {
      let i = index.get(v);
      if (i === undefined) {
        i = strings.push(v) - 1;
        index.set(v, i);
      }
      return i;
    };
    let firstId = 0;
    let id = 0;
    for (let i = 0; i + PACKED_FIELDS <= p.length; i += PACKED_FIELDS) {
      const app = p[i + 1] as string;
      const name = p[i + 2] as string;
      const source = p[i + 3] as string;
      const path = p[i + 4] as string;
      const referrer = p[i + 5] as string;
      const agent = p[i + 6] as string;
      const visitor = p[i + 7] as string;
      const tags = p[i + 8] as string[] | null;
      const props = p[i + 9] as string | null;
      id = this.#nextId(p[i] as number);
      if (firstId === 0) firstId = id;
      const [browser, os, device] = this.#agent(agent);
      raw.push([
        id - firstId,
        intern(app),
        intern(name),
        intern(source),
        intern(path),
        intern(referrer),
        intern(browser),
        intern(os),
        intern(device),
        visitor,
        tags && tags.length ? tags.join(",") : null,
        props,
      ]);
      const at = Math.floor(id / 1000);
      const hour = at - (at % HOUR_MS);
      if (cur === undefined || app !== curApp || hour !== curHour) {
        const key = `${app}\0${hour}`;
        cur = hours.get(key);
        if (!cur) hours.set(key, cur = newAgg(app, hour));
        const day = hour - (hour % DAY_MS);
        const dayKey = `${app}\0${day}`;
        days = visitors.get(dayKey);
        if (!days) visitors.set(dayKey, days = { app, day, masks: new Map() });
        curApp = app;
        curHour = hour;
      }
      if (name === PAGEVIEW) {
        cur.views++;
        bump(cur.dims.path, path, 1);
        if (referrer) bump(cur.dims.referrer, referrer, 1);
        cur.agents.set(agent, (cur.agents.get(agent) ?? 0) + 1);
      } else {
        cur.events++;
        bump(cur.dims.event, name, 1);
      }
      bump(cur.dims.source, source, 1);
      if (tags) { for (const tag of new Set(tags)) bump(cur.dims.tag, tag, 1); }
      const masks = days!.masks;
      masks.set(visitor, (masks.get(visitor) ?? 0) | (1 << ((hour % DAY_MS) / HOUR_MS)));
    }
    if (raw.length) {
      this.#db.run(
        "INSERT INTO analytics_raw (id, last_id, count, events) VALUES (?, ?, ?, ?)",
        firstId,
        id,
        raw.length,
        JSON.stringify({ strings, events: raw }),
      );
    }
    // Browser, OS and device counts come from the agent counts.
    for (const h of hours.values()) {
      for (const [agent, n] of h.agents) {
        const [browser, os, device] = this.#agent(agent);
        bump(h.dims.browser, browser, n);
        bump(h.dims.os, os, n);
        bump(h.dims.device, device, n);
      }
    }
    // Daily rollups are the sums of the hourly ones.
    const dayAggs = new Map<string, Agg>();
    for (const h of hours.values()) {
      const day = h.bucket - (h.bucket % DAY_MS);
      const key = `${h.app}\0${day}`;
      let d = dayAggs.get(key);
      if (!d) dayAggs.set(key, d = newAgg(h.app, day));
      d.views += h.views;
      d.events += h.events;
      for (const dim of DIMENSIONS) {
        const into = d.dims[dim];
        for (const [value, n] of h.dims[dim]) bump(into, value, n);
      }
    }
    for (const v of visitors.values()) this.#countVisitors(v, hours, dayAggs);
    for (const [grain, aggs] of [["hour", hours], ["day", dayAggs]] as const) {
      for (const a of aggs.values()) {
        this.#db.run(
          `INSERT INTO analytics_counts (app, grain, bucket, views, visitors, events)
           VALUES (?, ?, ?, ?, ?, ?)
           ON CONFLICT (app, grain, bucket) DO UPDATE SET views = views + excluded.views,
             visitors = visitors + excluded.visitors, events = events + excluded.events`,
          a.app,
          grain,
          a.bucket,
          a.views,
          a.visitors,
          a.events,
        );
        for (const dim of DIMENSIONS) {
          if (a.dims[dim].size) this.#addTops(a.app, dim, grain, a.bucket, a.dims[dim]);
        }
      }
    }
  }

  /** Counts each visitor once per day and once per hour, whatever the batch. */
  #countVisitors(v: DayVisitors, hours: Map<string, Agg>, days: Map<string, Agg>): void {
    const db = this.#db;
    const dayKey = `${v.app}\0${v.day}`;
    let seen = this.#seen.get(dayKey);
    if (!seen) this.#seen.set(dayKey, seen = new Map());
    for (const [visitor, mask] of v.masks) {
      let known = seen.get(visitor);
      let fresh: number;
      if (known === undefined) {
        const inserted = db.run(
          "INSERT OR IGNORE INTO analytics_visitors (app, day, visitor, hours) VALUES (?, ?, ?, ?)",
          v.app,
          v.day,
          visitor,
          mask,
        ).changes;
        if (inserted) {
          days.get(dayKey)!.visitors++;
          known = 0;
          fresh = mask;
        } else {
          known = db.get<{ hours: number }>(
            "SELECT hours FROM analytics_visitors WHERE app = ? AND day = ? AND visitor = ?",
            v.app,
            v.day,
            visitor,
          )!.hours;
          fresh = mask & ~known;
          if (fresh) this.#setHours(v, visitor, known | fresh);
        }
      } else {
        fresh = mask & ~known;
        if (fresh) this.#setHours(v, visitor, known | fresh);
      }
      for (let h = 0; fresh >> h; h++) {
        if (fresh & (1 << h)) hours.get(`${v.app}\0${v.day + h * HOUR_MS}`)!.visitors++;
      }
      if (!seen.has(visitor) && ++this.#seenCount > CACHE_MAX) {
        this.#seen.clear();
        this.#seen.set(dayKey, seen = new Map());
        this.#seenCount = 1;
      }
      seen.set(visitor, known | fresh);
    }
  }

  #setHours(v: DayVisitors, visitor: string, hours: number): void {
    this.#db.run(
      "UPDATE analytics_visitors SET hours = ? WHERE app = ? AND day = ? AND visitor = ?",
      hours,
      v.app,
      v.day,
      visitor,
    );
  }

  /**
   * Adds a bucket's counts of one dimension to its top-list rows: one
   * multi-row upsert while the bucket is well under `MAX_TOP_VALUES` named
   * values, else row by row, adding values past the cap to `OTHER`.
   */
  #addTops(app: string, dim: Dimension, grain: Grain, bucket: number, values: Map<string, number>) {
    const db = this.#db;
    const key = `${app}\0${dim}\0${grain}\0${bucket}`;
    const count = () =>
      db.get<{ n: number }>(
        `SELECT COUNT(*) AS n FROM analytics_top
         WHERE app = ? AND dim = ? AND grain = ? AND bucket = ?`,
        app,
        dim,
        grain,
        bucket,
      )!.n;
    // `named` is an upper bound (every value of a batch counted as new) until
    // it nears the cap; then it is counted again.
    let named = this.#cardinality.get(key) ?? count();
    if (named + values.size > MAX_TOP_VALUES) named = count();
    if (named + values.size > MAX_TOP_VALUES || values.size > 500) {
      for (const [value, n] of values) {
        named = this.#addTop(app, dim, grain, bucket, value, n, named);
      }
    } else {
      const entries = [...values];
      // Chunks of 32, 8 and 1 rows, so a few statements are prepared, not one per size.
      for (let i = 0; i < entries.length;) {
        const left = entries.length - i;
        const size = left >= 32 ? 32 : left >= 8 ? 8 : 1;
        const params: (string | number)[] = [];
        for (const [value, n] of entries.slice(i, i + size)) {
          params.push(app, dim, grain, bucket, value, n);
        }
        db.run(
          `INSERT INTO analytics_top (app, dim, grain, bucket, value, count) VALUES ${
            Array(size).fill("(?, ?, ?, ?, ?, ?)").join(", ")
          } ON CONFLICT (app, dim, grain, bucket, value) DO UPDATE SET count = count + excluded.count`,
          ...params,
        );
        named += size;
        i += size;
      }
    }
    if (this.#cardinality.size >= CACHE_MAX) this.#cardinality.clear();
    this.#cardinality.set(key, named);
  }

  #addTop(
    app: string,
    dim: Dimension,
    grain: Grain,
    bucket: number,
    value: string,
    n: number,
    named: number,
  ): number {
    const db = this.#db;
    let target = value;
    if (named >= MAX_TOP_VALUES) {
      const updated = db.run(
        `UPDATE analytics_top SET count = count + ?
         WHERE app = ? AND dim = ? AND grain = ? AND bucket = ? AND value = ?`,
        n,
        app,
        dim,
        grain,
        bucket,
        value,
      ).changes;
      if (updated) return named;
      target = OTHER;
    }
    const total = db.get<{ count: number }>(
      `INSERT INTO analytics_top (app, dim, grain, bucket, value, count) VALUES (?, ?, ?, ?, ?, ?)
       ON CONFLICT (app, dim, grain, bucket, value) DO UPDATE SET count = count + excluded.count
       RETURNING count`,
      app,
      dim,
      grain,
      bucket,
      target,
      n,
    )!.count;
    return total === n && target === value ? named + 1 : named; // a new named value
  }

  /**
   * The salt of `day` (ms at its start, UTC). The first call of a day makes
   * one with `make` and deletes every other day's, so older visitor hashes
   * cannot be recomputed from anything fazt keeps.
   */
  salt(day: number, make: () => string): string {
    const db = this.#db;
    let erased = false;
    const salt = db.transaction(() => {
      const row = db.get<{ salt: string }>("SELECT salt FROM analytics_salts WHERE day = ?", day);
      if (db.get("SELECT 1 AS x FROM analytics_salts WHERE day <> ?", day)) {
        // Zero the old salt's bytes instead of leaving them in a free cell.
        const secure = db.get<{ secure_delete: number }>("PRAGMA secure_delete")!.secure_delete;
        db.exec("PRAGMA secure_delete = ON");
        try {
          db.run("DELETE FROM analytics_salts WHERE day <> ?", day);
        } finally {
          db.exec(`PRAGMA secure_delete = ${secure ? "ON" : "OFF"}`);
        }
        erased = true;
      }
      if (row) return row.salt;
      const fresh = make();
      db.run("INSERT INTO analytics_salts (day, salt) VALUES (?, ?)", day, fresh);
      return fresh;
    });
    // The WAL still holds older copies of the page: move the zeroed page into
    // the file and empty the WAL (best effort: a reader elsewhere delays it).
    if (erased) db.get("PRAGMA wal_checkpoint(TRUNCATE)");
    return salt;
  }

  /**
   * Deletes raw events older than `before` (a batch goes when its newest
   * event is older; at most `max` batches a call, so a backlog goes in steps)
   * and the counted-visitor rows of days before `keepDay`. Rollups are kept.
   * Returns how many raw events were deleted.
   */
  prune(before: number, keepDay: number, max = 500): number {
    return this.#db.transaction(() => {
      const old = this.#db.get<{ n: number | null; last: number | null }>(
        `SELECT SUM(count) AS n, MAX(id) AS last FROM (
           SELECT id, count FROM analytics_raw WHERE last_id < ? ORDER BY id LIMIT ?)`,
        before * 1000,
        max,
      )!;
      if (old.last !== null) {
        this.#db.run(
          "DELETE FROM analytics_raw WHERE id <= ? AND last_id < ?",
          old.last,
          before * 1000,
        );
      }
      this.#db.run("DELETE FROM analytics_visitors WHERE day < ?", keepDay);
      for (const [key, seen] of this.#seen) {
        if (Number(key.split("\0")[1]) < keepDay) {
          this.#seenCount -= seen.size;
          this.#seen.delete(key);
        }
      }
      return old.n ?? 0;
    });
  }

  /** Count rows of one grain in `[from, to)`, summed over apps when `app` is null. */
  counts(app: AppFilter, grain: Grain, from: number, to: number): CountRow[] {
    return this.#db.all<CountRow>(
      `SELECT bucket, SUM(views) AS views, SUM(visitors) AS visitors, SUM(events) AS events
       FROM analytics_counts WHERE ${appWhere(app)}grain = ? AND bucket >= ? AND bucket < ?
       GROUP BY bucket ORDER BY bucket`,
      ...appParam(app),
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
         FROM analytics_counts WHERE ${appWhere(app)}grain = ? AND bucket >= ? AND bucket < ?`,
        ...appParam(app),
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

  /** The most frequent values of a dimension over spans; `value` narrows to one value. */
  top(app: AppFilter, dim: Dimension, spans: readonly Span[], limit: number): TopRow[] {
    if (spans.length === 0) return [];
    const parts = spans.map(() =>
      `SELECT value, count FROM analytics_top
       WHERE ${appWhere(app)}dim = ? AND grain = ? AND bucket >= ? AND bucket < ?`
    );
    const params = spans.flatMap((s) => [...appParam(app), dim, s.grain, s.from, s.to]);
    return this.#db.all<TopRow>(
      `SELECT value, SUM(count) AS count FROM (${parts.join(" UNION ALL ")})
       GROUP BY value ORDER BY count DESC, value LIMIT ?`,
      ...params,
      limit,
    ).map((r) => ({ ...r }));
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
      `SELECT bucket, SUM(count) AS count FROM analytics_top
       WHERE ${appWhere(app)}dim = ? AND grain = ? AND bucket >= ? AND bucket < ? AND value = ?
       GROUP BY bucket ORDER BY bucket`,
      ...appParam(app),
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
      const ok = e.name !== PAGEVIEW && (app === null || e.app === app) &&
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

  /** Every app (or tracked domain) with rollups, with its all-time count of views and events. */
  apps(): { app: string; views: number; events: number }[] {
    return this.#db.all<{ app: string; views: number; events: number }>(
      `SELECT app, SUM(views) AS views, SUM(events) AS events FROM analytics_counts
       WHERE grain = 'day' GROUP BY app ORDER BY views + events DESC, app`,
    ).map((r) => ({ ...r }));
  }
}
