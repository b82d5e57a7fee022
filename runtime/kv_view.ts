/**
 * The owner's view of an app's Deno KV (the dashboard's Storage page): keys
 * written as Deno prints them (`["links", "kv"]`) and values as short
 * previews. Values are the app's V8-serialised data, at most 64 KiB each;
 * what cannot be read back shows as such.
 * @module
 */
import { KV_ENCODING, type Storage, StorageError } from "../storage/mod.ts";
import { decodeKey } from "./worker/kv_key.ts";

export interface DenoKvItem {
  key: string;
  value: string;
  versionstamp: string;
  expires_at: number | null;
}

const PREVIEW = 200;

function show(v: unknown): string {
  const text = Deno.inspect(v, { depth: 4, colors: false, compact: true, breakLength: Infinity });
  return text.length > PREVIEW ? text.slice(0, PREVIEW - 1) + "…" : text;
}

/** A key as it is written in code: `["links", 1n]`. */
function keyText(parts: unknown[]): string {
  const part = (p: unknown) =>
    typeof p === "string"
      ? JSON.stringify(p)
      : typeof p === "bigint"
      ? `${p}n`
      : p instanceof Uint8Array
      ? `new Uint8Array([${p.join(", ")}])`
      : String(p);
  const text = `[${parts.map(part).join(", ")}]`;
  return text.length > PREVIEW ? text.slice(0, PREVIEW - 1) + "…" : text;
}

type Deserialize = (buffer: Uint8Array) => unknown;

function preview(value: Uint8Array, encoding: number, deserialize: Deserialize): string {
  if (encoding === KV_ENCODING.bytes) return show(value);
  if (encoding === KV_ENCODING.u64) {
    const n = new DataView(value.buffer, value.byteOffset, 8).getBigUint64(0, true);
    return `Deno.KvU64(${n})`;
  }
  try {
    return show(deserialize(value));
  } catch {
    return "(a value this node cannot read)";
  }
}

/** A page of app `appId`'s live entries after `cursor` (base64url of the last key). */
export async function denoKvPage(
  storage: Storage,
  appId: number,
  opts: { cursor?: string; limit?: number },
): Promise<{ items: DenoKvItem[]; cursor: string | null }> {
  // node:v8 is loaded here, not with the node: it costs start-up time.
  const { deserialize } = await import("node:v8");
  const limit = opts.limit ?? 100;
  let after: Uint8Array | undefined;
  if (opts.cursor) {
    try {
      after = Uint8Array.fromBase64(opts.cursor, { alphabet: "base64url" });
    } catch {
      after = undefined;
    }
    if (!after?.length) {
      throw new StorageError("VALIDATION_FAILED", "cursor is not one this list gave", "cursor");
    }
  }
  const rows = storage.denoKv.page(appId, after, limit + 1);
  const more = rows.length > limit;
  const items = rows.slice(0, limit).map((r) => {
    let key: string;
    try {
      key = keyText(decodeKey(r.key));
    } catch {
      key = show(r.key);
    }
    return {
      key,
      value: preview(r.value, r.encoding, deserialize),
      versionstamp: r.versionstamp,
      expires_at: r.expires_at,
    };
  });
  const last = rows[limit - 1];
  return {
    items,
    cursor: more && last ? last.key.toBase64({ alphabet: "base64url", omitPadding: true }) : null,
  };
}
