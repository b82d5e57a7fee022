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
  /** What the batch adds to each app's daily counts (written with it). */
  quota?: QuotaCount[];
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
export function resolvedEvents(batch: PackedBatch): PackedBatch["events"] {
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
  const flat = resolvedEvents(batch);
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

/**
 * A rollup's bucket size. Hours and days are kept as events arrive; a week
 * is added once it is over (see `AnalyticsIngest.rollWeeks`), so long ranges
 * read a row a week instead of seven.
 */
export type Grain = "hour" | "day" | "week";
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
/** Weeks are counted from the epoch (they begin on Thursdays, 00:00 UTC). */
export const WEEK_MS = 7 * DAY_MS;
/**
 * The app name of the rollups of every app together (kept for days and
 * weeks, not hours), so a query over every app reads one set of rows. No app
 * or domain has an empty name.
 */
export const ALL_APPS = "";

/** The table of a grain's counts: weeks have their own (same columns). */
export function countsTable(grain: Grain): string {
  return grain === "week" ? "analytics_week_counts" : "analytics_counts";
}

/** The table of a grain's top lists: weeks have their own (same columns). */
export function topTable(grain: Grain): string {
  return grain === "week" ? "analytics_week_top" : "analytics_top";
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
];
