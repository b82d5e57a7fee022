/**
 * What both sides of analytics share: the event, its packed form for batches
 * sent between threads, and the vocabulary of the rollups (grains,
 * dimensions, rows).
 * @module
 */

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
 * Numbers per event in a packed batch: `at` (ms since the epoch), then
 * indexes into the batch's `strings` of app, name, source, path, referrer,
 * agent (`agentKey(browser, os, device)`), visitor, tags (comma-joined) and
 * props (JSON text); -1 for no tags or no props.
 */
export const PACKED_FIELDS = 10;

/**
 * Events as numbers, each distinct string once: a batch costs no object per
 * event, is copied to another thread as one buffer, and the writer counts
 * values by index instead of by string.
 */
export interface PackedBatch {
  strings: string[];
  /** `PACKED_FIELDS` numbers per event. */
  events: Float64Array<ArrayBuffer>;
  /** What the batch adds to each app's daily counts (written with it). */
  quota?: QuotaCount[];
}

/** Builds a `PackedBatch` an event at a time (the server's buffer). */
export class BatchBuilder {
  #strings: string[] = [];
  #index = new Map<string, number>();
  #events = new Float64Array(PACKED_FIELDS * 1024);
  #length = 0;
  #generation = 0;

  /** Events added since the last `take`. */
  get count(): number {
    return this.#length / PACKED_FIELDS;
  }

  /** Changes at each `take`: an index from `id` is valid while it stays the same. */
  get generation(): number {
    return this.#generation;
  }

  /** The index of `s` in this batch's strings (added if new). */
  id(s: string): number {
    let i = this.#index.get(s);
    if (i === undefined) {
      i = this.#strings.push(s) - 1;
      this.#index.set(s, i);
    }
    return i;
  }

  /** `add` with the strings already as indexes from `id` (tags, props: -1 for none). */
  addIds(
    at: number,
    app: number,
    name: number,
    source: number,
    path: number,
    referrer: number,
    agent: number,
    visitor: number,
    tags: number,
    props: number,
  ): void {
    let e = this.#events;
    const i = this.#length;
    if (i + PACKED_FIELDS > e.length) {
      e = new Float64Array(e.length * 2);
      e.set(this.#events);
      this.#events = e;
    }
    e[i] = at;
    e[i + 1] = app;
    e[i + 2] = name;
    e[i + 3] = source;
    e[i + 4] = path;
    e[i + 5] = referrer;
    e[i + 6] = agent;
    e[i + 7] = visitor;
    e[i + 8] = tags;
    e[i + 9] = props;
    this.#length = i + PACKED_FIELDS;
  }

  add(
    at: number,
    app: string,
    name: string,
    source: string,
    path: string,
    referrer: string,
    agent: string,
    visitor: string,
    tags: string | null,
    props: string | null,
  ): void {
    this.addIds(
      at,
      this.id(app),
      this.id(name),
      this.id(source),
      this.id(path),
      this.id(referrer),
      this.id(agent),
      this.id(visitor),
      tags === null ? -1 : this.id(tags),
      props === null ? -1 : this.id(props),
    );
  }

  /** The batch so far (its own copy of the numbers); the builder starts again, empty. */
  take(): PackedBatch {
    const batch = { strings: this.#strings, events: this.#events.slice(0, this.#length) };
    this.#strings = [];
    this.#index = new Map();
    this.#length = 0;
    this.#generation++;
    return batch;
  }
}

/**
 * Raw events of one app (`*` for every domain the node does not host) on one
 * UTC day: stored, and over the daily cap (counted, never stored).
 */
export interface QuotaCount {
  app: string;
  day: number;
  stored: number;
  overflow: number;
}

/** The app name the events of every domain this node does not host share a daily cap under. */
export const OTHER_DOMAINS = "*";

export function agentKey(browser: string, os: string, device: string): string {
  return `${browser}\n${os}\n${device}`;
}

/** `events` as a batch; tags are stored comma-joined. */
export function packEvents(events: readonly AnalyticsEvent[]): PackedBatch {
  const b = new BatchBuilder();
  for (const e of events) {
    b.add(
      e.at,
      e.app,
      e.name,
      e.source,
      e.path,
      e.referrer,
      agentKey(e.browser, e.os, e.device),
      e.visitor,
      e.tags && e.tags.length ? e.tags.join(",") : null,
      e.props,
    );
  }
  return b.take();
}

/**
 * A rollup's bucket size. Hours and days are kept as events arrive; a week
 * and a calendar month are added once they are over (see
 * `AnalyticsIngest.rollWeeks` and `rollMonths`), so long ranges read a row a
 * month or a week instead of one a day.
 */
export type Grain = "hour" | "day" | "week" | "month";
/** The grains rolled up from days once a bucket of them is over. */
export type RolledGrain = "week" | "month";
export type Dimension =
  | "path"
  | "referrer"
  | "browser"
  | "os"
  | "device"
  | "event"
  | "source"
  | "tag"
  /** Paths of an app's files that answered 404, counted by `NOT_FOUND` events. */
  | "notfound";

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
/**
 * A request for a file the app does not have (answered 404): counted in the
 * `notfound` dimension only, never as a view, an event or a visitor. The
 * tracking endpoints refuse the name, so no page can send one.
 */
export const NOT_FOUND = "$404";

/**
 * The name an app's 404s are capped under each day (`analytics_quota`): a
 * cap of their own, the size of the app's, so a bot walking missing pages
 * cannot use up the app's cap and leave its real page views unstored. No
 * app or domain name holds a `$`.
 */
export function notFoundQuota(app: string): string {
  return `${NOT_FOUND}:${app}`;
}
export const HOUR_MS = 3_600_000;
export const DAY_MS = 86_400_000;
/** Weeks are counted from the epoch (they begin on Thursdays, 00:00 UTC). */
export const WEEK_MS = 7 * DAY_MS;
/** The start of the calendar month (UTC) that holds `t`. */
export function monthStart(t: number): number {
  const d = new Date(t);
  return Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1);
}

/** The start of the calendar month (UTC) after the one that holds `t`. */
export function monthAfter(t: number): number {
  const d = new Date(t);
  return Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1);
}

/** The start of the week or month that holds `t`. */
export function periodStart(grain: RolledGrain, t: number): number {
  return grain === "week" ? t - (((t % WEEK_MS) + WEEK_MS) % WEEK_MS) : monthStart(t);
}

/** The start of the week or month after the one that holds `t`. */
export function periodAfter(grain: RolledGrain, t: number): number {
  return grain === "week" ? periodStart("week", t) + WEEK_MS : monthAfter(t);
}

/**
 * The app name of the rollups of every app together (kept for days, weeks
 * and months, not hours), so a query over every app reads one set of rows. No app
 * or domain has an empty name.
 */
export const ALL_APPS = "";

/** The table of a grain's counts: weeks and months have their own (same columns). */
export function countsTable(grain: Grain): string {
  return grain === "week" || grain === "month" ? `analytics_${grain}_counts` : "analytics_counts";
}

/** The table of a grain's top lists: weeks and months have their own (same columns). */
export function topTable(grain: Grain): string {
  return grain === "week" || grain === "month" ? `analytics_${grain}_top` : "analytics_top";
}
/** Named values kept per app, dimension and bucket; the rest add up under `OTHER`. */
export const MAX_TOP_VALUES = 1000;
export const OTHER = "(other)";

/** Every dimension the rollups count values of. */
export const DIMENSIONS: readonly Dimension[] = [
  "path",
  "referrer",
  "browser",
  "os",
  "device",
  "event",
  "source",
  "tag",
  "notfound",
];
