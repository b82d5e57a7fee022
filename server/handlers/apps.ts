import type { RouteContext } from "../context.ts";
import { appUrl } from "../hosts.ts";
import { HttpError } from "../http_error.ts";
import { readJsonObject } from "../json_body.ts";
import { findApp } from "../params.ts";
import { requestHost } from "../request_host.ts";
import type * as Api from "../api_types.ts";
import { type Answer, json } from "../respond.ts";
import { parseManifest } from "../../runtime/mod.ts";

function urlOf(c: RouteContext, name: string): string {
  return appUrl(name, c.url, requestHost(c.req), c.server.settings.domain);
}

/** `GET /api/apps` */
export function listApps(c: RouteContext): Answer<Api.AppSummary[]> {
  const errors = c.server.storage.logs.errorCounts(Date.now() - 3_600_000);
  const views = c.server.storage.analytics.viewsSince(Date.now() - 6 * 86_400_000);
  const apps = c.server.storage.apps.list().map((a) => ({
    name: a.name,
    live_version: a.live_version,
    files: a.file_count,
    bytes: a.bytes,
    versions: a.version_count,
    last_deploy_at: a.last_deploy_at,
    created_at: a.created_at,
    updated_at: a.updated_at,
    url: urlOf(c, a.name),
    server_code: a.live_version !== null &&
      c.server.storage.apps.serverInfo(a.id, a.live_version).hasBuild,
    errors_last_hour: errors.get(a.id) ?? 0,
    drafts: a.draft_count,
    views_7d: views.get(a.name) ?? 0,
  }));
  return json(apps);
}

/** The live version's server code and manifest, in the API's snake_case. */
function serverOf(c: RouteContext, appId: number, version: number | null) {
  if (version === null) return { code: false, manifest: null };
  const info = c.server.storage.apps.serverInfo(appId, version);
  let manifest = null;
  if (info.manifest !== undefined) {
    try {
      const m = parseManifest(info.manifest);
      manifest = {
        net: m.net,
        routes: m.routes,
        static_first: m.staticFirst,
        timeout_ms: m.timeoutMs ?? null,
        memory_mb: m.memoryMb ?? null,
        indexes: m.indexes,
        spa: m.spa,
      };
    } catch {
      // A manifest stored by an older version that no longer parses: shown as absent.
    }
  }
  return { code: info.hasBuild, manifest };
}

function versionState(live: boolean, liveFrom: number | null): Api.VersionState {
  if (live) return "live";
  return liveFrom === null ? "draft" : "previous";
}

/** `GET /api/apps/{name}` */
export function getApp(c: RouteContext): Answer<Api.AppDetail> {
  const app = findApp(c);
  const versions = c.server.storage.apps.versions(app.id).map((v) => ({
    number: v.number,
    files: v.file_count,
    bytes: v.bytes,
    deployed_by: v.deployed_by,
    created_at: v.created_at,
    live: v.number === app.live_version,
    state: versionState(v.number === app.live_version, v.live_from),
    live_from: v.live_from,
    live_until: v.number === app.live_version ? null : v.live_until,
  }));
  return json({
    name: app.name,
    live_version: app.live_version,
    created_at: app.created_at,
    updated_at: app.updated_at,
    url: urlOf(c, app.name),
    versions,
    server: serverOf(c, app.id, app.live_version),
    usage: c.server.storage.usage.of(app.id),
    limits: c.server.runtime.quotas.limits(app.id),
  });
}

/** `DELETE /api/apps/{name}` */
export function deleteApp(c: RouteContext): Answer<Api.AppDeleted> {
  const app = findApp(c);
  c.server.storage.apps.delete(app.name);
  // A later app may get the same id: it must not inherit these limits.
  c.server.runtime.quotas.changed(app.id);
  c.server.sites.changed(app.name);
  // Its custom domains went with it.
  c.server.domains.changed();
  return json({ app: app.name, deleted: true });
}

/** `POST /api/apps/{name}/rollback` with `{"version": N}`; default: the one before the live one. */
export async function rollbackApp(c: RouteContext): Promise<Answer<Api.LiveChanged>> {
  const body = await readJsonObject(c.req);
  const app = findApp(c);
  const { apps } = c.server.storage;
  let target: number;
  if (body.version === undefined || body.version === null) {
    const older = apps.versions(app.id).find((v) =>
      app.live_version === null || v.number < app.live_version
    );
    if (!older) {
      throw new HttpError(409, "NO_EARLIER_VERSION", `App '${app.name}' has no earlier version`);
    }
    target = older.number;
  } else {
    if (!Number.isInteger(body.version) || (body.version as number) < 1) {
      throw HttpError.validation(
        "version",
        "positive_integer",
        "version must be a positive whole number",
      );
    }
    target = body.version as number;
    if (!apps.version(app.id, target)) {
      throw new HttpError(404, "VERSION_NOT_FOUND", `App '${app.name}' has no version ${target}`);
    }
  }
  const previous = app.live_version;
  apps.setLive(app.id, target);
  c.server.sites.changed(app.name);
  return json({ app: app.name, live_version: target, previous_version: previous });
}

/**
 * `POST /api/apps/{name}/promote` with `{"version": N}`: makes a version
 * (typically a draft from `POST /api/deploy?draft=1`) live. Promoting the
 * live version again changes nothing.
 */
export async function promoteApp(c: RouteContext): Promise<Answer<Api.Promoted>> {
  const body = await readJsonObject(c.req);
  const app = findApp(c);
  const version = body.version;
  if (typeof version !== "number" || !Number.isInteger(version) || version < 1) {
    throw HttpError.validation(
      "version",
      "positive_integer",
      "version is required: a positive whole number",
    );
  }
  const { apps } = c.server.storage;
  if (!apps.version(app.id, version)) {
    throw new HttpError(404, "VERSION_NOT_FOUND", `App '${app.name}' has no version ${version}`);
  }
  const previous = app.live_version;
  if (previous !== version) {
    apps.setLive(app.id, version);
    c.server.sites.changed(app.name);
  }
  return json({
    app: app.name,
    live_version: version,
    previous_version: previous,
    url: urlOf(c, app.name),
  });
}
