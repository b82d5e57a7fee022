/**
 * Backups while the node runs: on a schedule (`backup_interval`, kept to
 * `backup_keep` in `backup_dir`) and on request (`GET /api/backup`).
 *
 * One snapshot at a time: a download waits for a scheduled backup under way
 * and the other way round, and a scheduled backup still running when the
 * next is due is not doubled. A snapshot is a read transaction on its own
 * connection in a Worker (`snapshotDatabase`): the node's writers and the
 * serving thread carry on meanwhile, and no checkpoint is ever forced.
 * Every snapshot, handed out or kept, has replication off and no replica
 * credentials in it (`forgetReplica`): a backup file is no key to the replica.
 * @module
 */
import { formatDuration, parseDuration } from "../lib/duration.ts";
import {
  backupDirFor,
  BackupError,
  backupFileName,
  listBackups,
  pruneBackups,
  removeStalePartials,
  type Settings,
  snapshotDatabase,
  SnapshotFailed,
} from "../storage/mod.ts";
import type * as Api from "./api_types.ts";

export interface BackupSchedulerOptions {
  /** The database file. */
  dbPath: string;
  settings: Pick<Settings, "backup_interval" | "backup_keep" | "backup_dir">;
  log: (message: string) => void;
  /** The clock (tests). */
  now?: () => number;
}

/** A snapshot made for a download: stream it, then it is gone. */
export interface DownloadSnapshot {
  file: Deno.FsFile;
  bytes: number;
  /** The name to save it as. */
  name: string;
  /** Closes the file and deletes it (idempotent). */
  discard(): void;
}

/** A download's snapshot beside the database: `.fazt-download-<uuid>.partial`. */
const DOWNLOAD_PREFIX = ".fazt-download-";
const DOWNLOAD_FILE = /^\.fazt-download-[0-9a-f-]+\.partial$/;

/** The longest single timer: long intervals are reached in steps (and survive clock jumps). */
const MAX_TIMER_MS = 3_600_000;

export class BackupScheduler {
  readonly dir: string;
  readonly #dbPath: string;
  readonly #dbDir: string;
  readonly #intervalMs: number | undefined;
  readonly #keep: number;
  readonly #log: (message: string) => void;
  readonly #now: () => number;
  readonly #startedAt: number;
  readonly #closing = new AbortController();
  #last: Api.BackupRun | null = null;
  #lastOkAt: number | null = null;
  #dueAt: number | null = null;
  #timer?: ReturnType<typeof setTimeout>;
  /** The snapshot under way (they run one at a time). */
  #busy: Promise<unknown> = Promise.resolve();
  #running = 0;
  #scheduled?: Promise<void>;

  constructor(opts: BackupSchedulerOptions) {
    this.#dbPath = opts.dbPath;
    const slash = Math.max(opts.dbPath.lastIndexOf("/"), opts.dbPath.lastIndexOf("\\"));
    this.#dbDir = slash === -1 ? "." : opts.dbPath.slice(0, slash) || "/";
    this.dir = backupDirFor(opts.dbPath, opts.settings.backup_dir);
    this.#intervalMs = opts.settings.backup_interval === "off"
      ? undefined
      : parseDuration(opts.settings.backup_interval);
    this.#keep = opts.settings.backup_keep;
    this.#log = opts.log;
    this.#now = opts.now ?? Date.now;
    this.#startedAt = this.#now();
  }

  /**
   * Picks up where the folder says the last backup was and arms the timer:
   * the first is due one interval after the newest backup there (at once
   * when there is none).
   */
  start(): void {
    removeStalePartials(this.#dbDir, DOWNLOAD_FILE, this.#now());
    const newest = this.#newest();
    if (newest) {
      this.#last = newest;
      this.#lastOkAt = newest.at;
    }
    if (this.#intervalMs === undefined) return;
    this.#dueAt = newest ? newest.at + this.#intervalMs : this.#now();
    this.#arm();
  }

  /** What `/api/system` shows. */
  status(): Api.BackupStatus {
    return {
      interval: this.#intervalMs === undefined ? "off" : formatDuration(this.#intervalMs),
      keep: this.#keep,
      next_at: this.#dueAt,
      running: this.#running > 0,
      last: this.#last,
      last_ok_at: this.#lastOkAt,
      warning: this.#warning(),
    };
  }

  #warning(): string | null {
    if (this.#intervalMs === undefined) return null;
    if (this.#last && !this.#last.ok) {
      return `The last scheduled backup failed (${
        new Date(this.#last.at).toISOString()
      }): ${this.#last.error}`;
    }
    const since = this.#lastOkAt ?? this.#startedAt;
    if (this.#now() - since > 2 * this.#intervalMs) {
      return this.#lastOkAt === null
        ? `No backup has been made since the node started, though one is due every ${
          formatDuration(this.#intervalMs)
        }.`
        : `The last backup is older than twice the interval (${
          formatDuration(this.#intervalMs)
        }): ${new Date(this.#lastOkAt).toISOString()}.`;
    }
    return null;
  }

  #arm(): void {
    if (this.#dueAt === null || this.#closing.signal.aborted) return;
    clearTimeout(this.#timer);
    const wait = Math.min(Math.max(0, this.#dueAt - this.#now()), MAX_TIMER_MS);
    this.#timer = setTimeout(() => this.#tick(), wait);
  }

  #tick(): void {
    this.#timer = undefined;
    if (this.#dueAt === null || this.#closing.signal.aborted) return;
    if (this.#now() < this.#dueAt) return this.#arm();
    this.#scheduled = this.runScheduled().then(() => this.#arm());
  }

  /**
   * Makes a scheduled backup now: a snapshot into the folder, then the
   * oldest beyond `backup_keep` pruned. Records the result; never throws.
   */
  async runScheduled(): Promise<Api.BackupRun> {
    const at = this.#now();
    const name = backupFileName(new Date(at));
    let run: Api.BackupRun;
    try {
      const bytes = await this.#exclusive(async () => {
        Deno.mkdirSync(this.dir, { recursive: true, mode: 0o700 });
        const partial = `${this.dir}/${name}.partial`;
        const info = await snapshotDatabase(this.#dbPath, partial, {
          signal: this.#closing.signal,
        });
        Deno.renameSync(partial, `${this.dir}/${name}`);
        return info.bytes;
      });
      run = { at, file: name, size_bytes: bytes, ok: true, error: null };
      this.#lastOkAt = at;
      this.#log(`backup: ${name} (${bytes} bytes)`);
      this.#prune();
    } catch (err) {
      if (this.#closing.signal.aborted) {
        return { at, file: null, size_bytes: null, ok: false, error: "the node stopped" };
      }
      run = { at, file: null, size_bytes: null, ok: false, error: reason(err) };
      this.#log(`backup: failed: ${detail(err)}`);
    }
    this.#last = run;
    if (this.#intervalMs !== undefined) this.#dueAt = at + this.#intervalMs;
    return run;
  }

  #prune(): void {
    try {
      const gone = pruneBackups(this.dir, this.#keep, this.#now());
      if (gone.length) this.#log(`backup: removed ${gone.length} older (keeping ${this.#keep})`);
    } catch (err) {
      this.#log(`backup: could not remove older backups: ${detail(err)}`);
    }
  }

  /**
   * A checked snapshot for `GET /api/backup`, beside the database (the
   * folder the node may surely write, on the database's disk, not in a
   * memory-backed /tmp; and a broken `backup_dir` does not stop it); it is
   * deleted as soon as it is open where the system allows, else when
   * `discard` is called.
   */
  snapshotForDownload(): Promise<DownloadSnapshot> {
    return this.#exclusive(async () => {
      const path = `${this.#dbDir}/${DOWNLOAD_PREFIX}${crypto.randomUUID()}.partial`;
      const name = backupFileName(new Date(this.#now()));
      const info = await snapshotDatabase(this.#dbPath, path, { signal: this.#closing.signal });
      const file = await Deno.open(path, { read: true });
      let removed = false;
      const remove = () => {
        if (removed) return;
        removed = true;
        try {
          Deno.removeSync(path);
        } catch {
          // Already gone.
        }
      };
      // An open file stays readable after it is unlinked (not on Windows).
      if (Deno.build.os !== "windows") remove();
      let closed = false;
      return {
        file,
        bytes: info.bytes,
        name,
        discard() {
          if (!closed) {
            closed = true;
            try {
              file.close();
            } catch {
              // Closed by its stream.
            }
          }
          remove();
        },
      };
    });
  }

  async #exclusive<T>(fn: () => Promise<T>): Promise<T> {
    this.#running++;
    const turn = this.#busy.then(fn);
    this.#busy = turn.catch(() => {});
    try {
      return await turn;
    } finally {
      this.#running--;
    }
  }

  /** The newest backup in the folder, as a run (it was checked when it was made). */
  #newest(): Api.BackupRun | undefined {
    try {
      const b = listBackups(this.dir)[0];
      return b && { at: b.taken_at, file: b.name, size_bytes: b.bytes, ok: true, error: null };
    } catch (err) {
      this.#log(`backup: cannot read the backup folder: ${detail(err)}`);
      return undefined;
    }
  }

  /** Stops the timer; a snapshot under way is abandoned and its file removed. */
  async close(): Promise<void> {
    this.#closing.abort(new Error("the node is stopping"));
    clearTimeout(this.#timer);
    this.#dueAt = null;
    await this.#scheduled;
    await this.#busy;
  }
}

/** Why a backup failed, fit to show to any reader of `/api/system` (no paths). */
function reason(err: unknown): string {
  if (err instanceof BackupError) return err.message;
  if (err instanceof Deno.errors.PermissionDenied) return "the backup folder is not writable";
  if (err instanceof Deno.errors.NotFound || err instanceof Deno.errors.NotADirectory) {
    return "the backup folder could not be made";
  }
  if (err instanceof Deno.errors.AlreadyExists) return "a backup of that name already exists";
  return "see the node's log";
}

/** The whole story, for the node's log. */
function detail(err: unknown): string {
  if (err instanceof SnapshotFailed) return `${err.message} (${err.detail})`;
  return err instanceof Error ? err.message : String(err);
}
