/**
 * The error the app-scoped stores throw for input they refuse. The runtime
 * hands `code` and `field` back to app code, so messages describe the input
 * and never the SQL.
 * @module
 */

export type StorageErrorCode =
  | "VALIDATION_FAILED"
  | "NOT_FOUND"
  | "CONFLICT"
  | "LIMIT_EXCEEDED"
  /** The write would take the app past its storage quota; nothing was written. */
  | "QUOTA_EXCEEDED"
  /** A warm standby's copy refuses writes. */
  | "STANDBY"
  /** The disk, or the `db_max_mb` cap, has no room for the write. */
  | "FULL"
  /** Another process held the database's lock past the busy timeout. */
  | "BUSY";

/**
 * What a refusal means more precisely than its `code`, for a store whose
 * refusals the API names apart (the server's `httpErrorOf` answers with it).
 */
export type StorageErrorReason =
  /** A custom domain that serves another app (a `CONFLICT`). */
  | "DOMAIN_TAKEN"
  /** The node holds `max_custom_domains` domains (a `LIMIT_EXCEEDED`). */
  | "DOMAIN_LIMIT";

export interface StorageErrorOptions {
  reason?: StorageErrorReason;
  /** Facts for the client besides `field` (the limit, who holds a name). */
  details?: Record<string, unknown>;
}

export class StorageError extends Error {
  override readonly name = "StorageError";
  readonly reason?: StorageErrorReason;
  readonly details?: Record<string, unknown>;

  constructor(
    readonly code: StorageErrorCode,
    message: string,
    readonly field?: string,
    options: StorageErrorOptions = {},
  ) {
    super(message);
    this.reason = options.reason;
    this.details = options.details;
  }
}

export function invalid(field: string, message: string): StorageError {
  return new StorageError("VALIDATION_FAILED", message, field);
}

/**
 * Runs a write; a foreign-key failure means the app row is gone (deleted
 * between the runtime binding its id and this call).
 */
export function forApp<T>(write: () => T): T {
  try {
    return write();
  } catch (err) {
    if (err instanceof Error && /FOREIGN KEY constraint failed/.test(err.message)) {
      throw new StorageError("NOT_FOUND", "the app no longer exists", "appId");
    }
    throw err;
  }
}
