/**
 * `Deno.env` in app code: the app's secrets (what `ctx.env` holds, set with
 * `fazt app env`), read the way Deno Deploy apps read their environment
 * variables. It behaves as Deno does under `--allow-env=<the secrets'
 * names>`: any other name and `toObject()` throw Deno's own `NotCapable`
 * ("Requires env access"), so the host's environment is never there, and
 * `set` and `delete` throw `NotCapable` too.
 * @module
 */

function notCapable(message: string): Error {
  const Capable = (Deno.errors as unknown as Record<string, ErrorConstructor>).NotCapable;
  return Capable ? new Capable(message) : new Error(message);
}

export const ENV_SECRETS_ONLY = "an app on fazt sees only its own secrets, set with `fazt app env`";

export const ENV_READ_ONLY =
  "apps on fazt cannot change their environment; the owner sets secrets with `fazt app env`";

/**
 * A `Deno.env` over `values`; any other name goes to `host`, the Worker's
 * own `Deno.env`, which refuses it (the Worker has no env permission) as
 * Deno's Node compatibility expects.
 */
export function appEnv(values: Record<string, string>, host: Deno.Env): Deno.Env {
  const env = Object.freeze({ ...values });
  const refuse = (what: string) => () => {
    throw notCapable(`Deno.env.${what}: ${ENV_READ_ONLY}`);
  };
  return Object.freeze({
    get: (key: string) => (Object.hasOwn(env, key) ? env[key] : host.get(key)),
    has: (key: string) => Object.hasOwn(env, key) || host.has(key),
    toObject: () => host.toObject(),
    set: refuse("set"),
    delete: refuse("delete"),
  }) as Deno.Env;
}

/** Gives app code its `Deno.env`. */
export function installEnv(values: Record<string, string>): void {
  Object.defineProperty(Deno, "env", {
    value: appEnv(values, Deno.env),
    writable: false,
    configurable: false,
  });
}
