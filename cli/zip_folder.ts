import { mapLimit } from "../lib/map_limit.ts";
import { writeZip, type ZipEntryInput } from "../lib/zip_writer.ts";
import { extensionOf } from "../lib/content_type.ts";
import type { IgnoreRules } from "./faztignore.ts";

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

/** The files of a folder that would be deployed, and what was left out. */
export interface FolderListing {
  /** Relative paths, sorted. */
  files: string[];
  /** Left out: dotfiles, node_modules, links, and what `rules` exclude. */
  skipped: string[];
}

/** Lists `root`'s files, leaving out what `isSkipped` and `rules` say (a left-out folder whole). */
export async function listFolder(root: string, rules?: IgnoreRules): Promise<FolderListing> {
  const files: string[] = [];
  const skipped: string[] = [];
  const walk = async (rel: string) => {
    const entries: Deno.DirEntry[] = [];
    for await (const e of Deno.readDir(rel ? `${root}/${rel}` : root)) entries.push(e);
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const e of entries) {
      const path = rel ? `${rel}/${e.name}` : e.name;
      if (isSkipped(e.name) || e.isSymlink || rules?.ignores(path, e.isDirectory)) {
        skipped.push(path);
      } else if (e.isDirectory) await walk(path);
      else if (e.isFile) files.push(path);
    }
  };
  await walk("");
  return { files, skipped };
}

/** A file to put in the archive: read from `source`, or given as `data`. */
export interface ArchiveEntry {
  path: string;
  source?: string;
  data?: Uint8Array;
}

/**
 * Zips entries in memory. `store` skips compression, which only slows things
 * down when the upload stays on this machine.
 */
export async function zipEntries(
  entries: ArchiveEntry[],
  opts: { store?: boolean } = {},
): Promise<Uint8Array<ArrayBuffer>> {
  const inputs: ZipEntryInput[] = entries.map((e) => ({
    path: e.path,
    data: e.data ?? new Uint8Array(),
    compress: false,
  }));
  await mapLimit(entries.map((_, i) => i), 16, async (i) => {
    const entry = entries[i];
    if (entry.data === undefined) inputs[i].data = await Deno.readFile(entry.source!);
    inputs[i].compress = !opts.store && !STORED.has(extensionOf(entry.path));
  });
  return await writeZip(inputs);
}

/** Zips a folder's contents (paths relative to it) in memory, as they are. */
export async function zipFolder(
  root: string,
  opts: { store?: boolean } = {},
): Promise<ZippedFolder> {
  const { files, skipped } = await listFolder(root);
  const zip = await zipEntries(files.map((path) => ({ path, source: `${root}/${path}` })), opts);
  return { zip, files: files.length, skipped };
}
