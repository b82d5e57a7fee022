import { isCompressible } from "../lib/content_type.ts";
import { bytesSource, type ZipSource } from "../lib/zip_reader.ts";
import {
  type Build,
  CONTENT_CHUNK_BYTES,
  type Database,
  MissingContentError,
  StorageError,
} from "../storage/mod.ts";
import { type Archive, type ArchiveFile, openArchive } from "./archive.ts";
import type { Variants } from "./compress.ts";
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

/** What the compiler reads (see runtime/compiler.ts): kept in memory whatever their size. */
function isServerSource(path: string): boolean {
  return MANIFEST_FILES.includes(path) ||
    (path.startsWith("api/") && /\.(m?[jt]sx?|json)$/.test(path));
}

/** One deploy at a time per node: bounds deploy memory, and no two deploys share staged content. */
const queues = new WeakMap<ServerContext, Promise<unknown>>();
const swept = new WeakSet<ServerContext>();

function serialized<T>(server: ServerContext, work: () => Promise<T>): Promise<T> {
  const before = queues.get(server) ?? Promise.resolve();
  const mine = before.then(work, work);
  queues.set(server, mine.catch(() => {}));
  return mine;
}

/**
 * Checks a ZIP archive, then stores it as a new version of `name`. Every
 * check comes first: the archive (limits applied while parsing and
 * inflating, see `openArchive`), the manifest, the per-app index cap and the
 * server code's compile; a refused deploy writes nothing. New contents are
 * then written ahead of the version (each stored once, large ones as
 * chunks, never whole in memory), and the version, its files, its build and
 * its indexes in one transaction that makes it live last. If that fails,
 * the contents written for it are removed again.
 */
export function deployArchive(
  server: ServerContext,
  name: string,
  zip: Uint8Array | ZipSource,
  opts: { deployedBy?: string; draft?: boolean } = {},
): Promise<DeployOutcome> {
  const source = zip instanceof Uint8Array ? bytesSource(zip) : zip;
  return serialized(server, () => deploy(server, name, source, opts));
}

async function deploy(
  server: ServerContext,
  name: string,
  source: ZipSource,
  opts: { deployedBy?: string; draft?: boolean },
): Promise<DeployOutcome> {
  const s = server.settings;
  if (!swept.has(server)) {
    // What a deploy cut short by a crash left: contents no version uses.
    swept.add(server);
    const gone = server.storage.apps.dropOrphans();
    if (gone) server.log(`deploy: removed ${gone} file contents left by an unfinished deploy`);
  }
  const archive = await openArchive(source, {
    maxFiles: s.max_files,
    maxUnpackedBytes: s.max_unpacked_bytes,
    maxRatio: s.max_zip_ratio,
  }, { mustKeep: isServerSource });
  const { manifest, manifestText } = readManifest(archive.files);
  try {
    server.storage.docs.indexPaths(manifest.indexes, s.app_max_indexes);
  } catch (err) {
    throw indexRefusal(err);
  }
  const build = await compile(
    archive.files.filter((f) => f.data && isServerSource(f.path)).map((f) => ({
      path: f.path,
      data: f.data!,
    })),
  );
  const staged = new Set<string>();
  try {
    await stage(server, archive, archive.files, staged);
    for (let attempt = 0;; attempt++) {
      try {
        return commit(server, name, archive.files, { ...opts, build, manifest, manifestText });
      } catch (err) {
        // Content checked as stored went meanwhile (an app deleted): store it again.
        if (!(err instanceof MissingContentError) || attempt >= 2) throw err;
        const missing = new Set(err.hashes);
        await stage(server, archive, archive.files.filter((f) => missing.has(f.hash)), staged);
      }
    }
  } catch (err) {
    server.storage.apps.dropContents([...staged]);
    if (err instanceof StorageError && err.field === "indexes") throw indexRefusal(err);
    throw err;
  }
}

/**
 * Writes the version, its files, its build and its index fields in one
 * transaction (live last, unless a draft), then serves it.
 */
function commit(
  server: ServerContext,
  name: string,
  files: ArchiveFile[],
  opts: {
    deployedBy?: string;
    draft?: boolean;
    build?: Build;
    manifest: Manifest;
    manifestText?: string;
  },
): DeployOutcome {
  const s = server.settings;
  const { app, version } = server.storage.db.transaction(() => {
    const made = server.storage.apps.createVersion(
      name,
      files.map((f) => ({ path: f.path, hash: f.hash })),
      {
        deployedBy: opts.deployedBy,
        keep: s.max_versions,
        draft: opts.draft,
        build: opts.build,
        manifest: opts.manifestText,
      },
    );
    // What the app's other versions declared is forgotten, but for the live one's.
    const live = made.app.live_version ?? made.version.number;
    server.storage.docs.ensureIndexes(made.app.id, opts.manifest.indexes, {
      version: made.version.number,
      versions: [made.version.number, live],
      max: s.app_max_indexes,
    });
    server.storage.docs.dropUnusedIndexes();
    return made;
  });
  if (!opts.draft) server.runtime.stopApp(app.id);
  server.sites.changed(name);
  return {
    app: name,
    version: version.number,
    files: version.file_count,
    bytes: version.bytes,
    live: !opts.draft,
  };
}

function readManifest(files: ArchiveFile[]): { manifest: Manifest; manifestText?: string } {
  const file = files.find((e) => MANIFEST_FILES.includes(e.path));
  const manifestText = file?.data && new TextDecoder().decode(file.data);
  try {
    return { manifest: parseManifest(manifestText), manifestText };
  } catch (err) {
    if (err instanceof ManifestError && err.constraint === "crons") {
      throw new HttpError(400, "INVALID_CRON", `${file!.path}: ${err.message}`, {
        details: { field: "manifest", constraint: "crons" },
      });
    }
    if (err instanceof ManifestError) {
      throw HttpError.validation("manifest", err.constraint, `${file!.path}: ${err.message}`);
    }
    throw err;
  }
}

function indexRefusal(err: unknown): unknown {
  if (!(err instanceof StorageError)) return err;
  const constraint = err.code === "LIMIT_EXCEEDED" ? "max_indexes" : "indexes";
  return HttpError.validation("manifest", constraint, `indexes: ${err.message}`);
}

/**
 * Writes the contents of `files` not stored yet, each once: small ones
 * whole (with their br/gzip variants, made in worker threads, up to
 * `compress_max_bytes`), larger ones chunk by chunk as they are read again
 * from the archive. Records each hash written in `staged`.
 */
async function stage(
  server: ServerContext,
  archive: Archive,
  files: ArchiveFile[],
  staged: Set<string>,
): Promise<void> {
  const { apps } = server.storage;
  const stored = apps.storedHashes([...new Set(files.map((f) => f.hash))]);
  const todo = new Map<string, ArchiveFile>();
  for (const f of files) if (!stored.has(f.hash) && !todo.has(f.hash)) todo.set(f.hash, f);
  const maxCompress = server.settings.compress_max_bytes;
  const batch = new WriteBatch(server.storage.db);
  const pending = new Set<Promise<void>>();
  // Bytes read again only to be compressed, waiting for a worker: bounded.
  let waiting = 0;
  const WAITING_MAX = 16 * 1024 * 1024;
  let failure: unknown;
  try {
    for (const [hash, file] of todo) {
      if (failure) break;
      staged.add(hash);
      const compress = file.size <= maxCompress && isCompressible(file.path);
      if (!compress) {
        if (file.size <= CONTENT_CHUNK_BYTES) {
          const data = await whole(archive, file);
          batch.add(data.byteLength, () => apps.putContent(hash, data));
        } else {
          await writeChunks(server, archive, file, batch);
        }
        continue;
      }
      const data = await whole(archive, file);
      const held = file.data ? 0 : data.byteLength;
      waiting += held;
      const job: Promise<void> = server.compressor.compress(data)
        .catch((err): Variants => {
          // Variants only save bytes on the wire: without them the file is still served.
          server.log(`deploy: serving a file uncompressed (${err.message})`);
          return {};
        })
        .then((variants) => {
          const bytes = data.byteLength + (variants.gzip?.byteLength ?? 0) +
            (variants.br?.byteLength ?? 0);
          batch.add(bytes, () => {
            if (data.byteLength <= CONTENT_CHUNK_BYTES) apps.putContent(hash, data, variants);
            else putChunked(server, hash, data, variants);
          });
        })
        .catch((err) => {
          failure ??= err;
        })
        .finally(() => {
          waiting -= held;
          pending.delete(job);
        });
      pending.add(job);
      while (waiting > WAITING_MAX && pending.size) await Promise.race(pending);
    }
  } finally {
    // Nothing may still be writing once this returns or throws (the caller cleans up).
    await Promise.allSettled(pending);
  }
  if (failure) throw failure;
  batch.flush();
}

/**
 * Writes run in transactions of about 1 MiB: one commit per small file
 * costs a 1,000-file deploy a commit each, while larger transactions hold
 * this thread longer at each commit (SQLite checkpoints, with an fsync, when
 * its log passes 4 MiB: measured 70 ms per 4 MiB committed in 1 MiB steps,
 * 200-250 ms per 8 MiB in one).
 */
class WriteBatch {
  #ops: (() => void)[] = [];
  #bytes = 0;

  constructor(private db: Database, readonly maxBytes = 1024 * 1024) {}

  add(bytes: number, op: () => void): void {
    this.#ops.push(op);
    this.#bytes += bytes;
    if (this.#bytes >= this.maxBytes) this.flush();
  }

  flush(): void {
    if (this.#ops.length === 0) return;
    const ops = this.#ops;
    this.#ops = [];
    this.#bytes = 0;
    this.db.transaction(() => {
      for (const op of ops) op();
    });
  }
}

/** A file's bytes whole: kept from the check, or read again (only for files of bounded size). */
async function whole(archive: Archive, file: ArchiveFile): Promise<Uint8Array> {
  if (file.data) return file.data;
  const out = new Uint8Array(file.size);
  let at = 0;
  for await (const chunk of archive.read(file)) {
    out.set(chunk, at);
    at += chunk.byteLength;
  }
  return out;
}

/** Stores bytes already in memory as chunks, then seals them with their variants. */
function putChunked(
  server: ServerContext,
  hash: string,
  data: Uint8Array,
  variants: { gzip?: Uint8Array; br?: Uint8Array },
): void {
  const { apps } = server.storage;
  const chunks = Math.ceil(data.byteLength / CONTENT_CHUNK_BYTES);
  for (let seq = 0; seq < chunks; seq++) {
    const from = seq * CONTENT_CHUNK_BYTES;
    apps.putChunk(hash, seq, data.subarray(from, from + CONTENT_CHUNK_BYTES));
  }
  apps.sealChunked(hash, data.byteLength, chunks, variants);
}

/** Streams a large file from the archive into chunks, a few chunks in memory at a time. */
async function writeChunks(
  server: ServerContext,
  archive: Archive,
  file: ArchiveFile,
  batch: WriteBatch,
): Promise<void> {
  const { apps } = server.storage;
  let buf = new Uint8Array(CONTENT_CHUNK_BYTES);
  let fill = 0;
  let seq = 0;
  const put = (bytes: Uint8Array) => {
    const n = seq++;
    batch.add(bytes.byteLength, () => apps.putChunk(file.hash, n, bytes));
  };
  for await (const piece of archive.read(file)) {
    for (let at = 0; at < piece.byteLength;) {
      const n = Math.min(piece.byteLength - at, buf.byteLength - fill);
      buf.set(piece.subarray(at, at + n), fill);
      fill += n;
      at += n;
      if (fill === buf.byteLength) {
        put(buf);
        buf = new Uint8Array(CONTENT_CHUNK_BYTES);
        fill = 0;
      }
    }
  }
  if (fill > 0) put(buf.subarray(0, fill));
  batch.add(0, () => apps.sealChunked(file.hash, file.size, seq));
}
