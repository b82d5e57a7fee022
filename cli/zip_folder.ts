import { mapLimit } from "../lib/map_limit.ts";
import { writeZip, type ZipEntryInput } from "../lib/zip_writer.ts";
import { extensionOf } from "../lib/content_type.ts";

// Already-compressed formats are stored, not deflated again.
const STORED = new Set([
  "png",
  "jpg",
  "jpeg",
  "gif",
  "webp",
  "avif",
  "woff",
  "woff2",
  "zip",
  "gz",
  "br",
  "mp3",
  "mp4",
  "webm",
  "ogg",
  "pdf",
]);

/** Names left out of a deployed folder: dotfiles (but `.well-known`) and `node_modules`. */
export function isSkipped(name: string): boolean {
  return (name.startsWith(".") && name !== ".well-known") || name === "node_modules";
}

export interface ZippedFolder {
  zip: Uint8Array<ArrayBuffer>;
  files: number;
  skipped: string[];
}

async function* walk(root: string, rel = ""): AsyncGenerator<{ rel: string; skipped?: boolean }> {
  const entries: Deno.DirEntry[] = [];
  for await (const e of Deno.readDir(rel ? `${root}/${rel}` : root)) entries.push(e);
  entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const e of entries) {
    const path = rel ? `${rel}/${e.name}` : e.name;
    if (isSkipped(e.name) || e.isSymlink) yield { rel: path, skipped: true };
    else if (e.isDirectory) yield* walk(root, path);
    else if (e.isFile) yield { rel: path };
  }
}

/**
 * Zips a folder's contents (paths relative to it) in memory. `store` skips
 * compression, which only slows things down when the upload stays on this
 * machine.
 */
export async function zipFolder(
  root: string,
  opts: { store?: boolean } = {},
): Promise<ZippedFolder> {
  const entries: ZipEntryInput[] = [];
  const skipped: string[] = [];
  for await (const { rel, skipped: skip } of walk(root)) {
    if (skip) skipped.push(rel);
    else entries.push({ path: rel, data: new Uint8Array(), compress: false });
  }
  await mapLimit(entries, 16, async (e) => {
    e.data = await Deno.readFile(`${root}/${e.path}`);
    e.compress = !opts.store && !STORED.has(extensionOf(e.path));
  });
  return { zip: await writeZip(entries), files: entries.length, skipped };
}
