/**
 * A warm standby: a node that serves a copy of another node's database,
 * kept current by restoring it from that node's replica every
 * `standby_interval`, and that can be promoted to take over.
 *
 * Each refresh restores into a new file beside the copy (Litestream, then
 * the integrity and schema checks of a backup), turns replication off in it
 * (a copy never writes to the replica it came from), and swaps it in under
 * the open stores in one step between two requests. The copy is read-only
 * (`Database.readOnly`): the server refuses writes with 503 `STANDBY`.
 * Promotion stops the refreshes, restores once more to catch up, and hands
 * over to whoever runs the node (`fazt standby`), which restarts it as a
 * primary replicating to its own target.
 * @module
 */
import type { ReplicaCredentials } from "../lib/litestream_config.ts";
import { formatDuration } from "../lib/duration.ts";
import { BackupError, detachReplica, replaceDatabaseFile, type Storage } from "../storage/mod.ts";
import type * as Api from "./api_types.ts";
import { ReplicaRestoreError, restoreFromReplica } from "./replica_restore.ts";

export interface StandbyOptions {
  /** The stores over the copy (already restored once, opened read-only). */
  storage: Storage;
  /** The replica it follows. */
  from: string;
  credentials: ReplicaCredentials;
  /** `litestream_path`: `auto` or the binary. */
  litestream: string;
  intervalMs: number;
  /** Where it replicates once promoted, and with what (default: `from`, `credentials`). */
  to?: string;
  toCredentials?: ReplicaCredentials;
  log: (message: string) => void;
  now?: () => number;
}

/** What a promotion hands over: the replica the new primary writes to. */
export interface Promotion {
  to: string;
  credentials: ReplicaCredentials;
}

export class Standby {
  readonly from: string;
  readonly #opts: StandbyOptions;
  readonly #now: () => number;
  readonly #stopping = new AbortController();
  readonly #promoted = Promise.withResolvers<Promotion>();
  #onRefresh?: () => void;
  #timer?: ReturnType<typeof setTimeout>;
  #busy: Promise<unknown> = Promise.resolve();
  #refreshedAt: number | null;
  #nextAt: number | null = null;
  #refreshes = 0;
  #lastError: { at: number; message: string } | null = null;
  #promoting = false;

  constructor(opts: StandbyOptions) {
    this.#opts = opts;
    this.from = opts.from;
    this.#now = opts.now ?? Date.now;
    this.#refreshedAt = this.#now();
  }

  /** Resolves when a promotion has caught up and the node should become a primary. */
  get promoted(): Promise<Promotion> {
    return this.#promoted.promise;
  }

  get promoting(): boolean {
    return this.#promoting;
  }

  /** Arms the refreshes; `onRefresh` runs after each swap (the server forgets what it cached). */
  start(onRefresh: () => void): void {
    this.#onRefresh = onRefresh;
    this.#arm();
  }

  #arm(): void {
    if (this.#stopping.signal.aborted || this.#promoting) return;
    this.#nextAt = this.#now() + this.#opts.intervalMs;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.refresh().then(() => this.#arm());
    }, this.#opts.intervalMs);
  }

  /**
   * Restores the replica's latest state and swaps it in; `false` (and the
   * reason in `status()`) when it could not, the old copy still served.
   * Refreshes run one at a time.
   */
  refresh(): Promise<boolean> {
    const run = this.#busy.then(() => this.#refresh());
    this.#busy = run.catch(() => {});
    return run;
  }

  async #refresh(): Promise<boolean> {
    const { storage, log } = this.#opts;
    if (this.#stopping.signal.aborted) return false;
    const dir = storage.db.path.replace(/[\\/][^\\/]*$/, "") || ".";
    const incoming = `${dir}/.fazt-standby-${crypto.randomUUID()}.db`;
    try {
      await restoreFromReplica({
        from: this.#opts.from,
        credentials: this.#opts.credentials,
        litestream: this.#opts.litestream,
        out: incoming,
        signal: this.#stopping.signal,
      });
      if (this.#stopping.signal.aborted) throw this.#stopping.signal.reason;
      detachReplica(incoming);
      replaceDatabaseFile(storage.db, incoming);
      storage.db.readOnly = true;
      this.#refreshedAt = this.#now();
      this.#refreshes++;
      this.#lastError = null;
      this.#onRefresh?.();
      return true;
    } catch (err) {
      for (const side of ["", "-wal", "-shm"]) await Deno.remove(incoming + side).catch(() => {});
      if (this.#stopping.signal.aborted) return false;
      const message = err instanceof ReplicaRestoreError || err instanceof BackupError
        ? err.message
        : "see the node's log";
      this.#lastError = { at: this.#now(), message };
      log(`standby: refresh failed: ${err instanceof Error ? err.message : String(err)}`);
      // Whatever happened, the copy being served stays read-only.
      if (!storage.db.readOnly) storage.db.readOnly = true;
      return false;
    }
  }

  /**
   * Starts the promotion: no more scheduled refreshes, one last one to
   * catch up with the replica, then `promoted` resolves. Returns where the
   * new primary will replicate; throws when a promotion is under way.
   */
  promote(req: { to?: string; credentials?: ReplicaCredentials } = {}): Promotion {
    if (this.#promoting) throw new Error("a promotion is already under way");
    this.#promoting = true;
    clearTimeout(this.#timer);
    this.#nextAt = null;
    const to = req.to ?? this.#opts.to ?? this.#opts.from;
    const sameTarget = to === (this.#opts.to ?? this.#opts.from);
    const promotion: Promotion = {
      to,
      credentials: req.credentials ??
        (sameTarget ? this.#opts.toCredentials ?? this.#opts.credentials : {}),
    };
    this.refresh().then((caughtUp) => {
      if (!caughtUp) {
        this.#opts.log(
          `standby: promoting with the copy of ${
            new Date(this.#refreshedAt ?? 0).toISOString()
          }: the replica could not be read`,
        );
      }
      this.#promoted.resolve(promotion);
    });
    return promotion;
  }

  status(): Api.StandbyStatus {
    return {
      from: this.from,
      interval: formatDuration(this.#opts.intervalMs),
      refreshed_at: this.#refreshedAt,
      next_at: this.#nextAt,
      refreshes: this.#refreshes,
      last_error: this.#lastError,
      state: this.#promoting ? "promoting" : "following",
    };
  }

  /** Stops refreshing; a restore under way is abandoned. */
  async close(): Promise<void> {
    this.#stopping.abort(new Error("the standby is stopping"));
    clearTimeout(this.#timer);
    this.#nextAt = null;
    await this.#busy;
  }
}
