/** The database as a download: `GET /api/backup`. */
import { BackupError } from "../../storage/mod.ts";
import type { DownloadSnapshot } from "../backup_scheduler.ts";
import type { RouteContext } from "../context.ts";
import { HttpError } from "../http_error.ts";

/** Read from disk in pieces this size: memory stays bounded whatever the database's size. */
const CHUNK_BYTES = 256 * 1024;

function headers(name: string): Record<string, string> {
  return {
    "content-type": "application/vnd.sqlite3",
    "content-disposition": `attachment; filename="${name}"`,
    "cache-control": "no-store",
    "x-content-type-options": "nosniff",
  };
}

/**
 * `GET /api/backup`: a consistent snapshot taken now, checked with
 * `PRAGMA integrity_check`, streamed from a file that is deleted once the
 * download ends or is abandoned. `HEAD` answers without making one.
 */
export async function downloadBackup(c: RouteContext): Promise<Response> {
  const backups = c.server.backups;
  if (!backups) {
    throw new HttpError(
      503,
      "BACKUP_UNAVAILABLE",
      "This node keeps its database in memory: there is no file to back up",
    );
  }
  if (c.req.method === "HEAD") return new Response(null, { headers: headers("fazt.db") });
  let snap: DownloadSnapshot;
  try {
    snap = await backups.snapshotForDownload();
  } catch (err) {
    if (!(err instanceof BackupError)) throw err;
    c.server.log(`backup: download failed: ${err.message}`);
    throw new HttpError(500, "BACKUP_FAILED", err.message);
  }
  return new Response(streamOf(snap), {
    headers: { ...headers(snap.name), "content-length": String(snap.bytes) },
  });
}

function streamOf(snap: DownloadSnapshot): ReadableStream<Uint8Array> {
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      try {
        const chunk = new Uint8Array(CHUNK_BYTES);
        const n = await snap.file.read(chunk);
        if (n === null) {
          snap.discard();
          controller.close();
        } else {
          controller.enqueue(chunk.subarray(0, n));
        }
      } catch (err) {
        snap.discard();
        controller.error(err);
      }
    },
    cancel() {
      snap.discard();
    },
  });
}
