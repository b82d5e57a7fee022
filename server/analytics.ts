import { type Bucket, TokenBuckets } from "../lib/token_buckets.ts";
import { DAY_MS, type Settings, type Storage } from "../storage/mod.ts";
import { CAPTURED, type Captured } from "./analytics_counter.ts";
import { type AnalyticsWriter, openWriter } from "./analytics_writer.ts";
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
   * inline. Default: a thread, when there is a database file and a second core.
   */
  writer?: "thread" | "inline";
  /** Called when the writer thread has stopped for idleness (the node trims its memory then). */
  onWriterStopped?: () => void;
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
  /**
   * No such file (answered 404): counted as a `NOT_FOUND` of its path, not as
   * a view, under the 404s' own daily cap (`notFoundQuota`), not the app's.
   */
  notFound?: boolean;
}

/**
 * Events per batch write, at most. A batch costs ~160 rollup upserts
 * whatever its size (each value of each dimension, by hour, day, and day of
 * every app): at 1,000 events that was most of the write's cost per event.
 */
export const FLUSH_EVENTS = 10_000;
/**
 * Captured events handed to the writer at a time. Small chunks leave the
 * serving thread before its minor GCs promote their strings: RSS after 100k
 * counted requests was 125 MiB with chunks of 512 and 114 MiB with 64, at
 * the same CPU a request (and 2,048 was worse again).
 */
const CHUNK_EVENTS = 64;
/** Clients whose rate-limit buckets are found without working out their address. */
const CACHE_MAX = 20_000;
const PRUNE_EVERY_MS = 10 * 60_000;
const PREFETCH = /prefetch|prerender|preview/i;

function randomSalt(): string {
  return crypto.getRandomValues(new Uint8Array(32)).toBase64();
}

/**
 * Counting, cheaply, on the request path: a few checks and the strings the
 * count needs, pushed into a bounded buffer. The buffer goes to the writer
 * 64 events at a time (and at each tick); the writer counts them
 * (`AnalyticsCounter`: bots, visitors, daily caps) and writes a batch every
 * `flushIntervalMs` or `flushEvents` events, on a thread of its own unless
 * there is no database file.
 *
 * Visitors are `sha256(day's salt, app, IP, user agent)`, cut to 96 bits. The
 * salt lives in memory and in SQLite for its UTC day only; IPs never leave
 * memory (the buffer and the writer's hash cache hold them until the day
 * ends or the cache fills).
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
  /** Captured events waiting (see `Captured`), and how many. */
  #data = "";
  #count = 0;
  /** Events handed to the writer since it last wrote. */
  #unwritten = 0;
  #chunkEvents: number;
  #scheduled = false;
  #timer: ReturnType<typeof setInterval> | undefined;
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
    this.#chunkEvents = Math.min(CHUNK_EVENTS, this.#flushEvents);
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
        counted: ({ recorded, overCap, error }) => {
          this.notStored += overCap;
          if (error === undefined) {
            this.written += recorded;
          } else {
            this.dropped += recorded;
            this.#log(`analytics: ${recorded} events lost: ${error}`);
          }
        },
        maintained: (_deleted, more) => {
          // A backlog (old raw events, weeks to roll up) goes a step per tick.
          if (more) this.#nextPrune = 0;
        },
      },
      log,
      opts.writer,
      opts.onWriterStopped,
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
   * 30 s, `REVALIDATION_WINDOW_MS`). Bots, prefetches and, if the owner asks,
   * DNT/GPC requests are not counted.
   */
  page(view: PageView): void {
    const h = this.#capturing(view.req);
    if (h === undefined) return;
    const purpose = h.get("sec-purpose") ?? h.get("purpose");
    if (purpose !== null && PREFETCH.test(purpose)) return;
    if (this.#settings.analytics_honor_dnt === 1 && optedOut(h)) return;
    const kind = view.notFound
      ? CAPTURED.notFound
      : view.revalidated
      ? CAPTURED.revalidated
      : CAPTURED.view;
    const fwd = this.#settings.trust_proxy === 1 ? h.get("x-forwarded-for") ?? "" : "";
    this.#data += `${kind}\0${this.#now()}\0${view.app}\0${view.path}\0${
      h.get("user-agent") ?? ""
    }\0${view.remote()?.hostname ?? ""}\0${fwd}\0${h.get("referer") ?? ""}\0${view.host}\n`;
    this.#added();
  }

  /**
   * An event from a tracking endpoint, recorded unless it is a bot's, opted
   * out, over its app's daily cap, or the buffer is full.
   */
  track(req: Request, remote: Deno.NetAddr | undefined, input: TrackInput): void {
    const h = this.#capturing(req);
    if (h === undefined) return;
    if (this.#settings.analytics_honor_dnt === 1 && optedOut(h)) return;
    const fwd = this.#settings.trust_proxy === 1 ? h.get("x-forwarded-for") ?? "" : "";
    const tags = input.tags?.join(",") ?? "";
    this.#data += `${CAPTURED.track}\0${this.#now()}\0${input.app}\0${input.path}\0${
      h.get("user-agent") ?? ""
    }\0${remote?.hostname ?? ""}\0${fwd}\0${input.referrer ?? ""}\0${
      requestHost(req)
    }\0${input.name}\0${input.source}\0${tags}\0${input.props ?? ""}\0${
      input.quota ?? input.app
    }\n`;
    this.#added();
  }

  /**
   * The request's headers when an event of it may be captured now: counting
   * on, the day current, and room in the buffer (the events the writer has
   * not finished count too).
   */
  #capturing(req: Request): Headers | undefined {
    if (this.#closed || !this.enabled) return undefined;
    const now = this.#now();
    if (now >= this.#dayEnd || now < this.#day) this.#rotate(now);
    if (this.#count + (this.#writer?.pending ?? 0) >= this.#max) {
      this.dropped++;
      return undefined;
    }
    return allHeaders(req);
  }

  /** An event was captured: the chunk goes to the writer once it is full. */
  #added(): void {
    if (++this.#count >= this.#chunkEvents && !this.#scheduled) {
      this.#scheduled = true;
      setTimeout(() => {
        this.#scheduled = false;
        this.#post(this.#unwritten + this.#count >= this.#flushEvents);
      }, 0);
    }
  }

  /** A new UTC day: its salt (made once, kept for the day). */
  #rotate(now: number): void {
    const day = now - (now % DAY_MS);
    if (day === this.#day) return;
    // Events of the old day still waiting are counted with the old day's salt.
    if (this.#day !== -1) this.flush();
    this.#day = day;
    this.#dayEnd = day + DAY_MS;
    this.#salt = this.#storage.analytics.salt(day, this.#makeSalt);
  }

  /** Hands every waiting event to the writer and has it write them all; returns how many. */
  flush(): number {
    const count = this.#count + this.#unwritten;
    this.#post(true);
    return count;
  }

  /** Hands the waiting events to the writer as one chunk, to be written now or later. */
  #post(write: boolean): void {
    const count = this.#count;
    if (!this.#writer || (count === 0 && !(write && this.#unwritten > 0))) return;
    const chunk: Captured = {
      day: this.#day,
      salt: this.#salt,
      trustProxy: this.#settings.trust_proxy === 1,
      dailyCap: this.#settings.analytics_app_daily_events,
      count,
      data: this.#data,
      write,
    };
    this.#data = "";
    this.#count = 0;
    this.#unwritten = write ? 0 : this.#unwritten + count;
    this.#writer.write(chunk);
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
