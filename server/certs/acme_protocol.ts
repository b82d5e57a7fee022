/**
 * What the server and its ACME process say to each other: one JSON object a
 * line on stdin and stdout. The server sends the job first; the process
 * answers with a line per challenge (the server acknowledges it once it
 * answers the token over HTTP) and one result per name.
 * @module
 */

/** The job: certify each name with the account key, one certificate per name. */
export interface AcmeJob {
  directory: string;
  /** Extra CA certificates (PEM) to trust for the ACME server's TLS. */
  caPem?: string;
  /** A contact address for the account. */
  email?: string;
  /** The account's private key (PEM). */
  accountKey: string;
  names: string[];
  /** How many names are worked on at once. */
  concurrency: number;
}

/** A line from the ACME process. */
export type FromAcme =
  /** Serve `keyAuthorization` at `/.well-known/acme-challenge/<token>`, then send `ack` with `id`. */
  | { type: "challenge"; id: number; name: string; token: string; keyAuthorization: string }
  /** The CA is done with the token. */
  | { type: "challenge_done"; token: string }
  /** `cert` is the chain (leaf first), `key` the new private key, both PEM. */
  | { type: "issued"; name: string; cert: string; key: string }
  | { type: "failed"; name: string; error: string };

/** A line to the ACME process. */
export interface AckChallenge {
  type: "ack";
  id: number;
}
