/**
 * Every error code the API answers with. Clients branch on them, so a code
 * is never renamed or reused for another meaning; add new ones here.
 */
export type ErrorCode =
  // Requests the API cannot take.
  | "BAD_REQUEST"
  | "INVALID_JSON"
  | "VALIDATION_FAILED"
  | "PAYLOAD_TOO_LARGE"
  | "UNSUPPORTED_MEDIA_TYPE"
  | "METHOD_NOT_ALLOWED"
  | "CONFLICT"
  // A request body that stopped arriving (the connection is closed after).
  | "REQUEST_TIMEOUT"
  // Who is calling.
  | "UNAUTHORIZED"
  | "INVALID_TOKEN"
  | "SESSION_EXPIRED"
  | "INVALID_CREDENTIALS"
  | "RATE_LIMITED"
  | "FORBIDDEN"
  | "FORBIDDEN_ORIGIN"
  | "LOCAL_ONLY"
  | "TOKEN_REQUIRED"
  // What is not there.
  | "NOT_FOUND"
  | "APP_NOT_FOUND"
  | "VERSION_NOT_FOUND"
  | "FILE_NOT_FOUND"
  | "KEY_NOT_FOUND"
  | "DOC_NOT_FOUND"
  | "BLOB_NOT_FOUND"
  | "TOKEN_NOT_FOUND"
  | "SESSION_NOT_FOUND"
  | "NO_EARLIER_VERSION"
  | "DOMAIN_NOT_FOUND"
  // Custom domains.
  | "DOMAIN_TAKEN"
  | "DOMAIN_LIMIT"
  // Upgrades.
  | "UPGRADE_UNAVAILABLE"
  | "UPGRADE_IN_PROGRESS"
  | "UPGRADE_INVALID"
  | "CHECKSUM_MISMATCH"
  | "SIGNATURE_REQUIRED"
  | "SIGNATURE_INVALID"
  | "DOWNGRADE"
  // Restarts.
  | "RESTART_UNAVAILABLE"
  // Peers.
  | "PEER_EXISTS"
  | "PEER_NOT_FOUND"
  // A peer being added that could not be verified (see lib/peer_probe.ts).
  | "PEER_UNREACHABLE"
  | "PEER_NOT_FAZT_NODE"
  | "PEER_REDIRECTED"
  | "PEER_TOKEN_REFUSED"
  | "PEER_BAD_RESPONSE"
  // Upgrades from the release feed.
  | "NO_RELEASE_FEED"
  | "FEED_INVALID"
  | "FEED_UNAVAILABLE"
  | "RELEASE_NOT_FOUND"
  | "TARGET_UNAVAILABLE"
  | "TARGET_MISMATCH"
  | "RUNTIME_MISMATCH"
  | "VERSION_MISMATCH"
  | "SIZE_MISMATCH"
  | "DOWNLOAD_FAILED"
  | "ARCHIVE_INVALID"
  // Backups.
  | "BACKUP_UNAVAILABLE"
  | "BACKUP_FAILED"
  // Replication and the warm standby.
  | "REPLICATION_UNAVAILABLE"
  | "LITESTREAM_NOT_FOUND"
  | "STANDBY"
  | "NOT_STANDBY"
  | "PROMOTE_IN_PROGRESS"
  // The node is shedding load: try again after `Retry-After`.
  | "OVERLOADED"
  // An app's quotas (its stored bytes; requests to its code in flight at once).
  | "QUOTA_EXCEEDED"
  | "CONCURRENCY_LIMITED"
  // Server code at deploy.
  | "UNRESOLVED_IMPORT"
  | "COMPILER_UNAVAILABLE"
  // The database: no room left (disk or db_max_mb), or locked by another process.
  | "STORAGE_FULL"
  | "DATABASE_BUSY"
  // Scheduled jobs.
  | "INVALID_CRON"
  | "CRON_NOT_FOUND"
  | "CRON_RUNNING"
  // Anything else: logged, never described.
  | "INTERNAL_ERROR";

/** What an error carries besides its status, code and message. */
export interface HttpErrorOptions {
  /** Machine-readable facts for the client (`field`, `constraint`, …). */
  details?: Record<string, unknown>;
  /** Response headers (`allow`, `retry-after`, `www-authenticate`). */
  headers?: Record<string, string>;
}

/**
 * The one error type handlers throw. Its message is shown to the client, so
 * it must never carry SQL, file paths or secrets; anything else that is
 * thrown becomes a generic 500 INTERNAL_ERROR (see `toErrorResponse`).
 */
export class HttpError extends Error {
  readonly details?: Record<string, unknown>;
  readonly headers?: Record<string, string>;

  constructor(
    readonly status: number,
    readonly code: ErrorCode,
    message: string,
    options: HttpErrorOptions = {},
  ) {
    super(message);
    this.name = "HttpError";
    this.details = options.details;
    this.headers = options.headers;
  }

  /** 400 `VALIDATION_FAILED` about one input field. */
  static validation(field: string, constraint: string, message: string): HttpError {
    return new HttpError(400, "VALIDATION_FAILED", message, { details: { field, constraint } });
  }
}
