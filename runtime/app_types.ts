/**
 * The types an app's server code sees: `ctx` (the second argument of the
 * handler) and the global `fazt` have this shape. Apps may import them for
 * type checking only; at run time the values come from the app host.
 */

export type Json = string | number | boolean | null | Json[] | { [key: string]: Json };

export interface Page<T> {
  items: T[];
  /** Pass back as `cursor` for the next page; `null` on the last one. */
  cursor: string | null;
}

export interface Kv {
  get<T = Json>(key: string): Promise<T | undefined>;
  /** `ttl` is in milliseconds. */
  set(key: string, value: Json, opts?: { ttl?: number }): Promise<void>;
  delete(key: string): Promise<boolean>;
  list(opts?: { prefix?: string; limit?: number; cursor?: string }): Promise<
    Page<{ key: string; value: Json; expires_at: number | null }>
  >;
  /** Atomic: concurrent increments never lose a count. */
  increment(key: string, by?: number, opts?: { ttl?: number }): Promise<number>;
}

export type Doc = { id: string } & Record<string, Json>;
export type Filter = Record<string, Json | { [op: `$${string}`]: Json }>;

export interface Docs {
  insert(collection: string, doc: Record<string, Json>): Promise<Doc>;
  get(collection: string, id: string): Promise<Doc | undefined>;
  find(
    collection: string,
    filter?: Filter,
    opts?: { sort?: Record<string, 1 | -1>; limit?: number; cursor?: string },
  ): Promise<Page<Doc>>;
  update(
    collection: string,
    filter: Filter,
    update: {
      $set?: Record<string, Json>;
      $unset?: Record<string, unknown>;
      $inc?: Record<string, number>;
    },
  ): Promise<number>;
  delete(collection: string, filter: Filter): Promise<number>;
  count(collection: string, filter?: Filter): Promise<number>;
}

export interface StoredBlob {
  key: string;
  size: number;
  contentType: string;
  updatedAt: number;
  data: Uint8Array;
  text(): string;
  stream(): ReadableStream<Uint8Array>;
}

export interface Blobs {
  put(
    key: string,
    data: Uint8Array | ArrayBuffer | string | Blob | ReadableStream<Uint8Array>,
    opts?: { contentType?: string },
  ): Promise<{ key: string; size: number; content_type: string; updated_at: number }>;
  get(key: string): Promise<StoredBlob | undefined>;
  delete(key: string): Promise<boolean>;
  list(opts?: { prefix?: string; limit?: number; cursor?: string }): Promise<
    Page<{ key: string; size: number; content_type: string; updated_at: number }>
  >;
}

/** The app's secrets as set by the owner; also readable as `env.NAME`. */
export type Env = Readonly<Record<string, string>> & {
  get(name: string, fallback?: string): string | undefined;
  has(name: string): boolean;
};

export interface Log {
  debug(...args: unknown[]): void;
  info(...args: unknown[]): void;
  warn(...args: unknown[]): void;
  error(...args: unknown[]): void;
}

export interface AppContext {
  kv: Kv;
  docs: Docs;
  blobs: Blobs;
  env: Env;
  log: Log;
  app: { id: string; name: string };
  version: string;
}

/** What `api/main.ts` exports by default. */
export type AppHandler =
  | ((req: Request, ctx: AppContext) => Response | Promise<Response>)
  | { fetch(req: Request, ctx: AppContext): Response | Promise<Response> };
