/**
 * The owner's view of an app's own data (what its server code keeps through
 * `ctx.kv`, `ctx.docs` and `ctx.blobs`): list, read and delete entries,
 * and replace a key's value or a document (the owner fixing a record by
 * hand). Other writes stay with the app.
 */
import type { RouteContext } from "../context.ts";
import { HttpError } from "../http_error.ts";
import { findApp, intParam } from "../params.ts";
import type * as Api from "../api_types.ts";
import { type Answer, json } from "../respond.ts";
import { readJsonObject } from "../json_body.ts";
import { denoKvPage } from "../../runtime/mod.ts";

// Refusals of the stores (a bad cursor, filter or key) reach the client
// through toErrorResponse, in the store's own words.

const appId = (c: RouteContext): number => findApp(c).id;

function paging(c: RouteContext): { prefix?: string; limit?: number; cursor?: string } {
  const q = c.url.searchParams;
  const out: { prefix?: string; limit?: number; cursor?: string } = {};
  if (q.has("prefix")) out.prefix = q.get("prefix")!;
  if (q.has("cursor")) out.cursor = q.get("cursor")!;
  const limit = intParam(c, "limit", { max: 1000 });
  if (limit !== undefined) out.limit = limit;
  return out;
}

/** `GET /api/apps/{name}/kv?prefix=&limit=&cursor=`: live keys with their values. */
export function listKv(c: RouteContext): Answer<Api.Page<Api.KvEntry>> {
  const id = appId(c);
  return json(c.server.storage.kv.list(id, paging(c)));
}

/** `GET /api/apps/{name}/denokv?limit=&cursor=`: what the app keeps with `Deno.openKv()`. */
export async function listDenoKv(c: RouteContext): Promise<Answer<Api.Page<Api.DenoKvEntry>>> {
  const id = appId(c);
  const { cursor, limit } = paging(c);
  return json(await denoKvPage(c.server.storage, id, { cursor, limit }));
}

/** `DELETE /api/apps/{name}/kv/{key}` (the key may contain slashes). */
export function deleteKv(c: RouteContext): Answer<Api.KeyDeleted> {
  const id = appId(c);
  const key = c.params.key;
  if (!c.server.storage.kv.delete(id, key)) {
    throw new HttpError(404, "KEY_NOT_FOUND", `No key '${key}'`);
  }
  return json({ key, deleted: true });
}

/**
 * `PUT /api/apps/{name}/kv/{key}` with `{"value": …}`: a new value for a live
 * key (its expiry kept), through the write queue and the storage quota like
 * the app's own writes; a refusal leaves the stored value as it was.
 */
export async function replaceKv(c: RouteContext): Promise<Answer<Api.KvReplaced>> {
  const app = findApp(c);
  const key = c.params.key;
  const body = await readJsonObject(c.req, { emptyIsObject: false });
  if (!("value" in body)) {
    throw HttpError.validation("value", "required", 'the body must be {"value": …}');
  }
  const { storage, runtime } = c.server;
  const max = runtime.quotas.limits(app.id).max_storage_bytes;
  const write = () => storage.kv.replace(app.id, key, body.value);
  const found = await runtime.writes.run(app.id, () => storage.usage.guard(app.id, max, write));
  if (!found) throw new HttpError(404, "KEY_NOT_FOUND", `No key '${key}'`);
  return json({ key, value: storage.kv.get(app.id, key) });
}

/** `GET /api/apps/{name}/docs`: the app's collections and their sizes. */
export function listCollections(c: RouteContext): Answer<Api.Collection[]> {
  const id = appId(c);
  return json(c.server.storage.docs.collections(id));
}

/** `GET /api/apps/{name}/docs/{collection}?filter={json}&sort={json}&limit=&cursor=` */
export function findDocs(c: RouteContext): Answer<Api.Page<Api.Doc>> {
  const id = appId(c);
  const q = c.url.searchParams;
  const parse = (field: string): Record<string, unknown> | undefined => {
    const raw = q.get(field);
    if (raw === null || raw.trim() === "") return undefined;
    let value: unknown;
    try {
      value = JSON.parse(raw);
    } catch {
      throw HttpError.validation(field, "json", `${field} must be a JSON object`);
    }
    if (typeof value !== "object" || value === null || Array.isArray(value)) {
      throw HttpError.validation(field, "json", `${field} must be a JSON object`);
    }
    return value as Record<string, unknown>;
  };
  const filter = parse("filter") ?? {};
  const sort = parse("sort") as Record<string, 1 | -1> | undefined;
  const { limit, cursor } = paging(c);
  return json(
    c.server.storage.docs.find(id, c.params.collection, filter, { sort, limit, cursor }),
  );
}

/**
 * `PUT /api/apps/{name}/docs/{collection}/{id}`: the body (a JSON object)
 * replaces the document whole. It goes through the apps' write queue and
 * the app's storage quota like the app's own writes, so a refusal keeps
 * the stored document as it was.
 */
export async function replaceDoc(c: RouteContext): Promise<Answer<Api.DocReplaced>> {
  const app = findApp(c);
  const { collection, id: docId } = c.params;
  const doc = await readJsonObject(c.req, { emptyIsObject: false });
  const { storage, runtime } = c.server;
  const max = runtime.quotas.limits(app.id).max_storage_bytes;
  const write = () => storage.docs.replace(app.id, collection, docId, doc);
  const found = await runtime.writes.run(app.id, () => storage.usage.guard(app.id, max, write));
  if (!found) throw new HttpError(404, "DOC_NOT_FOUND", `No document '${docId}' in ${collection}`);
  return json({ collection, id: docId, doc: storage.docs.get(app.id, collection, docId)! });
}

/** `DELETE /api/apps/{name}/docs/{collection}/{id}` */
export function deleteDoc(c: RouteContext): Answer<Api.DocDeleted> {
  const id = appId(c);
  const { collection, id: docId } = c.params;
  const n = c.server.storage.docs.delete(id, collection, { id: docId });
  if (n === 0) throw new HttpError(404, "DOC_NOT_FOUND", `No document '${docId}' in ${collection}`);
  return json({ collection, id: docId, deleted: true });
}

/** `GET /api/apps/{name}/blobs?prefix=&limit=&cursor=`: metadata only. */
export function listBlobs(c: RouteContext): Answer<Api.Page<Api.BlobInfo>> {
  const id = appId(c);
  return json(c.server.storage.blobs.list(id, paging(c)));
}

/**
 * `GET /api/apps/{name}/blobs/{key}`: the bytes, as a download. They are the
 * app's users' data, so the browser must never run them on the admin host:
 * attachment, nosniff and a sandboxing CSP.
 */
export function getBlob(c: RouteContext): Response {
  const id = appId(c);
  const blob = c.server.storage.blobs.get(id, c.params.key);
  if (!blob) throw new HttpError(404, "BLOB_NOT_FOUND", `No blob '${c.params.key}'`);
  const file = (c.params.key.split("/").pop() || "blob").replace(/[^A-Za-z0-9._-]/g, "_");
  return new Response(c.req.method === "HEAD" ? null : blob.data as Uint8Array<ArrayBuffer>, {
    headers: {
      "content-type": "application/octet-stream",
      "content-disposition": `attachment; filename="${file}"`,
      "content-length": String(blob.size),
      "x-content-type-options": "nosniff",
      "content-security-policy": "sandbox; default-src 'none'",
      "cache-control": "no-store",
      "x-fazt-content-type": blob.content_type,
    },
  });
}

/** `DELETE /api/apps/{name}/blobs/{key}` */
export function deleteBlob(c: RouteContext): Answer<Api.KeyDeleted> {
  const id = appId(c);
  const key = c.params.key;
  if (!c.server.storage.blobs.delete(id, key)) {
    throw new HttpError(404, "BLOB_NOT_FOUND", `No blob '${key}'`);
  }
  return json({ key, deleted: true });
}
