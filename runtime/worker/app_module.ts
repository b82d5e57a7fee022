/**
 * Loading an app's bundled module (style "module"): its default export is
 * the handler.
 * @module
 */
import type { Fazt } from "./context.ts";

/** The app's handler as the bootstrap calls it; what it returns is checked per request. */
export type AppFetch = (req: Request, ctx: Fazt) => unknown;

/** The default export's `scheduled(event, ctx)`, the shape Cloudflare Workers use. */
export type AppScheduled = (event: ScheduledEvent, ctx: Fazt) => unknown;

/** What `scheduled` is given about the run. */
export interface ScheduledEvent {
  type: "scheduled";
  /** The job's name in the manifest. */
  name: string;
  /** Its schedule. */
  cron: string;
  /** When the run was due (ms since the epoch). */
  scheduledTime: number;
}

/** The app's entry points; either may be missing when the other is there. */
export interface AppModule {
  fetch?: AppFetch;
  scheduled?: AppScheduled;
}

type DefaultExport =
  | ((req: Request, ctx: Fazt) => unknown)
  | { fetch?: unknown; scheduled?: unknown }
  | null;

/**
 * Marks the app's frames in stack traces (`blob:…#fazt-app:12:5`), which the
 * server maps through the build's source map; `APP_MODULE_FRAGMENT` in
 * runtime/source_map.ts (a test keeps them equal).
 */
export const APP_MODULE_FRAGMENT = "#fazt-app";

/**
 * Imports the app's code. Its handler is the one it gave `Deno.serve`
 * while it loaded (`served`), else its default export's. `jobsOnly` says
 * whether the code registered jobs with `Deno.cron`: such an app (a Deno
 * Deploy cron script) may have no handler at all.
 */
export async function loadModule(
  code: string,
  hooks: {
    served?: () => ((req: Request) => unknown) | null;
    jobsOnly?: () => boolean;
  } = {},
): Promise<AppModule> {
  // The Worker may read no files and import nothing remote: a blob: URL.
  const url = URL.createObjectURL(new Blob([code], { type: "text/javascript" }));
  const mod: { default?: DefaultExport } = await import(url + APP_MODULE_FRAGMENT);
  URL.revokeObjectURL(url);
  const served = hooks.served?.() ?? null;
  const d = mod.default;
  if (typeof d === "function") return { fetch: served ? (req) => served(req) : d };
  const app = d as { fetch?: unknown; scheduled?: unknown } | null | undefined;
  const out: AppModule = {};
  if (served) out.fetch = (req) => served(req);
  else if (typeof app?.fetch === "function") {
    const fetch = app.fetch as AppFetch;
    out.fetch = (req, ctx) => fetch.call(app, req, ctx);
  }
  if (typeof app?.scheduled === "function") {
    const scheduled = app.scheduled as AppScheduled;
    out.scheduled = (event, ctx) => scheduled.call(app, event, ctx);
  }
  if (out.fetch || out.scheduled || hooks.jobsOnly?.()) return out;
  throw new Error(
    "the app's server code must call Deno.serve(handler) or export default a function " +
      "or an object with fetch(req, ctx) (or scheduled(event, ctx))",
  );
}
