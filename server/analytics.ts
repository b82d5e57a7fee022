import { createHash } from "node:crypto";
import { UserAgentCache, type UserAgentInfo } from "../lib/user_agent.ts";
import { DAY_MS, type PackedBatch, PAGEVIEW, type Settings, type Storage } from "../storage/mod.ts";
import { type AnalyticsWriter, openWriter } from "./analytics_writer.ts";
import { hostname } from "./hosts.ts";
import { clientIp } from "./request_origin.ts";
import { requestHost } from "./request_host.ts";

/** What tests (and embedders) may replace: the clock, the salt source, the write cadence. */
export interface AnalyticsOptions {
  now?: () => number;
  /** A new random salt. */
  salt?: () => string;
  /** Write at least this often (ms); default 2000. */
  flushIntervalMs?: number;
  /** Write as soon as this many events wait; default 1000 (or half the buffer, if smaller). */
  flushEvents?: number;
  /**
   * Where batches are written: on a Worker thread with its own connection, or
   * inline. Default: a thread with 4 cores or more and a database file.
   */
  writer?: "thread" | "inline";
}

/** An event from a tracking endpoint, already checked for shape and size. */
export interface TrackInput {
  app: string;
  name: string;
  source: "track" | "pixel";
  path: string;
  /** A full referrer URL or a bare host; reduced to its host. */
  referrer: string | null;
  tags: string[] | null;
  props: string | null;
}

/** A page answered from an app's files, as `Analytics.page` counts it. */
export interface PageView {
  req: Request;
  /** Read only for a view that is counted: Deno builds the address on demand. */
  remote: () => Deno.NetAddr | undefined;
  /** The request's Host header. */
  host: string;
  app: string;
  path: string;
  /** Answered 304: counted unless the same visitor was just counted on this page. */
  revalidated: boolean;
}

/** An event ready for the buffer: checked, its visitor hashed, its referrer reduced to a host. */
interface CountedEvent {
  at: number;
  app: string;
  name: string;
  source: string;
  path: string;
  /** A host, or "" for none (or the site itself). */
  referrer: string;
  agent: UserAgentInfo;
  visitor: string;
  tags: string[] | null;
  props: string | null;
}

/** Events per batch write. */
export const FLUSH_EVENTS = 1000;
/** A 304 for a page the same visitor was counted on this recently is not counted again. */
export const REVALIDATION_WINDOW_MS = 30_000;
const CACHE_MAX = 20_000;
const PRUNE_EVERY_MS = 10 * 60_000;
const PRUNE_STEP = 50_000;
const PREFETCH = /prefetch|prerender|preview/i;

function randomSalt(): string {
  return crypto.getRandomValues(new Uint8Array(32)).toBase64();
}

/** The host of a referrer URL (or bare host), lower case, without `www.`, port or userinfo. */
export function referrerHost(referrer: string | null | undefined): string {
  if (!referrer) return "";
  let s = referrer.trim();
  const scheme = s.indexOf("://");
  if (scheme !== -1) s = s.slice(scheme + 3);
  let end = s.length;
  for (const c of ["/", "?", "#"]) {
    const i = s.indexOf(c);
    if (i !== -1 && i < end) end = i;
  }
  s = s.slice(0, end);
  const at = s.lastIndexOf("@");
  if (at !== -1) s = s.slice(at + 1);
  s = hostname(s);
  if (s.startsWith("www.")) s = s.slice(4);
  return /^[a-z0-9.:_-]{1,253}$/.test(s) ? s : "";
}

/**
 * Counting, cheaply, on the request path: checks, a cached user-agent parse,
 * a cached visitor hash, and a push into a bounded buffer. Batches are
 * written (every `flushIntervalMs`, or once `flushEvents` wait) on a writer
 * thread, one transaction each; a full buffer drops events and counts them.
 *
 * Visitors are `sha256(day's salt, app, IP, user agent)`, cut to 96 bits. The
 * salt lives in memory and in SQLite for its UTC day only; IPs never leave
 * memory (the hash cache holds them until the day ends or it fills).
 */
export class Analytics {
  readonly enabled: boolean;
  /** Events refused because the buffer was full, or lost with a failed write. */
  dropped = 0;
  /** Events written since start. */
  written = 0;
  #storage: Storage;
  #settings: Settings;
  #log: (message: string) => void;
  #now: () => number;
  #makeSalt: () => string;
  #max: number;
  #flushEvents: number;
  #writer: AnalyticsWriter | undefined;
  /** Waiting events, EVENT_FIELDS values each. */
  #flat: PackedBatch["events"] = [];
  /** Strings of the waiting batch that repeat (app, name, source, agent), sent once each. */
  #strings: string[] = [];
  #stringIndex = new Map<string, number>();
  #count = 0;
  #scheduled = false;
  #timer: ReturnType<typeof setInterval> | undefined;
  #agents = new UserAgentCache();
  /** user agent → `app\npeer\nforwarded` → visitor hash, for the current day. */
  #visitors = new Map<string, Map<string, string>>();
  #visitorCount = 0;
  /** visitor → the page last counted and when (for 304s). */
  #recent = new Map<string, { path: string; at: number }>();
  /** Referrer URL or Host header → host. */
  #hosts = new Map<string, string>();
  #day = -1;
  #dayEnd = -1;
  #salt = "";
  #nextPrune = 0;
  #closed = false;

  constructor(
    storage: Storage,
    settings: Settings,
    log: (message: string) => void,
    opts: AnalyticsOptions = {},
  ) {
    this.#storage = storage;
    this.#settings = settings;
    this.#log = log;
    this.#now = opts.now ?? Date.now;
    this.#makeSalt = opts.salt ?? randomSalt;
    this.#max = settings.analytics_buffer_events;
    this.#flushEvents = opts.flushEvents ?? Math.min(FLUSH_EVENTS, Math.ceil(this.#max / 2));
    this.enabled = settings.analytics_enabled === 1;
    if (!this.enabled) return;
    this.#rotate(this.#now());
    this.#writer = openWriter(
      storage,
      {
        written: (n) => (this.written += n),
        lost: (n, message) => {
          this.dropped += n;
          this.#log(`analytics: ${n} events lost: ${message}`);
        },
        pruned: (deleted) => {
          // A large backlog is removed a step per tick.
          if (deleted >= PRUNE_STEP) this.#nextPrune = 0;
        },
      },
      log,
      opts.writer,
    );
    // Timers round anything above 2^31 - 1 ms down to 1 ms.
    const every = Math.min(opts.flushIntervalMs ?? 2000, 2 ** 31 - 1);
    const timer = setInterval(() => this.tick(), every);
    Deno.unrefTimer(timer);
    this.#timer = timer;
  }

  /** Events waiting in memory (not yet handed to the writer). */
  get buffered(): number {
    return this.#count;
  }

  /**
   * A page served from an app's files: a 200, or a 304 revalidation (counted
   * unless the same visitor was counted on the same page within
   * `REVALIDATION_WINDOW_MS`). Bots, prefetches and, if the owner asks,
   * DNT/GPC requests are not counted.
   */
  page(view: PageView): void {
    if (this.#closed || !this.enabled) return;
    const { req, remote, host, app, path, revalidated } = view;
    const h = req.headers;
    const ua = h.get("user-agent") ?? "";
    const agent = this.#agents.get(ua);
    if (agent.bot) return;
    const purpose = h.get("sec-purpose") ?? h.get("purpose");
    if (purpose !== null && PREFETCH.test(purpose)) return;
    if (this.#settings.analytics_honor_dnt === 1 && optedOut(h)) return;
    const now = this.#now();
    const visitor = this.#visitor(req, remote(), app, ua, now);
    const last = this.#recent.get(visitor);
    if (last === undefined) {
      if (this.#recent.size >= CACHE_MAX) this.#recent.clear();
      this.#recent.set(visitor, { path, at: now });
    } else {
      if (revalidated && last.path === path && now - last.at < REVALIDATION_WINDOW_MS) return;
      last.path = path;
      last.at = now;
    }
    const referer = h.get("referer");
    let referrer = referer === null ? "" : this.#host(referer);
    if (referrer && referrer === this.#host(host)) referrer = "";
    this.#push({
      at: now,
      app,
      name: PAGEVIEW,
      source: "server",
      path: path.length > 500 ? path.slice(0, 500) : path,
      referrer,
      agent,
      visitor,
      tags: null,
      props: null,
    });
  }

  /** An event from a tracking endpoint; false when it was not recorded (bot, opt-out, off). */
  track(req: Request, remote: Deno.NetAddr | undefined, input: TrackInput): boolean {
    if (!this.enabled || this.#closed) return false;
    const h = req.headers;
    const ua = h.get("user-agent") ?? "";
    const agent = this.#agents.get(ua);
    if (agent.bot) return false;
    if (this.#settings.analytics_honor_dnt === 1 && optedOut(h)) return false;
    const now = this.#now();
    let referrer = input.referrer ? this.#host(input.referrer) : "";
    if (referrer && referrer === this.#host(requestHost(req))) referrer = "";
    if (referrer && referrer === this.#host(input.app)) referrer = "";
    return this.#push({
      ...input,
      at: now,
      referrer,
      agent,
      visitor: this.#visitor(req, remote, input.app, ua, now),
    });
  }

  #push(e: CountedEvent): boolean {
    if (this.#count + (this.#writer?.pending ?? 0) >= this.#max) {
      this.dropped++;
      return false;
    }
    this.#flat.push(
      e.at,
      this.#intern(e.app),
      this.#intern(e.name),
      this.#intern(e.source),
      e.path,
      e.referrer,
      this.#intern(e.agent.key),
      e.visitor,
      e.tags,
      e.props,
    );
    if (++this.#count >= this.#flushEvents && !this.#scheduled) {
      this.#scheduled = true;
      setTimeout(() => {
        this.#scheduled = false;
        this.flush();
      }, 0);
    }
    return true;
  }

  #intern(value: string): number | string {
    if (!this.#writer?.copies) return value;
    let i = this.#stringIndex.get(value);
    if (i === undefined) {
      i = this.#strings.push(value) - 1;
      this.#stringIndex.set(value, i);
    }
    return i;
  }

  #host(value: string): string {
    let host = this.#hosts.get(value);
    if (host === undefined) {
      host = referrerHost(value);
      if (this.#hosts.size >= CACHE_MAX) this.#hosts.clear();
      this.#hosts.set(value, host);
    }
    return host;
  }

  /**
   * The visitor hash, cached by what decides the client address (the peer
   * and, behind a trusted proxy, the raw `X-Forwarded-For`), so the address
   * is worked out and hashed once per visitor and day.
   */
  #visitor(
    req: Request,
    remote: Deno.NetAddr | undefined,
    app: string,
    ua: string,
    now: number,
  ): string {
    if (now >= this.#dayEnd || now < this.#day) this.#rotate(now);
    let byUa = this.#visitors.get(ua);
    if (!byUa) this.#visitors.set(ua, byUa = new Map());
    const forwarded = this.#settings.trust_proxy === 1
      ? req.headers.get("x-forwarded-for") ?? ""
      : "";
    const key = `${app}\n${remote?.hostname ?? ""}\n${forwarded}`;
    let hash = byUa.get(key);
    if (hash === undefined) {
      const ip = clientIp(req, remote, this.#settings);
      hash = createHash("sha256").update(`${this.#salt}\n${app}\n${ip}\n${ua}`)
        .digest("base64url").slice(0, 16);
      if (++this.#visitorCount > CACHE_MAX) {
        this.#visitors.clear();
        this.#visitors.set(ua, byUa = new Map());
        this.#visitorCount = 1;
      }
      byUa.set(key, hash);
    }
    return hash;
  }

  /** A new UTC day: its salt (made once, kept for the day), and yesterday's forgotten. */
  #rotate(now: number): void {
    const day = now - (now % DAY_MS);
    if (day === this.#day) return;
    // Events of the old day still waiting are written with the old day's hashes.
    if (this.#day !== -1) this.flush();
    this.#day = day;
    this.#dayEnd = day + DAY_MS;
    this.#salt = this.#storage.analytics.salt(day, this.#makeSalt);
    this.#visitors.clear();
    this.#visitorCount = 0;
    this.#recent.clear();
  }

  /** Hands every waiting event to the writer as one batch; returns how many. */
  flush(): number {
    const count = this.#count;
    if (count === 0 || !this.#writer) return 0;
    const batch = { strings: this.#strings, events: this.#flat };
    this.#flat = [];
    this.#strings = [];
    this.#stringIndex.clear();
    this.#count = 0;
    this.#writer.write(batch, count);
    return count;
  }

  /** The timer's work: write, rotate the salt at midnight, prune old raw events. */
  tick(): void {
    if (!this.enabled || this.#closed) return;
    this.flush();
    const now = this.#now();
    if (now >= this.#dayEnd || now < this.#day) this.#rotate(now);
    if (now < this.#nextPrune) return;
    this.#nextPrune = now + PRUNE_EVERY_MS;
    const before = now - this.#settings.analytics_retention_days * DAY_MS;
    this.#writer?.prune(before, this.#day - DAY_MS);
  }

  /** Resolves once every event counted so far is in the database (and due pruning done). */
  async sync(): Promise<void> {
    this.tick();
    await this.#writer?.sync();
  }

  /** The clock analytics uses (injectable for tests). */
  now(): number {
    return this.#now();
  }

  /** Writes what is waiting and stops; later events are ignored. */
  async close(): Promise<void> {
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
    this.flush();
    this.#closed = true;
    await this.#writer?.close();
  }

  /** Stops at once, writing nothing (start-up failed). */
  abort(): void {
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
    this.#closed = true;
    this.#writer?.abort();
  }
}

function optedOut(h: Headers): boolean {
  return h.get("dnt") === "1" || h.get("sec-gpc") === "1";
}
