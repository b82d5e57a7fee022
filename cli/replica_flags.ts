/**
 * A replica's credentials as the CLI takes them: the secret (SFTP password
 * or S3 secret key) only from standard input or a file, never from the
 * command line (where `ps` and the shell's history show it); the S3 access
 * key id (an identifier, like a user name) and an SFTP key file's path as
 * options.
 * @module
 */
import type { Command } from "commander";
import type { ReplicaCredentials } from "../lib/litestream_config.ts";
import { concatBytes } from "../lib/bytes.ts";
import { CliError } from "./cli_error.ts";

export interface CredentialFlags {
  accessKeyId?: string;
  secretStdin?: boolean;
  secretFile?: string;
  keyPath?: string;
}

/** Adds the credential options to `cmd`. */
export function credentialOptions(cmd: Command): Command {
  return cmd
    .option("--access-key-id <id>", "S3: the access key id")
    .option("--secret-stdin", "read the secret (SFTP password, S3 secret key) from standard input")
    .option("--secret-file <file>", "read the secret from this file")
    .option("--key-path <file>", "SFTP: a private key file on the node's machine");
}

const MAX_SECRET_BYTES = 8192;

/** The credentials the flags give; `undefined` fields were not given. */
export async function readCredentials(flags: CredentialFlags): Promise<ReplicaCredentials> {
  if (flags.secretStdin && flags.secretFile) {
    throw new CliError("use --secret-stdin or --secret-file, not both", "VALIDATION_FAILED");
  }
  let secret: string | undefined;
  if (flags.secretStdin) secret = await readBounded(Deno.stdin.readable, "standard input");
  else if (flags.secretFile) {
    let file: Deno.FsFile;
    try {
      file = await Deno.open(flags.secretFile, { read: true });
    } catch {
      throw new CliError(`cannot read ${flags.secretFile}`, "FILE_NOT_FOUND");
    }
    secret = await readBounded(file.readable, flags.secretFile);
  }
  if (secret !== undefined) secret = secret.replace(/\r?\n$/, "");
  if (flags.keyPath !== undefined && !flags.keyPath.startsWith("/")) {
    throw new CliError("--key-path must be an absolute path", "VALIDATION_FAILED");
  }
  return { accessKeyId: flags.accessKeyId, secret, keyPath: flags.keyPath };
}

async function readBounded(stream: ReadableStream<Uint8Array>, what: string): Promise<string> {
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of stream) {
    size += chunk.length;
    if (size > MAX_SECRET_BYTES) {
      await stream.cancel().catch(() => {});
      throw new CliError(
        `the secret in ${what} is longer than ${MAX_SECRET_BYTES} bytes`,
        "VALIDATION_FAILED",
      );
    }
    chunks.push(chunk);
  }
  return new TextDecoder().decode(concatBytes(chunks));
}
