/**
 * Replication over HTTP: its status, turning it on or changing the replica
 * (applied at once: Litestream restarts on the new settings), turning it
 * off. Credentials go in, never out.
 */
import { findLitestream, LitestreamNotFound } from "../../lib/litestream_binary.ts";
import { replicaUrlProblem } from "../../lib/replica_url.ts";
import type { SettingKey } from "../../storage/mod.ts";
import type { RouteContext } from "../context.ts";
import { HttpError } from "../http_error.ts";
import { readJsonObject } from "../json_body.ts";
import { disableChanges, enableChanges } from "../replication_settings.ts";
import type { Replicator } from "../replicator.ts";
import type * as Api from "../api_types.ts";
import { type Answer, json } from "../respond.ts";

function replicatorOf(c: RouteContext): Replicator {
  const r = c.server.replication;
  if (!r) {
    throw new HttpError(
      409,
      "REPLICATION_UNAVAILABLE",
      c.server.standby
        ? "This node is a standby: it restores from a replica. Promote it to replicate"
        : "This node keeps its database in memory: there is no file to replicate",
    );
  }
  return r;
}

/** `GET /api/replication` */
export function getReplication(c: RouteContext): Answer<Api.ReplicationStatus> {
  return json(replicatorOf(c).status());
}

const FIELDS = new Set([
  "url",
  "access_key_id",
  "secret",
  "key_path",
  "sync_interval",
  "retention",
  "lag_warn_s",
]);

function optionalString(body: Record<string, unknown>, key: string): string | undefined {
  const v = body[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== "string") throw HttpError.validation(key, "type", `${key} must be a string`);
  return v;
}

/**
 * `PUT /api/replication` with `{"url", "access_key_id"?, "secret"?,
 * "key_path"?, "sync_interval"?, "retention"?, "lag_warn_s"?}`: stores the
 * replica (credentials left out keep their stored values; `""` clears one)
 * and restarts Litestream on it now.
 */
export async function putReplication(c: RouteContext): Promise<Answer<Api.ReplicationStatus>> {
  const replicator = replicatorOf(c);
  const body = await readJsonObject(c.req);
  for (const key of Object.keys(body)) {
    if (!FIELDS.has(key)) {
      throw HttpError.validation(key, "known", `unknown field '${key.slice(0, 60)}'`);
    }
  }
  const url = optionalString(body, "url");
  if (url === undefined) throw HttpError.validation("url", "required", "url is required");
  const lag = body.lag_warn_s;
  if (lag !== undefined && typeof lag !== "number") {
    throw HttpError.validation("lag_warn_s", "type", "lag_warn_s must be a number");
  }
  const changes = enableChanges({
    url,
    accessKeyId: optionalString(body, "access_key_id"),
    secret: optionalString(body, "secret"),
    keyPath: optionalString(body, "key_path"),
    syncInterval: optionalString(body, "sync_interval"),
    retention: optionalString(body, "retention"),
    lagWarnS: lag,
  });
  try {
    findLitestream(c.server.settings.litestream_path);
  } catch (err) {
    if (!(err instanceof LitestreamNotFound)) throw err;
    throw new HttpError(409, "LITESTREAM_NOT_FOUND", err.message);
  }
  return json(await apply(c, replicator, changes));
}

/** `DELETE /api/replication`: stops Litestream and forgets the replica's credentials. */
export async function deleteReplication(c: RouteContext): Promise<Answer<Api.ReplicationStatus>> {
  return json(await apply(c, replicatorOf(c), disableChanges()));
}

async function apply(
  c: RouteContext,
  replicator: Replicator,
  changes: Partial<Record<SettingKey, string | number>>,
): Promise<Api.ReplicationStatus> {
  const { settings, db } = c.server.storage;
  db.transaction(() => {
    for (const [key, value] of Object.entries(changes)) settings.set(key, value);
  });
  Object.assign(c.server.settings, changes);
  await replicator.reconfigure(c.server.settings);
  c.server.log(
    `replication: ${replicator.enabled ? `now to ${c.server.settings.replica_url}` : "off"}`,
  );
  return replicator.status();
}

/**
 * `POST /api/standby/promote` with `{"to"?, "access_key_id"?, "secret"?,
 * "key_path"?}` on a warm standby: 202, then it catches up with the replica
 * once more and restarts as a primary replicating to `to` (by default the
 * target `fazt standby --to` named, else the replica it followed).
 */
export async function promoteStandby(c: RouteContext): Promise<Answer<Api.PromoteStarted>> {
  const standby = c.server.standby;
  if (!standby) throw new HttpError(409, "NOT_STANDBY", "This node is not a standby");
  if (standby.promoting) {
    throw new HttpError(409, "PROMOTE_IN_PROGRESS", "This standby is already being promoted");
  }
  const body = await readJsonObject(c.req);
  for (const key of Object.keys(body)) {
    if (!["to", "access_key_id", "secret", "key_path"].includes(key)) {
      throw HttpError.validation(key, "known", `unknown field '${key.slice(0, 60)}'`);
    }
  }
  const to = optionalString(body, "to");
  if (to !== undefined) {
    const problem = replicaUrlProblem(to);
    if (problem) throw HttpError.validation("to", "format", problem);
  }
  const accessKeyId = optionalString(body, "access_key_id");
  const secret = optionalString(body, "secret");
  const keyPath = optionalString(body, "key_path");
  const given = accessKeyId !== undefined || secret !== undefined || keyPath !== undefined;
  const promotion = standby.promote({
    to: to?.trim(),
    credentials: given ? { accessKeyId, secret, keyPath } : undefined,
  });
  c.server.log(`standby: promotion to a primary replicating to ${promotion.to}`);
  return json({ promoting: true, to: promotion.to }, 202);
}
