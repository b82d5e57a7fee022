/**
 * The one error type handlers throw. Its message is shown to the client, so
 * it must never carry SQL, file paths or secrets; anything else that is
 * thrown becomes a generic 500 INTERNAL_ERROR.
 */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details?: Record<string, unknown>,
    readonly headers?: Record<string, string>,
  ) {
    super(message);
    this.name = "HttpError";
  }

  static validation(field: string, constraint: string, message: string): HttpError {
    return new HttpError(400, "VALIDATION_FAILED", message, { field, constraint });
  }

  static notFound(message = "Not found"): HttpError {
    return new HttpError(404, "NOT_FOUND", message);
  }
}
