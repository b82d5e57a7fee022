/** An app's quotas over HTTP: its limits (defaults and overrides) and what it uses. */
import { LIMIT_KEYS, limitSetting, SETTING_DEFS } from "../../storage/mod.ts";
import type { RouteContext } from "../context.ts";
import { readJsonObject } from "../json_body.ts";
import { findApp } from "../params.ts";
import type * as Api from "../api_types.ts";
import { type Answer, json } from "../respond.ts";

function describe(c: RouteContext, app: { id: number; name: string }): Api.AppLimits {
  const running = c.server.runtime.quotas.limits(app.id);
  const overrides = c.server.storage.limits.overrides(app.id);
  const settings = c.server.settings;
  const limits = {} as Api.AppLimits["limits"];
  for (const key of LIMIT_KEYS) {
    const def = SETTING_DEFS[limitSetting(key)] as { min: number; max: number };
    limits[key] = {
      value: running[key],
      default: settings[limitSetting(key)] as number,
      overridden: key in overrides,
      min: def.min,
      max: def.max,
    };
  }
  return { app: app.name, limits, usage: c.server.storage.usage.of(app.id) };
}

/** `GET /api/apps/{name}/limits` */
export function getLimits(c: RouteContext): Answer<Api.AppLimits> {
  return json(describe(c, findApp(c)));
}

/**
 * `PUT /api/apps/{name}/limits` with `{"max_rps": 50, "max_concurrent": null}`:
 * sets overrides (null: back to the node's default), all or none, in effect
 * for the next request and storage call.
 */
export async function putLimits(c: RouteContext): Promise<Answer<Api.AppLimits>> {
  const body = await readJsonObject(c.req);
  const app = findApp(c);
  c.server.storage.limits.set(app.id, body);
  c.server.runtime.quotas.changed(app.id);
  return json(describe(c, app));
}
