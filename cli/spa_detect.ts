/**
 * Whether a folder about to be deployed looks like a single-page app's build,
 * whose client routes (`/users/42`) have no file and 404 on reload unless
 * the SPA fallback is on. Only a hint: `fazt deploy` says so and how to turn
 * the fallback on; it never turns it on by itself.
 * @module
 */

/** What the folder holds, as far as the check needs. */
export interface BuildListing {
  /** Paths of the files to be deployed, relative to the folder. */
  files: readonly string[];
  /** Reads a deployed file's text (index.html). */
  read(path: string): Promise<string>;
  /** Whether a path exists in the folder even if it is not deployed (`.vite/manifest.json`). */
  exists(path: string): boolean;
}

const MODULE_SCRIPT = /<script\b[^>]*\btype\s*=\s*["']?module\b/i;

/** Why the listing looks like a single-page app, or `undefined`. */
export async function singlePageReason(build: BuildListing): Promise<string | undefined> {
  const files = new Set(build.files);
  if (files.has("200.html")) return undefined; // the fallback is already there
  if (files.has("__spa-fallback.html")) {
    return "react-router's __spa-fallback.html is in the build";
  }
  if (!files.has("index.html")) return undefined;
  const pages = build.files.filter((f) => /\.html?$/i.test(f) && f !== "404.html");
  if (pages.length !== 1) return undefined;
  if (build.exists(".vite/manifest.json")) {
    return "it is a Vite build (.vite/manifest.json) with one page";
  }
  const html = await build.read("index.html");
  if (MODULE_SCRIPT.test(html)) return "index.html loads a module script and is the only page";
  return undefined;
}
