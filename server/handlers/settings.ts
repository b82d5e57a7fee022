/** The node's settings over HTTP (what `fazt server config` shows and changes). */
import { isSecretSetting, isSettingKey, SETTING_DEFS } from "../../storage/mod.ts";
import { readJsonObject } from "../json_body.ts";
import type { RouteContext } from "../context.ts";
import { HttpError } from "../http_error.ts";
import type * as Api from "../api_types.ts";
import { type Answer, json } from "../respond.ts";

/** Settings changed only on the node itself (`fazt server config`), never over HTTP. */
const LOCAL_ONLY = new Set([
  "upgrade_public_key",
  "release_public_key",
  "litestream_path",
  "acme_ca_file",
]);

/**
 * Every setting but the credentials: the value this run uses, its default,
 * its range, and whether it is stored. (Credentials are never answered:
 * `GET /api/replication` says whether they are set.)
 */
function describe(c: RouteContext) {
  const stored = c.server.storage.settings.load();
  const running = c.server.settings as Record<string, string | number>;
  return Object.entries(SETTING_DEFS).filter(([key]) => !isSecretSetting(key)).map(([key, def]) => {
    const d = def as {
      kind: "string" | "int";
      default: string | number;
      min?: number;
      max?: number;
    };
    const storedValue = (stored as Record<string, string | number>)[key];
    const fromFlag = c.server.fromFlags?.has(key) ?? false;
    return {
      key,
      value: running[key],
      stored_value: storedValue,
      default: d.default,
      stored: storedValue !== d.default,
      from_flag: fromFlag,
      pending: !fromFlag && storedValue !== running[key],
      kind: d.kind,
      ...(d.kind === "int" ? { min: d.min, max: d.max } : {}),
    };
  });
}

/** `GET /api/settings` */
export function getSettings(c: RouteContext): Answer<Api.Setting[]> {
  return json(describe(c));
}

/**
 * `PUT /api/settings` with `{"key": value, …}`: checks every value, stores
 * them all or none. Settings are read at start-up, so they apply after a restart.
 */
export async function putSettings(c: RouteContext): Promise<Answer<Api.SettingsSaved>> {
  const body = await readJsonObject(c.req);
  const { settings, db } = c.server.storage;
  for (const key of Object.keys(body)) {
    if (!isSettingKey(key)) throw HttpError.validation(key, "known", `unknown setting '${key}'`);
    if (isSecretSetting(key)) {
      throw HttpError.validation(
        key,
        "credential",
        `${key} is a credential: set it with PUT /api/replication (or fazt replicate enable)`,
      );
    }
    if (LOCAL_ONLY.has(key)) {
      // A stolen admin token must not remove an upgrade key (then upgrade),
      // name a program for the node to run (litestream_path), nor make the
      // node read a file of its choosing (acme_ca_file).
      throw new HttpError(
        403,
        "LOCAL_ONLY",
        `${key} can be changed only on the node itself: fazt server config`,
      );
    }
  }
  db.transaction(() => {
    for (const [key, value] of Object.entries(body)) settings.set(key, value);
  });
  return json({ settings: describe(c), restart_required: true });
}
