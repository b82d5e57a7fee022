/** A failure the CLI reports as one line on stderr and a non-zero exit. */
export class CliError extends Error {
  constructor(message: string, readonly code?: string, readonly exitCode = 1) {
    super(message);
    this.name = "CliError";
  }
}
