/**
 * What turning replication on or off changes in the settings, for the API
 * (`PUT`/`DELETE /api/replication`) and `fazt replicate --db` alike.
 * @module
 */
import { parseSetting, SettingError, type SettingKey } from "../storage/mod.ts";

/** A replica and, optionally, its credentials and timing. */
export interface ReplicationRequest {
  url: string;
  /** S3's access key id; `""` clears it, absent keeps the stored one. */
  accessKeyId?: string;
  /** The SFTP password or S3 secret key; `""` clears it, absent keeps it. */
  secret?: string;
  /** An SFTP private key file, or `none`. */
  keyPath?: string;
  syncInterval?: string;
  retention?: string;
  lagWarnS?: number;
}

/** The settings to store for `req`, each checked (a `SettingError` names the first bad one). */
export function enableChanges(
  req: ReplicationRequest,
): Partial<Record<SettingKey, string | number>> {
  if (typeof req.url !== "string" || req.url.trim() === "" || req.url.trim() === "none") {
    throw new SettingError("url", "required", "url must be the replica's URL");
  }
  const out: Partial<Record<SettingKey, string | number>> = {};
  const put = (key: SettingKey, field: string, value: unknown) => {
    if (value === undefined) return;
    try {
      out[key] = parseSetting(key, value);
    } catch (err) {
      // The request's own field names, not the settings'.
      if (err instanceof SettingError) {
        throw new SettingError(field, err.constraint, err.message.replace(key, field));
      }
      throw err;
    }
  };
  put("replica_url", "url", req.url);
  put("replica_access_key_id", "access_key_id", req.accessKeyId);
  put("replica_secret", "secret", req.secret);
  put("replica_key_path", "key_path", req.keyPath);
  put("replica_sync_interval", "sync_interval", req.syncInterval);
  put("replica_retention", "retention", req.retention);
  put("replica_lag_warn_s", "lag_warn_s", req.lagWarnS);
  return out;
}

/** Replication off, and its credentials forgotten. */
export function disableChanges(): Partial<Record<SettingKey, string>> {
  return { replica_url: "none", replica_access_key_id: "", replica_secret: "" };
}
