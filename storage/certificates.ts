import type { Database } from "./database.ts";

/** A certificate's public facts: what the API and `fazt cert list` may show. */
export interface CertificateInfo {
  name: string;
  issuer: string;
  serial: string;
  not_before: number;
  not_after: number;
  /** The ACME directory it came from (a certificate from another CA is replaced). */
  directory: string;
  issued_at: number;
}

/** A certificate with its chain and private key (PEM), for the TLS listener only. */
export interface CertificateRecord extends CertificateInfo {
  cert_pem: string;
  key_pem: string;
}

/** How issuing a name has gone: failures in a row, the last error, when to try again. */
export interface CertificateAttempt {
  name: string;
  failures: number;
  last_error: string | null;
  last_attempt_at: number;
  next_attempt_at: number;
}

const INFO = "name, issuer, serial, not_before, not_after, directory, issued_at";

/** The most characters of an error kept per name. */
const MAX_ERROR = 1000;

/**
 * HTTPS certificates (one per host name), their issuance attempts and the
 * ACME account key per directory. Keys are read only by `get`/`all` (for
 * serving TLS) and `accountKey` (for the ACME client).
 */
export class CertificateStore {
  constructor(private db: Database) {}

  /** Every stored certificate's public facts, by name. */
  list(): CertificateInfo[] {
    return this.db.all<CertificateInfo>(`SELECT ${INFO} FROM certificates ORDER BY name`);
  }

  /** One certificate with its key. */
  get(name: string): CertificateRecord | undefined {
    return this.db.get<CertificateRecord>("SELECT * FROM certificates WHERE name = ?", name);
  }

  /** Stores a new certificate for its name, replacing the old one, and clears its failures. */
  put(cert: CertificateRecord): void {
    this.db.transaction(() => {
      this.db.run(
        `INSERT INTO certificates (name, cert_pem, key_pem, issuer, serial, not_before, not_after,
           directory, issued_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (name) DO UPDATE SET cert_pem = excluded.cert_pem, key_pem = excluded.key_pem,
           issuer = excluded.issuer, serial = excluded.serial, not_before = excluded.not_before,
           not_after = excluded.not_after, directory = excluded.directory,
           issued_at = excluded.issued_at`,
        cert.name,
        cert.cert_pem,
        cert.key_pem,
        cert.issuer,
        cert.serial,
        cert.not_before,
        cert.not_after,
        cert.directory,
        cert.issued_at,
      );
      this.db.run("DELETE FROM certificate_attempts WHERE name = ?", cert.name);
    });
  }

  /** Deletes certificates that expired before `now` (kept until then: a name may come back). */
  pruneExpired(now: number): number {
    return this.db.run("DELETE FROM certificates WHERE not_after < ?", now).changes;
  }

  /** Every name's attempts, by name. */
  attempts(): CertificateAttempt[] {
    return this.db.all<CertificateAttempt>("SELECT * FROM certificate_attempts ORDER BY name");
  }

  /** Records a failed issuance and when the next attempt may be. */
  recordFailure(name: string, error: string, at: number, next: number): CertificateAttempt {
    const message = error.length > MAX_ERROR ? `${error.slice(0, MAX_ERROR - 1)}…` : error;
    return this.db.get<CertificateAttempt>(
      `INSERT INTO certificate_attempts (name, failures, last_error, last_attempt_at, next_attempt_at)
       VALUES (?, 1, ?, ?, ?)
       ON CONFLICT (name) DO UPDATE SET failures = failures + 1, last_error = excluded.last_error,
         last_attempt_at = excluded.last_attempt_at, next_attempt_at = excluded.next_attempt_at
       RETURNING *`,
      name,
      message,
      at,
      next,
    )!;
  }

  /** Forgets the attempts of names no longer served (a removed domain starts afresh). */
  forgetAttempts(keep: ReadonlySet<string>): void {
    for (const a of this.attempts()) {
      if (!keep.has(a.name)) this.db.run("DELETE FROM certificate_attempts WHERE name = ?", a.name);
    }
  }

  /** The ACME account key (PEM) used with `directory`, if one was made. */
  accountKey(directory: string): string | undefined {
    return this.db.get<{ key_pem: string }>(
      "SELECT key_pem FROM acme_accounts WHERE directory = ?",
      directory,
    )?.key_pem;
  }

  /** Keeps the account key for `directory`; an existing one wins (returned). */
  saveAccountKey(directory: string, keyPem: string): string {
    this.db.run(
      "INSERT INTO acme_accounts (directory, key_pem, created_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
      directory,
      keyPem,
      Date.now(),
    );
    return this.accountKey(directory)!;
  }
}
