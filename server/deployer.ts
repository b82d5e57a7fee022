import { isCompressible } from "../lib/content_type.ts";
import { sha256Hex } from "../lib/secrets.ts";
import type { NewFile } from "../storage/mod.ts";
import { readArchive } from "./archive.ts";
import type { Variants } from "./compress.ts";

// zlib's thread pool has four threads; more in flight only queues.
import type { ServerContext } from "./context.ts";
import { HttpError } from "./http_error.ts";
import {
  CompileError,
  CompilerUnavailableError,
  compileServerCode,
  type Manifest,
  MANIFEST_FILES,
  ManifestError,
  parseManifest,
} from "../runtime/mod.ts";
import type { Build } from "../storage/mod.ts";

/** Compiles server code; a compile error refuses the deploy with the compiler's words. */
async function compile(entries: { path: string; data: Uint8Array }[]): Promise<Build | undefined> {
  try {
    return await compileServerCode(entries);
  } catch (err) {
    if (err instanceof CompilerUnavailableError) {
      throw new HttpError(
        503,
        "COMPILER_UNAVAILABLE",
        "This node cannot compile server code: its esbuild executable is missing " +
          "(a release archive has it beside fazt.js)",
      );
    }
    if (!(err instanceof CompileError)) throw err;
    if (err.unresolved.length) {
      // JSON quoting: a specifier is the app's text, shown escaped.
      const names = err.unresolved.slice(0, 10).map((s) => JSON.stringify(s.slice(0, 200)))
        .join(", ");
      throw new HttpError(
        400,
        "UNRESOLVED_IMPORT",
        `The server code imports ${names}, which the node cannot resolve: it never downloads ` +
          "packages. Deploy the folder with `fazt deploy`, which bundles dependencies.",
        {
          details: {
            field: "file",
            constraint: "imports",
            imports: err.unresolved.slice(0, 100),
            errors: err.errors,
          },
        },
      );
    }
    throw new HttpError(
      400,
      "VALIDATION_FAILED",
      `The server code does not compile: ${err.message}`,
      { details: { field: "file", constraint: "compile", errors: err.errors } },
    );
  }
}

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
  const manifestFile = entries.find((e) => MANIFEST_FILES.includes(e.path));
  const manifestText = manifestFile && new TextDecoder().decode(manifestFile.data);
  let manifest: Manifest;
  try {
    manifest = parseManifest(manifestText);
  } catch (err) {
    if (err instanceof ManifestError) {
      throw HttpError.validation(
        "manifest",
        err.constraint,
        `${manifestFile!.path}: ${err.message}`,
      );
    }
    throw err;
  }
  const build = await compile(entries);
  const hashed = entries.map((e) => ({ path: e.path, data: e.data, hash: sha256Hex(e.data) }));
  const stored = server.storage.apps.storedHashes([...new Set(hashed.map((f) => f.hash))]);
  // Only content not stored yet is compressed, each distinct content once.
  const toCompress = new Map<string, Uint8Array>();
  for (const f of hashed) {
    if (!stored.has(f.hash) && isCompressible(f.path)) toCompress.set(f.hash, f.data);
  }
  const variants = new Map<string, Variants>();
  await Promise.all(
    [...toCompress].map(async ([hash, data]) => {
      // Variants only save bytes on the wire: without them the file is still served.
      const made = await server.compressor.compress(data).catch((err) => {
        server.log(`deploy: serving a file uncompressed (${err.message})`);
        return {};
      });
      variants.set(hash, made);
    }),
  );
  const files: NewFile[] = hashed.map((f) => ({ ...f, ...variants.get(f.hash) }));
  const { app, version } = server.storage.apps.createVersion(name, files, {
    deployedBy: opts.deployedBy,
    keep: s.max_versions,
    draft: opts.draft,
    build,
    manifest: manifestText,
  });
  if (Object.keys(manifest.indexes).length) {
    server.storage.docs.ensureIndexes(app.id, manifest.indexes);
  }
  if (!opts.draft) server.runtime.stopApp(app.id);
  server.sites.refresh(name);
  return {
    app: name,
    version: version.number,
    files: version.file_count,
    bytes: version.bytes,
    live: !opts.draft,
  };
}
