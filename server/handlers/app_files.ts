import { contentTypeFor } from "../../lib/content_type.ts";
import type { RouteContext } from "../context.ts";
import { HttpError } from "../http_error.ts";
import { findApp, intParam } from "../params.ts";
import type * as Api from "../api_types.ts";
import { type Answer, json } from "../respond.ts";

/** The app and the version a file request reads: `?version=N`, else the live one, else the newest. */
function target(c: RouteContext): { appId: number; name: string; version: number } {
  const { apps } = c.server.storage;
  const app = findApp(c);
  const n = intParam(c, "version");
  if (n !== undefined) {
    if (!apps.version(app.id, n)) {
      throw new HttpError(404, "VERSION_NOT_FOUND", `App '${app.name}' has no version ${n}`);
    }
    return { appId: app.id, name: app.name, version: n };
  }
  const version = app.live_version ?? apps.versions(app.id)[0]?.number;
  if (version === undefined) {
    throw new HttpError(404, "VERSION_NOT_FOUND", `App '${app.name}' has no versions`);
  }
  return { appId: app.id, name: app.name, version };
}

/** `GET /api/apps/{name}/files?version=N`: the paths, sizes and hashes of one version. */
export function listFiles(c: RouteContext): Answer<Api.FileList> {
  const t = target(c);
  const files = c.server.storage.apps.files(t.appId, t.version).map((f) => ({
    path: f.path,
    size: f.size,
    hash: f.hash,
    content_type: contentTypeFor(f.path),
  }));
  return json({ app: t.name, version: t.version, files });
}

const utf8 = new TextDecoder("utf-8", { fatal: true });

/**
 * `GET /api/apps/{name}/files/{path}?version=N`: one file, in the envelope:
 * UTF-8 text as is (`encoding: "utf-8"`), anything else as base64.
 */
export function getFile(c: RouteContext): Answer<Api.FileContent> {
  const t = target(c);
  const { apps } = c.server.storage;
  const path = c.params.path;
  const meta = apps.files(t.appId, t.version).find((f) => f.path === path);
  if (!meta) {
    throw new HttpError(
      404,
      "FILE_NOT_FOUND",
      `App '${t.name}' v${t.version} has no file '${path}'`,
    );
  }
  const bytes = apps.content(meta.hash) ?? new Uint8Array();
  const type = contentTypeFor(path);
  let text: string | undefined;
  if (type.includes("charset=utf-8")) {
    try {
      text = utf8.decode(bytes);
    } catch {
      // Not valid UTF-8 after all: sent as base64.
    }
  }
  return json({
    app: t.name,
    version: t.version,
    path,
    size: meta.size,
    hash: meta.hash,
    content_type: type,
    encoding: text === undefined ? "base64" : "utf-8",
    content: text ?? bytes.toBase64(),
  });
}
