/**
 * Loading an app's bundled module (style "module"): its default export is
 * the handler.
 * @module
 */
import type { Fazt } from "./context.ts";

/** The app's handler as the bootstrap calls it; what it returns is checked per request. */
export type AppFetch = (req: Request, ctx: Fazt) => unknown;

type DefaultExport = ((req: Request, ctx: Fazt) => unknown) | { fetch?: unknown } | null;

/**
 * Marks the app's frames in stack traces (`blob:…#fazt-app:12:5`), which the
 * server maps through the build's source map; `APP_MODULE_FRAGMENT` in
 * runtime/source_map.ts (a test keeps them equal).
 */
export const APP_MODULE_FRAGMENT = "#fazt-app";

/**
 * Imports the app's module; its handler is the one it gave `Deno.serve`
 * while it loaded (`registered`), else its default export.
 */
export async function loadModule(
  code: string,
  registered: () => ((req: Request) => unknown) | null = () => null,
): Promise<AppFetch> {
  // The Worker may read no files and import nothing remote: a blob: URL.
  const url = URL.createObjectURL(new Blob([code], { type: "text/javascript" }));
  const mod: { default?: DefaultExport } = await import(url + APP_MODULE_FRAGMENT);
  URL.revokeObjectURL(url);
  const served = registered();
  if (served) return (req) => served(req);
  const d = mod.default;
  if (typeof d === "function") return d;
  if (d && typeof d.fetch === "function") {
    const app = d as { fetch: AppFetch };
    return (req, ctx) => app.fetch(req, ctx);
  }
  throw new Error(
    "the app's server code must call Deno.serve(handler) or export default a function " +
      "or an object with fetch(req, ctx)",
  );
}
