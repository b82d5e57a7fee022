import type { Database } from "./database.ts";
import {
  ALL_APPS,
  type AnalyticsEvent,
  countsTable,
  DAY_MS,
  type Dimension,
  DIMENSIONS,
  type Grain,
  HOUR_MS,
  MAX_TOP_VALUES,
  NOT_FOUND,
  OTHER,
  PACKED_FIELDS,
  type PackedBatch,
  packEvents,
  PAGEVIEW,
  periodAfter,
  periodStart,
  type QuotaCount,
  type RolledGrain,
  topTable,
} from "./analytics_model.ts";

const CACHE_MAX = 50_000;
/**
 * Apps' weeks or months rolled up a call (see `rollWeeks`): one with ~100k
 * events a day took ~60 ms for a month, warm.
 */
const ROLL_STEP = 2;

/** Counts of one app in one bucket, while a batch is aggregated. */
interface Agg {
  app: string;
  bucket: number;
  views: number;
  visitors: number;
  events: number;
  dims: Record<Dimension, Map<string, number>>;
}

function newAgg(app: string, bucket: number): Agg {
  const dims = {} as Record<Dimension, Map<string, number>>;
  for (const d of DIMENSIONS) dims[d] = new Map();
  return { app, bucket, views: 0, visitors: 0, events: 0, dims };
}

/**
 * Counts of one app in one hour while the batch is read, by each value's
 * index in the batch's strings (an array slot is cheaper than a map entry),
 * turned into an `Agg` once.
 */
interface HourCounts {
  app: number;
  hour: number;
  views: number;
  events: number;
  path: Int32Array;
  referrer: Int32Array;
  event: Int32Array;
  source: Int32Array;
  /** 404s per path. */
  notfound: Int32Array;
  /** Page views per agent (turned into browser, OS and device counts). */
  agent: Int32Array;
  tag: Map<string, number>;
}

function newHourCounts(app: number, hour: number, strings: number): HourCounts {
  return {
    app,
    hour,
    views: 0,
    events: 0,
    path: new Int32Array(strings),
    referrer: new Int32Array(strings),
    event: new Int32Array(strings),
    source: new Int32Array(strings),
    notfound: new Int32Array(strings),
    agent: new Int32Array(strings),
    tag: new Map(),
  };
}

/** Visitors of one app and day in a batch: hours-of-the-day bitmask by visitor index. */
interface DayMasks {
  app: number;
  day: number;
  masks: Int32Array;
}

function bump(m: Map<string, number>, value: string, n: number): void {
  m.set(value, (m.get(value) ?? 0) + n);
}

/** Adds `from`'s counts into the `into` bucket (a day's from its hours, a week's from its days). */
function addInto(into: Agg, from: Agg): void {
  into.views += from.views;
  into.visitors += from.visitors;
  into.events += from.events;
  for (const dim of DIMENSIONS) {
    const to = into.dims[dim];
    for (const [value, n] of from.dims[dim]) bump(to, value, n);
  }
}

/** Hours-of-the-day bitmask per visitor of one app and day, in a batch. */
interface DayVisitors {
  app: string;
  day: number;
  masks: Map<string, number>;
}

/**
 * The write side of analytics: raw events (pruned after the retention
 * period), hourly and daily rollups (kept), the visitor hashes a day has
 * counted, and the day's salt.
 *
 * Raw events are one row per batch (a JSON array), since a row per event
 * cost the writer twice as much CPU. An event's id is its time in ms times
 * 1000 plus a sequence number, so a batch covers an id range. Rollups are
 * updated in the same transaction as the raw row, from the id's time, so
 * they always equal a recount of the raw events they cover.
 */
export class AnalyticsIngest {
  #db: Database;
  #lastId: number | undefined;
  /** `app\0day` → visitor → hours-of-the-day bitmask already counted. */
  #seen = new Map<string, Map<string, number>>();
  #seenCount = 0;
  /** `app\0dim\0grain\0bucket` → named values stored. */
  #cardinality = new Map<string, number>();
  /** Agent key → [browser, os, device]. */
  #agentNames = new Map<string, [string, string, string]>();
  /** See `#rolledUntil`. */
  #rolled: Partial<Record<RolledGrain, number>> = {};

  constructor(db: Database) {
    this.#db = db;
  }

  /** The newest event's id (0 for none). */
  #newestId(): number {
    this.#lastId ??= this.#db.get<{ id: number | null }>(
      "SELECT max(last_id) AS id FROM analytics_raw",
    )!.id ?? 0;
    return this.#lastId;
  }

  #nextId(at: number): number {
    const id = Math.max(this.#newestId() + 1, Math.floor(at) * 1000);
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
    const e = batch.events;
    const quota = batch.quota ?? [];
    const n = Math.floor(e.length / PACKED_FIELDS);
    if (n === 0 && quota.length === 0) return;
    let sorted = true;
    for (let i = PACKED_FIELDS; i < e.length && sorted; i += PACKED_FIELDS) {
      sorted = e[i - PACKED_FIELDS] <= e[i];
    }
    let order: Uint32Array | undefined;
    if (!sorted) {
      order = Uint32Array.from({ length: n }, (_, i) => i);
      order.sort((a, b) => e[a * PACKED_FIELDS] - e[b * PACKED_FIELDS] || a - b);
    }
    const lastId = this.#lastId;
    try {
      this.#db.transaction(() => {
        if (n) this.#ingest(batch, n, order);
        for (const q of quota) this.#addQuota(q);
      });
    } catch (err) {
      // The in-memory views of the tables may now be ahead of them.
      this.#lastId = lastId;
      this.#seen.clear();
      this.#seenCount = 0;
      this.#cardinality.clear();
      this.#rolled = {};
      throw err;
    }
  }

  /** The batch's `n` events, in `order` (default: as they are). */
  #ingest(batch: PackedBatch, n: number, order?: Uint32Array): void {
    const { strings, events: e } = batch;
    const size = strings.length;
    // The raw events of a batch are one row: a JSON array of events, with
    // app, name, source, path, referrer, browser, OS and device as indexes
    // into its `strings` (the batch's, less the ones events use otherwise,
    // plus the browser, OS and device names). Its text is written event by
    // event, from pieces made once per distinct value.
    const rawStrings: string[] = [];
    const rawIndex = new Int32Array(size).fill(-1);
    const raw = (i: number): number => {
      let r = rawIndex[i];
      if (r < 0) r = rawIndex[i] = rawStrings.push(strings[i]) - 1;
      return r;
    };
    const names = new Map<string, number>();
    const rawName = (s: string): number => {
      let r = names.get(s);
      if (r === undefined) names.set(s, r = rawStrings.push(s) - 1);
      return r;
    };
    /** Per agent index: `browser,os,device` as raw indexes. */
    const agentText: (string | undefined)[] = [];
    /** Per visitor (or tags, props) index: its JSON text. */
    const quoted: (string | undefined)[] = [];
    const quote = (i: number): string => (quoted[i] ??= JSON.stringify(strings[i]));
    const parts: string[] = [];
    const hours = new Map<string, HourCounts>();
    const visitors = new Map<string, DayMasks>();
    let cur: HourCounts | undefined;
    let days: DayMasks | undefined;
    let hourBit = 0;
    const pageview = strings.indexOf(PAGEVIEW);
    const notFound = strings.indexOf(NOT_FOUND);
    let firstId = 0;
    let id = 0;
    for (let k = 0; k < n; k++) {
      const j = (order ? order[k] : k) * PACKED_FIELDS;
      // Indexes as small integers (`| 0`), which arrays are indexed by fastest.
      const app = e[j + 1] | 0;
      const name = e[j + 2] | 0;
      const source = e[j + 3] | 0;
      const path = e[j + 4] | 0;
      const referrer = e[j + 5] | 0;
      const agent = e[j + 6] | 0;
      const visitor = e[j + 7] | 0;
      const tags = e[j + 8] | 0;
      const props = e[j + 9] | 0;
      id = this.#nextId(e[j]);
      if (firstId === 0) firstId = id;
      let agentIds = agentText[agent];
      if (agentIds === undefined) {
        const [browser, os, device] = this.#agent(strings[agent]);
        agentIds = agentText[agent] = `${rawName(browser)},${rawName(os)},${rawName(device)}`;
      }
      parts.push(
        `[${id - firstId},${raw(app)},${raw(name)},${raw(source)},${raw(path)},${
          raw(referrer)
        },${agentIds},${quote(visitor)},${tags < 0 ? "null" : quote(tags)},${
          props < 0 ? "null" : quote(props)
        }]`,
      );
      const at = Math.floor(id / 1000);
      const hour = at - (at % HOUR_MS);
      if (cur === undefined || app !== cur.app || hour !== cur.hour) {
        const key = `${app}\0${hour}`;
        cur = hours.get(key);
        if (!cur) hours.set(key, cur = newHourCounts(app, hour, size));
        const day = hour - (hour % DAY_MS);
        const dayKey = `${app}\0${day}`;
        days = visitors.get(dayKey);
        if (!days) visitors.set(dayKey, days = { app, day, masks: new Int32Array(size) });
        hourBit = 1 << ((hour % DAY_MS) / HOUR_MS);
      }
      if (name === notFound) {
        // Its path only: not a view, an event, a source or a visitor.
        cur.notfound[path]++;
        continue;
      }
      if (name === pageview) {
        cur.views++;
        cur.path[path]++;
        if (strings[referrer] !== "") cur.referrer[referrer]++;
        cur.agent[agent]++;
      } else {
        cur.events++;
        cur.event[name]++;
      }
      cur.source[source]++;
      if (tags >= 0) {
        for (const tag of new Set(strings[tags].split(","))) bump(cur.tag, tag, 1);
      }
      days!.masks[visitor] |= hourBit;
    }
    this.#db.run(
      "INSERT INTO analytics_raw (id, last_id, count, events) VALUES (?, ?, ?, ?)",
      firstId,
      id,
      n,
      `{"strings":${JSON.stringify(rawStrings)},"events":[${parts.join(",")}]}`,
    );
    const hourAggs = new Map<string, Agg>();
    for (const h of hours.values()) {
      const a = this.#toAgg(h, strings);
      hourAggs.set(`${a.app}\0${a.bucket}`, a);
    }
    // Daily rollups are the sums of the hourly ones.
    const dayAggs = new Map<string, Agg>();
    for (const h of hourAggs.values()) {
      const day = h.bucket - (h.bucket % DAY_MS);
      const key = `${h.app}\0${day}`;
      let d = dayAggs.get(key);
      if (!d) dayAggs.set(key, d = newAgg(h.app, day));
      addInto(d, h); // visitors are counted after, per hour and per day
    }
    for (const v of visitors.values()) {
      const masks = new Map<string, number>();
      for (let i = 0; i < size; i++) if (v.masks[i]) masks.set(strings[i], v.masks[i]);
      this.#countVisitors({ app: strings[v.app], day: v.day, masks }, hourAggs, dayAggs);
    }
    // Every app together, by day: the sums of the apps' days.
    const allDays = new Map<number, Agg>();
    for (const d of dayAggs.values()) {
      let all = allDays.get(d.bucket);
      if (!all) allDays.set(d.bucket, all = newAgg(ALL_APPS, d.bucket));
      addInto(all, d);
    }
    const write: [Grain, Iterable<Agg>][] = [
      ["hour", hourAggs.values()],
      ["day", dayAggs.values()],
      ["day", allDays.values()],
    ];
    // A day in a week or month already rolled up (only when events arrive
    // late: rolled with a clock ahead of them) adds to that week or month
    // too; so does one in a period still being rolled, for an app whose
    // rollup of it is written already.
    for (const grain of ["week", "month"] as const) {
      const rolled = this.#rolledUntil(grain);
      const late = [...dayAggs.values(), ...allDays.values()].filter((d) =>
        d.bucket < rolled ||
        (d.app !== ALL_APPS && this.#hasRollup(grain, d.app, periodStart(grain, d.bucket)))
      );
      const periods = new Map<string, Agg>();
      for (const d of late) {
        const start = periodStart(grain, d.bucket);
        const key = `${d.app}\0${start}`;
        let p = periods.get(key);
        if (!p) periods.set(key, p = newAgg(d.app, start));
        addInto(p, d);
      }
      write.push([grain, periods.values()]);
    }
    for (const [grain, aggs] of write) {
      for (const a of aggs) this.#addAgg(grain, a);
    }
  }

  /** An hour's counts by string index as an `Agg` by value (browser, OS and device from the agents). */
  #toAgg(h: HourCounts, strings: string[]): Agg {
    const a = newAgg(strings[h.app], h.hour);
    a.views = h.views;
    a.events = h.events;
    for (const dim of ["path", "referrer", "event", "source", "notfound"] as const) {
      const into = a.dims[dim];
      const counts = h[dim];
      for (let i = 0; i < counts.length; i++) if (counts[i]) into.set(strings[i], counts[i]);
    }
    a.dims.tag = h.tag;
    for (let i = 0; i < h.agent.length; i++) {
      const n = h.agent[i];
      if (!n) continue;
      const [browser, os, device] = this.#agent(strings[i]);
      bump(a.dims.browser, browser, n);
      bump(a.dims.os, os, n);
      bump(a.dims.device, device, n);
    }
    return a;
  }

  /** Adds one bucket's counts and top values to the rollup tables. */
  #addAgg(grain: Grain, a: Agg): void {
    this.#db.run(
      `INSERT INTO ${countsTable(grain)} (app, grain, bucket, views, visitors, events)
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

  /**
   * The end of the rolled-up weeks or months: every one before it has its
   * rows (ms; 0 when none has). Remembered between calls.
   */
  #rolledUntil(grain: RolledGrain): number {
    let until = this.#rolled[grain];
    if (until === undefined) {
      const last = this.#db.get<{ b: number | null }>(
        `SELECT MAX(bucket) AS b FROM ${countsTable(grain)} WHERE app = ? AND grain = ?`,
        ALL_APPS,
        grain,
      )!.b;
      until = this.#rolled[grain] = last === null ? 0 : periodAfter(grain, last);
    }
    return until;
  }

  /**
   * Adds the rollups of every week that ended before `now` and has none yet,
   * in steps: at most `max` weeks a call, and at most `ROLL_STEP` apps' (each
   * in a transaction of its own, every app's `ALL_APPS` rows last, which
   * mark the week rolled), since upkeep may run on the serving thread and
   * one app's week or month of top lists is tens of milliseconds. Each
   * app's and every app's counts and top lists come from their days, each
   * list capped at `MAX_TOP_VALUES` named values (the most frequent kept).
   * A week of every app is marked even when it had no events. `now`
   * defaults to the newest stored event: a week is over once a later one
   * has events. Returns whether weeks are left.
   */
  rollWeeks(now?: number, max = 4): boolean {
    return this.#roll("week", now, max);
  }

  /** `rollWeeks` for calendar months (UTC). */
  rollMonths(now?: number, max = 2): boolean {
    return this.#roll("month", now, max);
  }

  #roll(grain: RolledGrain, now: number | undefined, max: number): boolean {
    const db = this.#db;
    now ??= Math.floor(this.#newestId() / 1000);
    const current = periodStart(grain, now);
    let start = this.#rolledUntil(grain);
    if (start === 0) {
      const first = db.get<{ d: number | null }>(
        "SELECT MIN(bucket) AS d FROM analytics_counts WHERE app = ? AND grain = 'day'",
        ALL_APPS,
      )!.d;
      if (first === null) return false;
      start = periodStart(grain, first);
    }
    let bucket = start;
    let budget = ROLL_STEP;
    for (let n = 0; n < max && bucket < current; n++) {
      const end = periodAfter(grain, bucket);
      for (const app of this.#unrolled(grain, bucket, end)) {
        if (budget-- === 0) return true;
        db.transaction(() => this.#rollPeriod(app, grain, bucket, end));
      }
      if (budget-- === 0) return true;
      db.transaction(() => this.#rollPeriod(ALL_APPS, grain, bucket, end));
      this.#rolled[grain] = bucket = end;
    }
    return bucket < current;
  }

  /** The apps (not `ALL_APPS`) with days in `[from, to)` and no rollup of it at `grain` yet. */
  #unrolled(grain: RolledGrain, from: number, to: number): string[] {
    return this.#db.all<{ app: string }>(
      `SELECT DISTINCT d.app FROM analytics_counts d
       WHERE d.grain = 'day' AND d.bucket >= ? AND d.bucket < ? AND d.app <> ?
         AND NOT EXISTS (SELECT 1 FROM ${countsTable(grain)} r
           WHERE r.app = d.app AND r.grain = ? AND r.bucket = ?)
       ORDER BY d.app`,
      from,
      to,
      ALL_APPS,
      grain,
      from,
    ).map((r) => r.app);
  }

  /** Whether `app` has its rollup of the period starting at `bucket` (rolled before every app's). */
  #hasRollup(grain: RolledGrain, app: string, bucket: number): boolean {
    return this.#db.get(
      `SELECT 1 AS x FROM ${countsTable(grain)} WHERE app = ? AND grain = ? AND bucket = ?`,
      app,
      grain,
      bucket,
    ) !== undefined;
  }

  /** One app's rollup of `[from, to)` at `grain`, from its days. */
  #rollPeriod(app: string, grain: RolledGrain, from: number, to: number): void {
    const db = this.#db;
    db.run(
      `INSERT INTO ${countsTable(grain)} (app, grain, bucket, views, visitors, events)
       SELECT ?, ?, ?, IFNULL(SUM(views), 0), IFNULL(SUM(visitors), 0), IFNULL(SUM(events), 0)
       FROM analytics_counts WHERE app = ? AND grain = 'day' AND bucket >= ? AND bucket < ?
       ON CONFLICT (app, grain, bucket) DO NOTHING`,
      app,
      grain,
      from,
      app,
      from,
      to,
    );
    db.run(
      `INSERT INTO ${topTable(grain)} (app, dim, grain, bucket, value, count)
       WITH sums AS (
         SELECT dim, value, SUM(count) AS n FROM analytics_top
         WHERE app = ? AND dim IN (${DIMENSIONS.map(() => "?").join(", ")}) AND grain = 'day'
           AND bucket >= ? AND bucket < ?
         GROUP BY dim, value
       ), ranked AS (
         SELECT dim, value, n, ROW_NUMBER() OVER (
           PARTITION BY dim ORDER BY value = ?, n DESC, value) AS r
         FROM sums
       )
       SELECT ?, dim, ?, ?, CASE WHEN r <= ? AND value <> ? THEN value ELSE ? END AS v, SUM(n)
       FROM ranked WHERE true GROUP BY dim, v
       ON CONFLICT (app, dim, grain, bucket, value) DO NOTHING`,
      app,
      ...DIMENSIONS,
      from,
      to,
      OTHER,
      app,
      grain,
      from,
      MAX_TOP_VALUES,
      OTHER,
      OTHER,
    );
  }

  #addQuota(q: QuotaCount): void {
    this.#db.run(
      `INSERT INTO analytics_quota (app, day, stored, overflow) VALUES (?, ?, ?, ?)
       ON CONFLICT (app, day) DO UPDATE SET stored = stored + excluded.stored,
         overflow = overflow + excluded.overflow`,
      q.app,
      q.day,
      q.stored,
      q.overflow,
    );
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
        `SELECT COUNT(*) AS n FROM ${topTable(grain)}
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
          `INSERT INTO ${topTable(grain)} (app, dim, grain, bucket, value, count) VALUES ${
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
        `UPDATE ${topTable(grain)} SET count = count + ?
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
      `INSERT INTO ${
        topTable(grain)
      } (app, dim, grain, bucket, value, count) VALUES (?, ?, ?, ?, ?, ?)
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
    // Not while replicated: that checkpoint would stall against Litestream,
    // and the replica keeps those frames until its retention ends anyway.
    if (erased) db.checkpoint("TRUNCATE");
    return salt;
  }

  /**
   * Deletes raw events older than `before` (a batch goes when its newest
   * event is older; at most `max` batches a call, so a backlog goes in steps).
   * Rollups are kept. Returns how many raw events were deleted.
   */
  prune(before: number, max = 500): number {
    return this.#db.transaction(() => {
      // `id < ?` too (a batch's first id is at most its last): a range of the
      // key, where `last_id` alone scanned every batch of 10M events (26 ms).
      const old = this.#db.get<{ n: number | null; last: number | null }>(
        `SELECT SUM(count) AS n, MAX(id) AS last FROM (
           SELECT id, count FROM analytics_raw WHERE id < ? AND last_id < ? ORDER BY id LIMIT ?)`,
        before * 1000,
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
      return old.n ?? 0;
    });
  }

  /**
   * Deletes the counted-visitor rows of days before `keepDay`, at most `max`
   * a call: a node that was off for weeks holds millions, and one statement
   * deleting them all held its thread for seconds. Returns how many went.
   */
  pruneVisitors(keepDay: number, max = 10_000): number {
    for (const [key, seen] of this.#seen) {
      if (Number(key.split("\0")[1]) < keepDay) {
        this.#seenCount -= seen.size;
        this.#seen.delete(key);
      }
    }
    return this.#db.run(
      `DELETE FROM analytics_visitors WHERE (app, day, visitor) IN (
         SELECT app, day, visitor FROM analytics_visitors WHERE day < ? LIMIT ?)`,
      keepDay,
      max,
    ).changes;
  }
}
