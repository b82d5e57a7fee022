/**
 * `ctx.kv`, `ctx.docs` and `ctx.blobs`: the app-facing storage API of
 * `runtime/app_types.ts`, each method one call to the server.
 * @module
 */
import type { Blobs, Docs, Json, Kv, Page, StoredBlob } from "../app_types.ts";
import type { HostCalls } from "./host_calls.ts";

/** A blob's metadata as the server's `blobs.*` operations return it. */
export interface BlobMeta {
  key: string;
  size: number;
  content_type: string;
  updated_at: number;
}

type KvItem = { key: string; value: Json; expires_at: number | null };

async function toBytes(data: unknown): Promise<Uint8Array> {
  if (data instanceof Uint8Array) return data;
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  if (ArrayBuffer.isView(data)) {
    return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  }
  if (typeof data === "string") return new TextEncoder().encode(data);
  if (data instanceof Blob) return new Uint8Array(await data.arrayBuffer());
  if (data instanceof ReadableStream) {
    return new Uint8Array(await new Response(data).arrayBuffer());
  }
  throw new TypeError("blobs.put takes bytes, a string, a Blob or a ReadableStream");
}

// Parameters are as loose as the values JavaScript apps may pass: the
// server checks every argument.

export function kvApi(calls: HostCalls): Kv {
  return {
    get: <T = Json>(key: string) => calls.call<T | undefined>("kv.get", [key]),
    set: (key: string, value: unknown, opts?: { ttl?: number }) =>
      calls.call<void>("kv.set", [key, value, opts ?? {}]),
    delete: (key: string) => calls.call<boolean>("kv.delete", [key]),
    list: (opts?: unknown) => calls.call<Page<KvItem>>("kv.list", [opts ?? {}]),
    increment: (key: string, by = 1, opts?: { ttl?: number }) =>
      calls.call<number>("kv.increment", [key, by, opts ?? {}]),
  };
}

export function docsApi(calls: HostCalls): Docs {
  type Doc = Awaited<ReturnType<Docs["insert"]>>;
  return {
    insert: (c: string, doc: unknown) => calls.call<Doc>("docs.insert", [c, doc]),
    get: (c: string, id: string) => calls.call<Doc | undefined>("docs.get", [c, id]),
    find: (c: string, filter?: unknown, opts?: unknown) =>
      calls.call<Page<Doc>>("docs.find", [c, filter ?? {}, opts ?? {}]),
    update: (c: string, filter: unknown, update: unknown) =>
      calls.call<number>("docs.update", [c, filter, update]),
    delete: (c: string, filter: unknown) => calls.call<number>("docs.delete", [c, filter]),
    count: (c: string, filter?: unknown) => calls.call<number>("docs.count", [c, filter ?? {}]),
  };
}

export function blobsApi(calls: HostCalls): Blobs {
  return {
    put: async (key: string, data: unknown, opts?: { contentType?: string }) =>
      calls.call<BlobMeta>("blobs.put", [key, opts ?? {}], await toBytes(data)),
    get: async (key: string): Promise<StoredBlob | undefined> => {
      const r = await calls.call<(BlobMeta & { body: Uint8Array<ArrayBuffer> }) | undefined>(
        "blobs.get",
        [key],
      );
      if (!r) return undefined;
      const data = r.body;
      return {
        key: r.key,
        size: r.size,
        contentType: r.content_type,
        updatedAt: r.updated_at,
        data,
        text: () => new TextDecoder().decode(data),
        stream: () => new Blob([data]).stream(),
      };
    },
    delete: (key: string) => calls.call<boolean>("blobs.delete", [key]),
    list: (opts?: unknown) => calls.call<Page<BlobMeta>>("blobs.list", [opts ?? {}]),
  };
}
