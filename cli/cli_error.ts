/**
 * A failure the CLI reports as one line on stderr and a non-zero exit. When
 * a node refused, `cause` is the `ApiError` with its code and details.
 */
export class CliError extends Error {
  /** `code` is a stable UPPER_SNAKE reason (the API's error code when a node refused). */
  constructor(
    message: string,
    readonly code: string,
    readonly exitCode = 1,
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = "CliError";
  }
}
