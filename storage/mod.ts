/**
 * Everything fazt keeps, in one SQLite file. Nothing outside this folder
 * writes SQL.
 * @module
 */
import type { Database } from "./database.ts";
import { openDatabase, type OpenOptions } from "./open_database.ts";
import { BlobStore } from "./app_blobs.ts";
import { DocStore } from "./app_docs.ts";
import { EnvStore } from "./app_env.ts";
import { KvStore } from "./app_kv.ts";
import { AppLimitStore } from "./app_limits.ts";
import { UsageStore } from "./app_usage.ts";
import { DenoKvStore } from "./deno_kv.ts";
import { LogStore } from "./app_logs.ts";
import { AnalyticsStore } from "./analytics.ts";
import { AppStore } from "./apps.ts";
import { CronStore } from "./app_crons.ts";
import { CertificateStore } from "./certificates.ts";
import { DomainStore } from "./custom_domains.ts";
import { OwnerStore } from "./owner.ts";
import { PeerStore } from "./peers.ts";
import { LoginAttemptStore, SessionStore } from "./sessions.ts";
import { SettingsStore } from "./settings.ts";
import { TokenStore } from "./tokens.ts";

export { type CheckpointMode, Database } from "./database.ts";
export { openDatabase, type OpenOptions, replaceDatabaseFile } from "./open_database.ts";
export { Checkpointer, type CheckpointerOptions } from "./checkpointer.ts";
export { LATEST_MIGRATION, migrate, schemaVersion } from "./migrations.ts";
export * from "./analytics.ts";
export * from "./apps.ts";
export * from "./backup.ts";
export { assertNotInUse, detachReplica, restoreDatabase, type RestoreResult } from "./restore.ts";
export * from "./app_blobs.ts";
export * from "./app_crons.ts";
export * from "./app_docs.ts";
export * from "./app_env.ts";
export * from "./app_kv.ts";
export * from "./app_limits.ts";
export * from "./app_usage.ts";
export * from "./deno_kv.ts";
export * from "./app_logs.ts";
export * from "./certificates.ts";
export * from "./custom_domains.ts";
export {
  StorageError,
  type StorageErrorCode,
  type StorageErrorOptions,
  type StorageErrorReason,
} from "./storage_error.ts";
export * from "./owner.ts";
export * from "./peers.ts";
export * from "./sessions.ts";
export * from "./settings.ts";
export * from "./tokens.ts";

/** All stores over one open database. */
export class Storage {
  readonly apps: AppStore;
  /** Custom domains: names besides `<app>.<domain>` that serve an app. */
  readonly domains: DomainStore;
  /** HTTPS certificates and keys, issuance attempts, ACME account keys. */
  readonly certificates: CertificateStore;
  /** Analytics events, rollups and the day's salt. */
  readonly analytics: AnalyticsStore;
  /** App-scoped stores for serverless code; every method takes the app id first. */
  readonly kv: KvStore;
  /** What app code's `Deno.openKv()` reads and writes. */
  readonly denoKv: DenoKvStore;
  readonly docs: DocStore;
  readonly blobs: BlobStore;
  readonly env: EnvStore;
  readonly logs: LogStore;
  /** Bytes each app stores, and the storage quota check. */
  readonly usage: UsageStore;
  /** Per-app overrides of the limit settings. */
  readonly limits: AppLimitStore;
  /** Scheduled jobs: each run's record, and the jobs app code registered. */
  readonly crons: CronStore;
  readonly owner: OwnerStore;
  readonly peers: PeerStore;
  /** The owner's dashboard sessions and the login rate limit. */
  readonly sessions: SessionStore;
  readonly loginAttempts: LoginAttemptStore;
  readonly settings: SettingsStore;
  readonly tokens: TokenStore;

  constructor(readonly db: Database) {
    this.apps = new AppStore(db);
    this.domains = new DomainStore(db);
    this.certificates = new CertificateStore(db);
    this.analytics = new AnalyticsStore(db);
    this.kv = new KvStore(db);
    this.denoKv = new DenoKvStore(db);
    this.docs = new DocStore(db);
    this.blobs = new BlobStore(db);
    this.env = new EnvStore(db);
    this.logs = new LogStore(db);
    this.usage = new UsageStore(db);
    this.limits = new AppLimitStore(db);
    this.crons = new CronStore(db);
    this.owner = new OwnerStore(db);
    this.peers = new PeerStore(db);
    this.sessions = new SessionStore(db);
    this.loginAttempts = new LoginAttemptStore(db);
    this.settings = new SettingsStore(db);
    this.tokens = new TokenStore(db);
  }

  static open(path: string, options?: OpenOptions): Storage {
    return new Storage(openDatabase(path, options));
  }

  /** Size of the database file and its WAL, in bytes. */
  sizeBytes(): number {
    let total = 0;
    for (const suffix of ["", "-wal"]) {
      try {
        total += Deno.statSync(this.db.path + suffix).size;
      } catch {
        // A missing WAL file simply adds nothing.
      }
    }
    return total;
  }

  /**
   * Copies what the WAL holds into the database file, without waiting for
   * readers or truncating the WAL (PASSIVE: a replicator that reads the WAL
   * must stay the one that restarts it).
   */
  checkpoint(): void {
    this.db.get("PRAGMA wal_checkpoint(PASSIVE)");
  }

  close(): void {
    this.db.close();
  }
}
