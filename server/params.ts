/** What handlers read from a route's path and query, checked the same way everywhere. */
import { APP_NAME_PATTERN } from "../lib/app_name.ts";
import type { AppRecord } from "../storage/mod.ts";
import type { RouteContext } from "./context.ts";
import { HttpError } from "./http_error.ts";

/**
 * The app the route's `:name` names; 404 `APP_NOT_FOUND` when there is none.
 * The message repeats the name only when it could be an app name: anything
 * else (escape sequences, say) is not shown back to a terminal.
 */
export function findApp(c: RouteContext): AppRecord {
  const name = c.params.name;
  const app = c.server.storage.apps.get(name);
  if (!app) {
    const message = APP_NAME_PATTERN.test(name) ? `App '${name}' not found` : "No app by that name";
    throw new HttpError(404, "APP_NOT_FOUND", message);
  }
  return app;
}

export interface IntParamOptions {
  /** Smallest accepted value; default 1. */
  min?: number;
  max?: number;
  /** The value when the parameter is absent. */
  default?: number;
  /** The refusal's message, when the range alone does not say what the number is. */
  message?: string;
}

/**
 * A whole-number parameter: from the path when the route captures `name`,
 * else from the query. Out of range or not a whole number is a 400
 * `VALIDATION_FAILED` naming the parameter.
 */
export function intParam(
  c: RouteContext,
  name: string,
  opts: IntParamOptions & { default: number },
): number;
export function intParam(
  c: RouteContext,
  name: string,
  opts?: IntParamOptions,
): number | undefined;
export function intParam(
  c: RouteContext,
  name: string,
  opts: IntParamOptions = {},
): number | undefined {
  const raw = Object.hasOwn(c.params, name) ? c.params[name] : c.url.searchParams.get(name);
  if (raw === null) return opts.default;
  const { min = 1, max } = opts;
  const n = Number(raw);
  if (Number.isInteger(n) && n >= min && (max === undefined || n <= max)) return n;
  if (max !== undefined) {
    throw HttpError.validation(
      name,
      "range",
      opts.message ?? `${name} must be a whole number from ${min} to ${max}`,
    );
  }
  if (min === 1) {
    throw HttpError.validation(
      name,
      "positive_integer",
      opts.message ?? `${name} must be a positive whole number`,
    );
  }
  throw HttpError.validation(
    name,
    "range",
    opts.message ?? `${name} must be a whole number of at least ${min}`,
  );
}
