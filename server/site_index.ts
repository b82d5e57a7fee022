import { contentTypeFor } from "../lib/content_type.ts";
import { isFingerprinted } from "./fingerprint.ts";
import type { Manifest } from "../runtime/mod.ts";
import type { Encoding, FileMeta } from "../storage/mod.ts";

/** A file of a live version with everything its responses need, computed once. */
export class SiteFile {
  readonly type: string;
  readonly isHtml: boolean;
  readonly cacheControl: string;
  readonly etags: Record<Encoding, string>;
  /** Body cache keys: the content hash and the encoding. */
  readonly cacheKeys: Record<Encoding, string>;
  #headers = new Map<Encoding, [string, string][]>();

  constructor(readonly meta: FileMeta, readonly lastModified: string) {
    this.type = contentTypeFor(meta.path);
    this.isHtml = this.type.startsWith("text/html");
    this.cacheControl = cacheControlFor(meta.path);
    // Each representation gets its own strong validator, as RFC 9110 requires.
    const tag = meta.hash.slice(0, 32);
    this.etags = { identity: `"${tag}"`, gzip: `"${tag}-gz"`, br: `"${tag}-br"` };
    const h = meta.hash;
    this.cacheKeys = { identity: `${h}:identity`, gzip: `${h}:gzip`, br: `${h}:br` };
  }

  get compressed(): boolean {
    return this.meta.gzip_size != null || this.meta.br_size != null;
  }

  sizeOf(encoding: Encoding): number {
    if (encoding === "gzip") return this.meta.gzip_size!;
    if (encoding === "br") return this.meta.br_size!;
    return this.meta.size;
  }

  /** The headers shared by 200, 304 and HEAD answers for one encoding. */
  headers(encoding: Encoding): [string, string][] {
    let h = this.#headers.get(encoding);
    if (!h) {
      h = [
        ["content-type", this.type],
        ["etag", this.etags[encoding]],
        ["last-modified", this.lastModified],
        ["cache-control", this.cacheControl],
        ["accept-ranges", "bytes"],
        ["x-content-type-options", "nosniff"],
      ];
      if (this.compressed) h.push(["vary", "Accept-Encoding"]);
      if (encoding !== "identity") h.push(["content-encoding", encoding]);
      this.#headers.set(encoding, h);
    }
    return h;
  }
}

function cacheControlFor(path: string): string {
  // A name carrying a content hash never changes meaning, so it may be cached
  // for good; anything else is revalidated (cheaply, by ETag) so a deploy shows at once.
  // (HTML never is: isFingerprinted knows only the kinds of files builds hash.)
  if (isFingerprinted(path)) return "public, max-age=31536000, immutable";
  return "public, no-cache";
}

/** The files of one version of one app, by path, and what its server code handles. */
export class SiteIndex {
  readonly files: Map<string, SiteFile> = new Map();
  readonly lastModified: string;

  constructor(
    readonly appId: number,
    readonly version: number,
    createdAt: number,
    metas: FileMeta[],
    /** Present when the version has server code. */
    readonly server?: { manifest: Manifest },
    /** The manifest's `"spa": true`: routes with no file answer `index.html`. */
    readonly spa = false,
  ) {
    this.lastModified = new Date(createdAt).toUTCString();
    for (const m of metas) this.files.set(m.path, new SiteFile(m, this.lastModified));
  }
}
