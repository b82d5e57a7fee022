import { createHash } from "node:crypto";
import { type Bucket, TokenBuckets } from "../lib/token_buckets.ts";
import { parseUserAgent, type UserAgentInfo } from "../lib/user_agent.ts";
import {
  BatchBuilder,
  DAY_MS,
  NOT_FOUND,
  PAGEVIEW,
  type QuotaCount,
  type Settings,
  type Storage,
} from "../storage/mod.ts";
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
  /** Write as soon as this many events wait; default 10,000 (or half the buffer, if smaller). */
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
  /**
   * The name the daily cap counts the event under: the app's own, or
   * `OTHER_DOMAINS` for a domain this node does not host. Default: `app`.
   */
  quota?: string;
}

/** Which rate limit a tracking call is over, and the seconds until it may try again. */
export interface Refusal {
  limit: "client" | "app";
  retryAfter: number;
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
  /** No such file (answered 404): counted as a `NOT_FOUND` of its path, not as a view. */
  notFound?: boolean;
}

/** A visitor of one app today, as the caches know them. */
interface Visitor {
  /** The day's hash of app, client address and user agent. */
  hash: string;
  /** The page last counted for them, and when (a 304 soon after is the same view). */
  path: string;
  at: number;
  /** The batch (its `generation`) the indexes below belong to. */
  batch: number;
  app: number;
  agent: number;
  visitor: number;
}

/** A user agent string seen today: what it is, and its visitors. */
interface Agent {
  info: UserAgentInfo;
  /** peer address → `X-Forwarded-For` (or "") → app → visitor. */
  clients: Map<string, Map<string, Map<string, Visitor>>>;
}

/** One app's (or `*`'s) raw events today, and what the next batch adds. */
interface Quota {
  stored: number;
  overflow: number;
  newStored: number;
  newOverflow: number;
}

/**
 * Events per batch write, at most. A batch costs ~160 rollup upserts
 * whatever its size (each value of each dimension, by hour, day, and day of
 * every app): at 1,000 events that was most of the write's cost per event.
 */
export const FLUSH_EVENTS = 10_000;
/** A 304 for a page the same visitor was counted on this recently is not counted again. */
export const REVALIDATION_WINDOW_MS = 30_000;
const CACHE_MAX = 20_000;
/** Distinct user agent strings remembered (their visitors with them). */
const AGENTS_MAX = 2000;
const PRUNE_EVERY_MS = 10 * 60_000;
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
  /** Events over their app's daily cap since start: counted, not stored. */
  notStored = 0;
  /** Tracking calls refused by a rate limit since start. */
  refused = 0;
  #storage: Storage;
  #settings: Settings;
  #log: (message: string) => void;
  #now: () => number;
  #makeSalt: () => string;
  #max: number;
  #flushEvents: number;
  #writer: AnalyticsWriter | undefined;
  /** The waiting events, as numbers (each distinct string once). */
  #batch = new BatchBuilder();
  #scheduled = false;
  #timer: ReturnType<typeof setInterval> | undefined;
  /**
   * User agent string → what it is and its visitors, for the current day:
   * one lookup by each string a request brings, none joined (no new string
   * to make and hash per request).
   */
  #agents = new Map<string, Agent>();
  #visitorCount = 0;
  /** Indexes of constant strings in the current batch (`#constBatch` is its generation). */
  #constBatch = -1;
  #pageviewId = 0;
  #notFoundId = 0;
  #serverId = 0;
  #noReferrerId = 0;
  /** Referrer URL or Host header → host. */
  #hosts = new Map<string, string>();
  /** Per-client and per-app ingest limits (undefined: off). */
  #clients: TokenBuckets | undefined;
  #apps: TokenBuckets | undefined;
  /**
   * peer → `X-Forwarded-For` (or "") → the client's bucket, so the address
   * is worked out once per client (until the buckets forget some:
   * `#clientsForgotten`).
   */
  #clientBuckets = new Map<string, Map<string, Bucket>>();
  #clientsForgotten = 0;
  /** App (or `*`) → its raw events today; cleared at midnight. */
  #quota = new Map<string, Quota>();
  #quotaChanged = false;
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
    if (settings.analytics_client_rate > 0) {
      this.#clients = new TokenBuckets(
        settings.analytics_client_rate,
        settings.analytics_client_burst,
      );
    }
    if (settings.analytics_app_rate > 0) {
      this.#apps = new TokenBuckets(
        settings.analytics_app_rate,
        settings.analytics_app_burst,
        10_000,
      );
    }
    this.#rotate(this.#now());
    this.#writer = openWriter(
      storage,
      {
        written: (n) => (this.written += n),
        lost: (n, message) => {
          this.dropped += n;
          this.#log(`analytics: ${n} events lost: ${message}`);
        },
        maintained: (_deleted, more) => {
          // A backlog (old raw events, weeks to roll up) goes a step per tick.
          if (more) this.#nextPrune = 0;
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
    return this.#batch.count;
  }

  /**
   * Takes a token for a tracking call from its client's bucket, then from its
   * app's (`quota`: an app, or `*`); undefined when it may go on. A client is
   * an address, an IPv6 /64 counting as one. Nothing is limited while
   * analytics is off.
   */
  limit(req: Request, remote: Deno.NetAddr | undefined, quota: string): Refusal | undefined {
    if (!this.enabled || this.#closed) return undefined;
    const now = this.#now();
    const clients = this.#clients;
    if (clients) {
      const h = allHeaders(req);
      const peer = remote?.hostname ?? "";
      const forwarded = this.#settings.trust_proxy === 1 ? h.get("x-forwarded-for") ?? "" : "";
      if (clients.forgotten !== this.#clientsForgotten) {
        this.#clientBuckets.clear();
        this.#clientsForgotten = clients.forgotten;
      }
      let byPeer = this.#clientBuckets.get(peer);
      if (byPeer === undefined) {
        if (this.#clientBuckets.size >= CACHE_MAX) this.#clientBuckets.clear();
        this.#clientBuckets.set(peer, byPeer = new Map());
      }
      let bucket = byPeer.get(forwarded);
      if (bucket === undefined) {
        bucket = clients.bucket(clientKey(clientIp(req, remote, this.#settings)), now);
        if (byPeer.size >= CACHE_MAX) byPeer.clear();
        byPeer.set(forwarded, bucket);
      }
      const wait = clients.takeFrom(bucket, now);
      if (wait) {
        this.refused++;
        return { limit: "client", retryAfter: wait };
      }
    }
    if (this.#apps) {
      const wait = this.#apps.take(quota, now);
      if (wait) {
        this.refused++;
        return { limit: "app", retryAfter: wait };
      }
    }
    return undefined;
  }

  /**
   * A page served from an app's files: a 200, or a 304 revalidation (counted
   * unless the same visitor was counted on the same page within
   * `REVALIDATION_WINDOW_MS`). Bots, prefetches and, if the owner asks,
   * DNT/GPC requests are not counted.
   */
  page(view: PageView): void {
    if (this.#closed || !this.enabled) return;
    const { req, remote, host, app, path, revalidated, notFound } = view;
    const now = this.#now();
    if (now >= this.#dayEnd || now < this.#day) this.#rotate(now);
    const h = allHeaders(req);
    const ua = h.get("user-agent") ?? "";
    const agent = this.#agent(ua);
    if (agent.info.bot) return;
    const purpose = h.get("sec-purpose") ?? h.get("purpose");
    if (purpose !== null && PREFETCH.test(purpose)) return;
    if (this.#settings.analytics_honor_dnt === 1 && optedOut(h)) return;
    const visitor = this.#visitor(agent, req, remote(), app, ua);
    if (!notFound) {
      if (revalidated && visitor.path === path && now - visitor.at < REVALIDATION_WINDOW_MS) return;
      visitor.path = path;
      visitor.at = now;
    }
    const referer = h.get("referer");
    let referrer = referer === null ? "" : this.#host(referer);
    if (referrer && referrer === this.#host(host)) referrer = "";
    if (!this.#admit(app)) return;
    const b = this.#batch;
    this.#batchIds(visitor, agent, app);
    b.addIds(
      now,
      visitor.app,
      notFound ? this.#notFoundId : this.#pageviewId,
      this.#serverId,
      b.id(path.length > 500 ? path.slice(0, 500) : path),
      referrer ? b.id(referrer) : this.#noReferrerId,
      visitor.agent,
      visitor.visitor,
      -1,
      -1,
    );
    this.#added();
  }

  /**
   * The visitor's (and the constants') indexes in the current batch, so an
   * event is added mostly without looking strings up.
   */
  #batchIds(visitor: Visitor, agent: Agent, app: string): void {
    const b = this.#batch;
    const gen = b.generation;
    if (this.#constBatch !== gen) {
      this.#constBatch = gen;
      this.#pageviewId = b.id(PAGEVIEW);
      this.#notFoundId = b.id(NOT_FOUND);
      this.#serverId = b.id("server");
      this.#noReferrerId = b.id("");
    }
    if (visitor.batch !== gen) {
      visitor.batch = gen;
      visitor.app = b.id(app);
      visitor.agent = b.id(agent.info.key);
      visitor.visitor = b.id(visitor.hash);
    }
  }

  /**
   * An event from a tracking endpoint; false when it was not recorded (bot,
   * opt-out, off, over the app's daily cap, buffer full).
   */
  track(req: Request, remote: Deno.NetAddr | undefined, input: TrackInput): boolean {
    if (!this.enabled || this.#closed) return false;
    const now = this.#now();
    if (now >= this.#dayEnd || now < this.#day) this.#rotate(now);
    const h = allHeaders(req);
    const ua = h.get("user-agent") ?? "";
    const agent = this.#agent(ua);
    if (agent.info.bot) return false;
    if (this.#settings.analytics_honor_dnt === 1 && optedOut(h)) return false;
    let referrer = input.referrer ? this.#host(input.referrer) : "";
    if (referrer && referrer === this.#host(requestHost(req))) referrer = "";
    if (referrer && referrer === this.#host(input.app)) referrer = "";
    const visitor = this.#visitor(agent, req, remote, input.app, ua);
    if (!this.#admit(input.quota ?? input.app)) return false;
    const b = this.#batch;
    this.#batchIds(visitor, agent, input.app);
    const tags = input.tags && input.tags.length ? input.tags.join(",") : null;
    b.addIds(
      now,
      visitor.app,
      b.id(input.name),
      b.id(input.source),
      b.id(input.path),
      referrer ? b.id(referrer) : this.#noReferrerId,
      visitor.agent,
      visitor.visitor,
      tags === null ? -1 : b.id(tags),
      input.props === null ? -1 : b.id(input.props),
    );
    this.#added();
    return true;
  }

  /**
   * Whether one more event may be buffered: room in the buffer, and under
   * `quota`'s daily cap (the day is the current one). It is counted either way.
   */
  #admit(quota: string): boolean {
    if (this.#batch.count + (this.#writer?.pending ?? 0) >= this.#max) {
      this.dropped++;
      return false;
    }
    const q = this.#quotaOf(quota);
    const cap = this.#settings.analytics_app_daily_events;
    this.#quotaChanged = true;
    if (cap > 0 && q.stored >= cap) {
      q.overflow++;
      q.newOverflow++;
      this.notStored++;
      return false;
    }
    q.stored++;
    q.newStored++;
    return true;
  }

  /** An event was buffered: a write is due once enough wait. */
  #added(): void {
    if (this.#batch.count >= this.#flushEvents && !this.#scheduled) {
      this.#scheduled = true;
      setTimeout(() => {
        this.#scheduled = false;
        this.flush();
      }, 0);
    }
  }

  /** Today's counts of `key`, read from the database the first time it is seen each day. */
  #quotaOf(key: string): Quota {
    let q = this.#quota.get(key);
    if (q === undefined) {
      // Nothing of `key` for today can be on its way to the database: an
      // entry lives from the first event of the day to midnight.
      const { stored, overflow } = this.#storage.analytics.quota(key, this.#day);
      q = { stored, overflow, newStored: 0, newOverflow: 0 };
      this.#quota.set(key, q);
    }
    return q;
  }

  /** What the waiting batch adds to the daily counts, taken (so it is written once). */
  #takeQuota(): QuotaCount[] {
    const out: QuotaCount[] = [];
    if (!this.#quotaChanged) return out;
    this.#quotaChanged = false;
    for (const [app, q] of this.#quota) {
      if (q.newStored === 0 && q.newOverflow === 0) continue;
      out.push({ app, day: this.#day, stored: q.newStored, overflow: q.newOverflow });
      q.newStored = 0;
      q.newOverflow = 0;
    }
    return out;
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

  /** What the caches know of `ua` (parsed the first time it is seen each day). */
  #agent(ua: string): Agent {
    let agent = this.#agents.get(ua);
    if (agent === undefined) {
      if (this.#agents.size >= AGENTS_MAX) this.#forgetVisitors();
      agent = { info: parseUserAgent(ua), clients: new Map() };
      this.#agents.set(ua, agent);
    }
    return agent;
  }

  /**
   * The visitor, cached by what decides the client address (the peer and,
   * behind a trusted proxy, the raw `X-Forwarded-For`), so the address is
   * worked out and hashed once per visitor and day. The day is current.
   */
  #visitor(
    agent: Agent,
    req: Request,
    remote: Deno.NetAddr | undefined,
    app: string,
    ua: string,
  ): Visitor {
    const peer = remote?.hostname ?? "";
    const forwarded = this.#settings.trust_proxy === 1
      ? req.headers.get("x-forwarded-for") ?? ""
      : "";
    let byPeer = agent.clients.get(peer);
    if (byPeer === undefined) agent.clients.set(peer, byPeer = new Map());
    let byApp = byPeer.get(forwarded);
    if (byApp === undefined) byPeer.set(forwarded, byApp = new Map());
    let visitor = byApp.get(app);
    if (visitor === undefined) {
      const ip = clientIp(req, remote, this.#settings);
      const hash = createHash("sha256").update(`${this.#salt}\n${app}\n${ip}\n${ua}`)
        .digest("base64url").slice(0, 16);
      visitor = { hash, path: "", at: 0, batch: -1, app: 0, agent: 0, visitor: 0 };
      if (++this.#visitorCount > CACHE_MAX) {
        // Start again, keeping this one (its agent entry may be one forgotten).
        this.#forgetVisitors();
        this.#agents.set(ua, agent);
        agent.clients = new Map([[peer, byPeer = new Map([[forwarded, byApp = new Map()]])]]);
        this.#visitorCount = 1;
      }
      byApp.set(app, visitor);
    }
    return visitor;
  }

  #forgetVisitors(): void {
    this.#agents.clear();
    this.#visitorCount = 0;
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
    this.#forgetVisitors();
    this.#quota.clear();
    this.#quotaChanged = false;
  }

  /**
   * Hands every waiting event, and what they and the events over the daily
   * cap add to the day's counts, to the writer as one batch; returns how
   * many events.
   */
  flush(): number {
    const count = this.#batch.count;
    if (!this.#writer || (count === 0 && !this.#quotaChanged)) return 0;
    this.#writer.write({ ...this.#batch.take(), quota: this.#takeQuota() }, count);
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
    this.#writer?.maintain({ before, keepDay: this.#day - DAY_MS });
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

/**
 * The request's headers, read from the runtime in one call. Deno copies
 * every header of a request whose headers were used when it sends the
 * answer anyway (fazt always uses them); copying them first instead makes
 * each later `get` a scan of that copy rather than another call into the
 * runtime.
 */
function allHeaders(req: Request): Headers {
  const h = req.headers;
  h.getSetCookie(); // the cheapest way to make the copy
  return h;
}

function optedOut(h: Headers): boolean {
  return h.get("dnt") === "1" || h.get("sec-gpc") === "1";
}

/** What a client is limited as: its IPv4 address, or its IPv6 address's /64. */
export function clientKey(ip: string): string {
  if (!ip.includes(":")) return ip; // IPv4
  const addr = ip.toLowerCase().split("%")[0];
  if (!addr.includes(":") || addr.includes(".")) return addr; // IPv4, or IPv4 mapped
  const [head, tail] = addr.split("::");
  const front = head ? head.split(":") : [];
  const back = tail ? tail.split(":") : [];
  const groups = tail === undefined
    ? front
    : [...front, ...Array(Math.max(0, 8 - front.length - back.length)).fill("0"), ...back];
  return `${groups.slice(0, 4).map((g) => g.replace(/^0+(?=.)/, "")).join(":")}::/64`;
}
