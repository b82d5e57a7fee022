/**
 * Counting, off the serving thread: what a counted request left behind (a
 * few strings, see `Captured`) becomes events in a batch. Bots are skipped,
 * visitors hashed (cached for the day), a 304 soon after a counted view of
 * the same page dropped, and each app's daily cap applied.
 * @module
 */
import { createHash } from "node:crypto";
import { parseUserAgent, type UserAgentInfo } from "../lib/user_agent.ts";
import {
  BatchBuilder,
  NOT_FOUND,
  notFoundQuota,
  type PackedBatch,
  PAGEVIEW,
  type QuotaCount,
  type Storage,
} from "../storage/mod.ts";
import { clientAddress } from "./client_address.ts";
import { hostname } from "./hosts.ts";

/** The kinds of captured event, each the first field of its record. */
export const CAPTURED = {
  /** A page answered 200: `now, app, path, ua, peer, forwarded, referer, host`. */
  view: 0,
  /** A page answered 304: as `view`. */
  revalidated: 1,
  /**
   * No such file (404): as `view`. Kept as a `NOT_FOUND` event for the 404s
   * report, under a daily cap of its own (`notFoundQuota`), never the app's.
   */
  notFound: 2,
  /**
   * A tracking call: as `view` (its `referer` is the input's referrer and
   * its `host` the request's), then `name, source, tags, props, quota`
   * (no tags or no props: empty).
   */
  track: 3,
} as const;

/** How many fields each kind of captured event has, its kind included. */
export const VIEW_FIELDS = 9;
export const TRACK_FIELDS = 14;

/**
 * Events as the serving thread captured them, with what counting them needs
 * to know of their day and the settings. The events are one string, a
 * record a line and its fields apart by NUL: one string crosses to the
 * writer thread as one copy (a list of values was copied value by value, 5 %
 * of the serving thread). No field can hold either separator: header values
 * and URL paths cannot, and the tracking endpoints refuse control characters
 * (props are JSON text, which escapes them); a record that still does not
 * split into its fields is skipped.
 */
export interface Captured {
  /** The UTC day (ms) every event of the chunk belongs to, and its salt. */
  day: number;
  salt: string;
  /** Whether `X-Forwarded-For` may be believed (from a proxy on loopback). */
  trustProxy: boolean;
  /** Raw events an app may store a day (0: no cap). */
  dailyCap: number;
  count: number;
  data: string;
  /**
   * Write the batch after this chunk. Chunks go to the writer small and
   * often (their strings die young on the serving thread), batches are
   * written large (a batch's rollup upserts cost the same whatever its size).
   */
  write: boolean;
}

/** What counting a chunk gives: the batch to write, and how its events ended. */
export interface Counted {
  batch: PackedBatch;
  /** Events in the batch. */
  recorded: number;
  /** Events over their app's daily cap: counted in the day's totals, not stored. */
  overCap: number;
}

/** A 304 for a page the same visitor was counted on this recently is not counted again. */
export const REVALIDATION_WINDOW_MS = 30_000;
const CACHE_MAX = 20_000;
/** Distinct user agent strings remembered (their visitors with them). */
const AGENTS_MAX = 2000;

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

/** One app's (or `*`'s) raw events today, and what the current chunk adds. */
interface Quota {
  stored: number;
  overflow: number;
  newStored: number;
  newOverflow: number;
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
 * Turns captured chunks into batches. Visitors are `sha256(day's salt, app,
 * IP, user agent)`, cut to 96 bits; the addresses stay in this cache's
 * memory until the day ends or it fills.
 */
export class AnalyticsCounter {
  #storage: Storage;
  #batch = new BatchBuilder();
  /**
   * User agent string → what it is and its visitors, for the current day:
   * one lookup by each string a request brings, none joined (no new string
   * to make and hash per event).
   */
  #agents = new Map<string, Agent>();
  #visitorCount = 0;
  /** Referrer URL or Host header → host. */
  #hosts = new Map<string, string>();
  /** App (or `*`) → its raw events today. */
  #quota = new Map<string, Quota>();
  #day = -1;
  #recorded = 0;
  #overCap = 0;
  /** Indexes of constant strings in the current batch (`#constBatch` is its generation). */
  #constBatch = -1;
  #pageviewId = 0;
  #notFoundId = 0;
  #serverId = 0;
  #noReferrerId = 0;

  constructor(storage: Storage) {
    this.#storage = storage;
  }

  /** Adds a chunk's events to the batch being built. */
  count(chunk: Captured): void {
    if (chunk.day !== this.#day) this.#newDay(chunk.day);
    for (const record of chunk.data.split("\n")) {
      const f = record.split("\0");
      const kind = Number(f[0]);
      const fields = kind === CAPTURED.track ? TRACK_FIELDS : VIEW_FIELDS;
      if (f.length !== fields) continue;
      const r = kind === CAPTURED.track ? this.#track(chunk, f) : this.#view(chunk, f, kind);
      if (r === 1) this.#recorded++;
      else if (r === 2) this.#overCap++;
    }
  }

  /** The batch built since the last `take`, with what it adds to the day's counts. */
  take(): Counted {
    const counted = {
      batch: { ...this.#batch.take(), quota: this.#takeQuota() },
      recorded: this.#recorded,
      overCap: this.#overCap,
    };
    this.#recorded = this.#overCap = 0;
    return counted;
  }

  /** 0: not counted (a bot, a repeated 304); 1: recorded; 2: over its app's daily cap. */
  #view(chunk: Captured, f: string[], kind: number): number {
    const now = Number(f[1]), app = f[2], path = f[3], ua = f[4];
    const agent = this.#agent(ua);
    if (agent.info.bot) return 0;
    const visitor = this.#visitor(chunk, agent, f[5], f[6], app, ua);
    const notFound = kind === CAPTURED.notFound;
    if (!notFound) {
      const revalidated = kind === CAPTURED.revalidated;
      if (revalidated && visitor.path === path && now - visitor.at < REVALIDATION_WINDOW_MS) {
        return 0;
      }
      visitor.path = path;
      visitor.at = now;
    }
    let referrer = f[7] ? this.#host(f[7]) : "";
    if (referrer && referrer === this.#host(f[8])) referrer = "";
    if (!this.#admit(notFound ? notFoundQuota(app) : app, chunk.dailyCap)) return 2;
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
    return 1;
  }

  #track(chunk: Captured, f: string[]): number {
    const now = Number(f[1]), app = f[2], path = f[3], ua = f[4];
    const agent = this.#agent(ua);
    if (agent.info.bot) return 0;
    let referrer = f[7] ? this.#host(f[7]) : "";
    if (referrer && referrer === this.#host(f[8])) referrer = "";
    if (referrer && referrer === this.#host(app)) referrer = "";
    const visitor = this.#visitor(chunk, agent, f[5], f[6], app, ua);
    if (!this.#admit(f[13], chunk.dailyCap)) return 2;
    const b = this.#batch;
    this.#batchIds(visitor, agent, app);
    b.addIds(
      now,
      visitor.app,
      b.id(f[9]),
      b.id(f[10]),
      b.id(path),
      referrer ? b.id(referrer) : this.#noReferrerId,
      visitor.agent,
      visitor.visitor,
      f[11] ? b.id(f[11]) : -1,
      f[12] ? b.id(f[12]) : -1,
    );
    return 1;
  }

  /**
   * A new UTC day: yesterday's visitors and counts forgotten. The serving
   * thread asks for a write before the first chunk of a new day, so no count
   * of yesterday is still waiting here.
   */
  #newDay(day: number): void {
    this.#day = day;
    this.#forgetVisitors();
    this.#quota.clear();
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
   * worked out and hashed once per visitor and day.
   */
  #visitor(
    chunk: Captured,
    agent: Agent,
    peer: string,
    forwarded: string,
    app: string,
    ua: string,
  ): Visitor {
    // Without trust_proxy the header says nothing (and must not split a visitor).
    if (!chunk.trustProxy) forwarded = "";
    let byPeer = agent.clients.get(peer);
    if (byPeer === undefined) agent.clients.set(peer, byPeer = new Map());
    let byApp = byPeer.get(forwarded);
    if (byApp === undefined) byPeer.set(forwarded, byApp = new Map());
    let visitor = byApp.get(app);
    if (visitor === undefined) {
      const ip = clientAddress(peer, forwarded, chunk.trustProxy);
      const hash = createHash("sha256").update(`${chunk.salt}\n${app}\n${ip}\n${ua}`)
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

  /** Whether one more event of `quota` is under its daily cap; it is counted either way. */
  #admit(quota: string, cap: number): boolean {
    const q = this.#quotaOf(quota);
    if (cap > 0 && q.stored >= cap) {
      q.overflow++;
      q.newOverflow++;
      return false;
    }
    q.stored++;
    q.newStored++;
    return true;
  }

  /** Today's counts of `key`, read from the database the first time it is seen each day. */
  #quotaOf(key: string): Quota {
    let q = this.#quota.get(key);
    if (q === undefined) {
      // Only this counter writes the day's counts, each chunk's with its
      // batch: what the database holds is all there is.
      const { stored, overflow } = this.#storage.analytics.quota(key, this.#day);
      q = { stored, overflow, newStored: 0, newOverflow: 0 };
      this.#quota.set(key, q);
    }
    return q;
  }

  /** What the chunk adds to the daily counts, taken (so it is written once). */
  #takeQuota(): QuotaCount[] {
    const out: QuotaCount[] = [];
    for (const [app, q] of this.#quota) {
      if (q.newStored === 0 && q.newOverflow === 0) continue;
      out.push({ app, day: this.#day, stored: q.newStored, overflow: q.newOverflow });
      q.newStored = 0;
      q.newOverflow = 0;
    }
    return out;
  }
}
