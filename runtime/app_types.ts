/**
 * The types an app's server code sees: `ctx` (the second argument of the
 * handler) and the global `fazt` have this shape. Apps may import them for
 * type checking only; at run time the values come from the app host.
 */

/** A value the stores keep as JSON. */
export type Json = string | number | boolean | null | Json[] | { [key: string]: Json };

/** One page of a listing. */
export interface Page<T> {
  /** This page's entries, in key (or sort) order. */
  items: T[];
  /** Pass back as `cursor` for the next page; `null` on the last one. */
  cursor: string | null;
}

/** `ctx.kv`: the app's key-value store. */
export interface Kv {
  /** The value under `key`, or `undefined` when absent or expired. */
  get<T = Json>(key: string): Promise<T | undefined>;
  /** Stores `value` under `key`; `ttl` is in milliseconds. */
  set(key: string, value: Json, opts?: { ttl?: number }): Promise<void>;
  /** Removes `key`; whether it was there. */
  delete(key: string): Promise<boolean>;
  /** Keys in order, with their values, under an optional prefix. */
  list(opts?: { prefix?: string; limit?: number; cursor?: string }): Promise<
    Page<{ key: string; value: Json; expires_at: number | null }>
  >;
  /** Atomic: concurrent increments never lose a count. */
  increment(key: string, by?: number, opts?: { ttl?: number }): Promise<number>;
}

/** A stored document: its fields and a string `id`. */
export type Doc = { id: string } & Record<string, Json>;
/** Fields to match: a value means equal; `{$ne, $gt, $gte, $lt, $lte, $in, $contains}` compare. */
export type Filter = Record<string, Json | { [op: `$${string}`]: Json }>;

/** `ctx.docs`: the app's collections of JSON documents. */
export interface Docs {
  /**
   * Stores a document, keeping its string `id` or making one (ids made later
   * sort later); an existing id is refused.
   */
  insert(collection: string, doc: Record<string, Json>): Promise<Doc>;
  /** The document with this id, or `undefined`. */
  get(collection: string, id: string): Promise<Doc | undefined>;
  /** Matching documents, in id order unless `sort` says otherwise. */
  find(
    collection: string,
    filter?: Filter,
    opts?: { sort?: Record<string, 1 | -1>; limit?: number; cursor?: string },
  ): Promise<Page<Doc>>;
  /** Applies `update` to every match at once; returns how many changed. */
  update(
    collection: string,
    filter: Filter,
    update: {
      $set?: Record<string, Json>;
      $unset?: Record<string, unknown>;
      $inc?: Record<string, number>;
    },
  ): Promise<number>;
  /** Deletes every match; returns how many. */
  delete(collection: string, filter: Filter): Promise<number>;
  /** How many documents match. */
  count(collection: string, filter?: Filter): Promise<number>;
}

/** A blob read back from `ctx.blobs`. */
export interface StoredBlob {
  /** Its key. */
  key: string;
  /** Its size in bytes. */
  size: number;
  /** The content type given when it was stored. */
  contentType: string;
  /** When it was last written, ms since the epoch. */
  updatedAt: number;
  /** Its bytes. */
  data: Uint8Array;
  /** Its bytes as UTF-8 text. */
  text(): string;
  /** Its bytes as a stream, e.g. for a `Response` body. */
  stream(): ReadableStream<Uint8Array>;
}

/** `ctx.blobs`: the app's files, by key. */
export interface Blobs {
  /** Stores bytes, a string, a `Blob` or a stream under `key`. */
  put(
    key: string,
    data: Uint8Array | ArrayBuffer | string | Blob | ReadableStream<Uint8Array>,
    opts?: { contentType?: string },
  ): Promise<{ key: string; size: number; content_type: string; updated_at: number }>;
  /** The blob under `key`, or `undefined`. */
  get(key: string): Promise<StoredBlob | undefined>;
  /** Removes `key`; whether it was there. */
  delete(key: string): Promise<boolean>;
  /** Keys in order, with sizes and types (no bytes), under an optional prefix. */
  list(opts?: { prefix?: string; limit?: number; cursor?: string }): Promise<
    Page<{ key: string; size: number; content_type: string; updated_at: number }>
  >;
}

/** The app's secrets as set by the owner; also readable as `env.NAME`. */
export type Env = Readonly<Record<string, string>> & {
  get(name: string, fallback?: string): string | undefined;
  has(name: string): boolean;
};

/** `ctx.log`: lines kept in the app's log (the newest 1,000 per app). */
export interface Log {
  /** A `debug` line. */
  debug(...args: unknown[]): void;
  /** An `info` line, as `console.log` writes. */
  info(...args: unknown[]): void;
  /** A `warn` line. */
  warn(...args: unknown[]): void;
  /** An `error` line. */
  error(...args: unknown[]): void;
}

/** The second argument of an app's handler: its storage, secrets and log. */
export interface AppContext {
  /** Key-value store. */
  kv: Kv;
  /** Document collections. */
  docs: Docs;
  /** Files by key. */
  blobs: Blobs;
  /** Secrets set by the owner. */
  env: Env;
  /** The app's log. */
  log: Log;
  /** Which app this is. */
  app: { id: string; name: string };
  /** The deployed version serving this request. */
  version: string;
}

/** What a scheduled job's `scheduled(event, ctx)` is given (the manifest's `crons`). */
export interface ScheduledEvent {
  /** Always `"scheduled"`. */
  type: "scheduled";
  /** The job's name in the manifest. */
  name: string;
  /** Its schedule: five fields, or six with seconds first. */
  cron: string;
  /** When the run was due, in ms since the epoch. */
  scheduledTime: number;
}

/** What `api/main.ts` exports by default. */
export type AppHandler =
  | ((req: Request, ctx: AppContext) => Response | Promise<Response>)
  | {
    fetch(req: Request, ctx: AppContext): Response | Promise<Response>;
    /** Runs the manifest's `crons`; a rejection is recorded as the run's error. */
    scheduled?(event: ScheduledEvent, ctx: AppContext): void | Promise<void>;
  };
