/**
 * The app's `ctx`, which is also the global `fazt`: storage, env, log, who
 * the app is, and the original's synchronous `fazt.storage`.
 * @module
 */
import type { AppContext, Blobs, Docs, Env, Kv, Log } from "../app_types.ts";
import type { LegacyStorage } from "./legacy_storage.ts";
import type { InitMeta } from "../protocol.ts";

export type Fazt = AppContext & { storage: LegacyStorage };

/** Secrets as `env.NAME`, `env.get(name, fallback)` and `env.has(name)`. */
function envApi(values: Record<string, string>): Env {
  const env = Object.freeze({ ...values });
  return Object.freeze(Object.assign(Object.create(null), env, {
    get: (k: string, fallback?: string) => (k in env ? env[k] : fallback),
    has: (k: string) => k in env,
  }));
}

export interface ContextParts {
  kv: Kv;
  docs: Docs;
  blobs: Blobs;
  log: Log;
  storage: LegacyStorage;
}

/** A frozen `ctx` for the app `init` starts. */
export function createContext(init: InitMeta, parts: ContextParts): Fazt {
  return Object.freeze({
    kv: parts.kv,
    docs: parts.docs,
    blobs: parts.blobs,
    env: envApi(init.env),
    log: parts.log,
    app: Object.freeze({ id: init.app.name, name: init.app.name }),
    storage: parts.storage,
    version: init.version,
  });
}
