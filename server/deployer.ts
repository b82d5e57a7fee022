import { isCompressible } from "../lib/content_type.ts";
import { sha256Hex } from "../lib/secrets.ts";
import type { NewFile } from "../storage/mod.ts";
import { readArchive } from "./archive.ts";
import { precompress } from "./compress.ts";
import type { ServerContext } from "./context.ts";

export interface DeployOutcome {
  app: string;
  version: number;
  files: number;
  bytes: number;
  live: boolean;
}

/**
 * Unpacks and checks the whole archive, hashes every file, compresses only
 * content not stored yet, then writes the version in one transaction. A
 * refused archive throws before anything is written.
 */
export async function deployArchive(
  server: ServerContext,
  name: string,
  zip: Uint8Array,
  opts: { deployedBy?: string; draft?: boolean } = {},
): Promise<DeployOutcome> {
  const s = server.settings;
  const entries = await readArchive(zip, {
    maxFiles: s.max_files,
    maxUnpackedBytes: s.max_unpacked_bytes,
    maxRatio: s.max_zip_ratio,
  });
  const hashed = entries.map((e) => ({ path: e.path, data: e.data, hash: sha256Hex(e.data) }));
  const stored = server.storage.apps.storedHashes([...new Set(hashed.map((f) => f.hash))]);
  const variants = new Map<string, ReturnType<typeof precompress>>();
  const files: NewFile[] = hashed.map((f) => {
    if (!stored.has(f.hash) && isCompressible(f.path) && !variants.has(f.hash)) {
      variants.set(f.hash, precompress(f.data));
    }
    return { ...f, ...variants.get(f.hash) };
  });
  const { version } = server.storage.apps.createVersion(name, files, {
    deployedBy: opts.deployedBy,
    keep: s.max_versions,
    draft: opts.draft,
  });
  server.sites.refresh(name);
  return {
    app: name,
    version: version.number,
    files: version.file_count,
    bytes: version.bytes,
    live: !opts.draft,
  };
}
