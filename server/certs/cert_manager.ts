import { generateKeyPairSync } from "node:crypto";
import type { CertificateInfo, Settings, Storage } from "../../storage/mod.ts";
import { AcmeProcessIssuer, type Issuer, type IssueResult } from "./acme_issuer.ts";
import { certFacts } from "./cert_facts.ts";
import { Challenges } from "./challenges.ts";
import { TlsCertificates } from "./tls_certificates.ts";
import { type WantedName, wantedNames } from "./wanted_names.ts";

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

/** Renewal starts this long before expiry (or at a third of a shorter lifetime). */
export const RENEW_BEFORE_MS = 30 * DAY;

/** What tests (and embedders) may change about the manager. */
export interface CertManagerOptions {
  /** The clock deciding renewals and retries (default `Date.now`). */
  now?: () => number;
  /** First wait after a failure; doubles per failure in a row (default 1 min). */
  retryBaseMs?: number;
  /** Longest wait between attempts (default 6 h). */
  retryMaxMs?: number;
  /** Names per ACME process (default 10; new names go first). */
  batch?: number;
  /** How long one ACME process may run (default 10 min). */
  jobTimeoutMs?: number;
  /** How the certificates are got (default: acme-client in a child process). */
  issuer?: Issuer;
}

/** One served name's certificate as the API shows it (never the key). */
export interface CertStatus extends WantedName {
  /**
   * `valid`; `renewing` (valid, renewal due); `pending` (none yet, or one
   * from another ACME directory); `expired` (what is stored has expired).
   */
  status: "valid" | "renewing" | "pending" | "expired";
  issuer: string | null;
  serial: string | null;
  not_before: number | null;
  not_after: number | null;
  renew_at: number | null;
  failures: number;
  last_error: string | null;
  last_attempt_at: number | null;
  /** When it is tried next: `null` when nothing is due or HTTPS is off. */
  next_attempt_at: number | null;
}

/** When a certificate is renewed: 30 days before expiry, or a third of its life if shorter. */
export function renewAt(cert: Pick<CertificateInfo, "not_before" | "not_after">): number {
  const life = cert.not_after - cert.not_before;
  return cert.not_after - Math.min(RENEW_BEFORE_MS, Math.floor(life / 3));
}

/** The wait before attempt `failures + 1`: doubling from `base`, at most `max`. */
export function backoff(failures: number, base: number, max: number): number {
  return Math.min(max, base * 2 ** Math.min(Math.max(failures - 1, 0), 30));
}

/** A CA's "retry after <time> UTC" (Let's Encrypt's rate-limit errors), as ms since the epoch. */
export function retryAfterOf(error: string): number | undefined {
  const m = /retry after (\d{4}-\d\d-\d\d)[ T](\d\d:\d\d:\d\d)(?:\.\d+)? ?(?:UTC|Z)/i.exec(error);
  if (!m) return undefined;
  const t = Date.parse(`${m[1]}T${m[2]}Z`);
  return Number.isNaN(t) ? undefined : t;
}

/**
 * Keeps a certificate for every name the node serves (`wanted_names.ts`)
 * and no other: issues what is missing, renews what is due, retries
 * failures with backoff (per name, remembered across restarts) and keeps
 * the in-memory certificates (`tls`) in step for the HTTPS listener. One
 * loop, one ACME process at a time; `wake()` after anything that changes
 * the names (a deploy, a deleted app, a custom domain).
 */
export class CertManager {
  /** HTTP-01 answers while an issuance runs. */
  readonly challenges = new Challenges();
  /** What the HTTPS listener serves. */
  readonly tls: TlsCertificates;
  #now: () => number;
  #issuer: Issuer;
  #running = false;
  #dirty = false;
  #closed = new AbortController();
  #wakeUp: (() => void) | undefined;
  #loop: Promise<void> | undefined;
  #settledWaiters: (() => void)[] = [];

  constructor(
    private storage: Storage,
    private settings: Settings,
    private log: (message: string) => void,
    private opts: CertManagerOptions = {},
  ) {
    this.#now = opts.now ?? Date.now;
    this.#issuer = opts.issuer ?? new AcmeProcessIssuer(opts.jobTimeoutMs ?? 10 * MINUTE);
    this.tls = new TlsCertificates(this.#now);
  }

  /** Whether this run gets certificates (the `https` setting). */
  get enabled(): boolean {
    return this.settings.https === 1;
  }

  /** Serves the stored certificates and starts getting the missing ones. */
  start(): void {
    if (!this.enabled || this.#loop) return;
    this.#sync(this.#wanted());
    this.#loop = this.#run().catch((err) => {
      this.log(`certificates: the manager stopped: ${err instanceof Error ? err.stack : err}`);
    });
  }

  /** Look again at what is wanted and due (after a deploy, a delete, a domain change). */
  wake(): void {
    this.#dirty = true;
    this.#wakeUp?.();
  }

  /**
   * Resolves once the manager has looked at everything asked of it so far
   * (after `wake`, too) and waits with nothing due: for tests, which wait
   * for events, never for time.
   */
  settled(): Promise<void> {
    if (!this.#loop || this.#closed.signal.aborted) return Promise.resolve();
    if (this.#wakeUp && !this.#dirty) return Promise.resolve();
    return new Promise((resolve) => this.#settledWaiters.push(resolve));
  }

  /** Stops the loop and any ACME process; certificates already served stay in `tls`. */
  async close(): Promise<void> {
    this.#closed.abort();
    this.#wakeUp?.();
    await this.#loop;
    for (const resolve of this.#settledWaiters.splice(0)) resolve();
  }

  /** Every served name and its certificate, by name. */
  status(): CertStatus[] {
    const now = this.#now();
    const certs = new Map(this.storage.certificates.list().map((c) => [c.name, c]));
    const attempts = new Map(this.storage.certificates.attempts().map((a) => [a.name, a]));
    return this.#wanted().map((w) => {
      const cert = certs.get(w.name);
      const attempt = attempts.get(w.name);
      const usable = cert && cert.directory === this.settings.acme_directory;
      const status = !cert || !usable
        ? "pending"
        : cert.not_after <= now
        ? "expired"
        : renewAt(cert) <= now
        ? "renewing"
        : "valid";
      const due = status !== "valid";
      return {
        ...w,
        status,
        issuer: cert?.issuer ?? null,
        serial: cert?.serial ?? null,
        not_before: cert?.not_before ?? null,
        not_after: cert?.not_after ?? null,
        renew_at: cert ? renewAt(cert) : null,
        failures: attempt?.failures ?? 0,
        last_error: attempt?.last_error ?? null,
        last_attempt_at: attempt?.last_attempt_at ?? null,
        next_attempt_at: !this.enabled
          ? null
          : due
          ? Math.max(attempt?.next_attempt_at ?? now, now)
          : cert
          ? renewAt(cert)
          : null,
      };
    });
  }

  #wanted(): WantedName[] {
    return wantedNames(
      this.settings.domain,
      this.storage.apps.liveNames(),
      this.storage.domains.list(),
    );
  }

  /** Serves the stored, unexpired certificate of each wanted name, and nothing for the rest. */
  #sync(wanted: WantedName[]): void {
    const now = this.#now();
    const want = new Set(wanted.map((w) => w.name));
    const changed: string[] = [];
    for (const name of this.tls.names()) {
      if (!want.has(name)) {
        this.tls.delete(name);
        changed.push(name);
      }
    }
    for (const info of this.storage.certificates.list()) {
      if (!want.has(info.name)) continue;
      const live = info.not_after > now;
      if (!live) {
        if (this.tls.delete(info.name)) changed.push(info.name);
        continue;
      }
      if (this.tls.serial(info.name) === info.serial) continue;
      const record = this.storage.certificates.get(info.name);
      if (!record) continue;
      this.tls.set(info.name, {
        cert: record.cert_pem,
        key: record.key_pem,
        serial: record.serial,
        notAfter: record.not_after,
      });
      changed.push(info.name);
    }
    this.tls.notify(changed, this.log);
  }

  /** The names to work on now (new ones first, then renewals by expiry) and when the next falls due. */
  #plan(wanted: WantedName[]): { due: string[]; next: number } {
    const now = this.#now();
    const certs = new Map(this.storage.certificates.list().map((c) => [c.name, c]));
    const attempts = new Map(this.storage.certificates.attempts().map((a) => [a.name, a]));
    const fresh: string[] = [];
    const renewals: { name: string; at: number }[] = [];
    let next = Infinity;
    for (const { name } of wanted) {
      const cert = certs.get(name);
      const usable = cert && cert.directory === this.settings.acme_directory;
      const dueAt = usable ? renewAt(cert) : now;
      const allowedAt = Math.max(dueAt, attempts.get(name)?.next_attempt_at ?? 0);
      if (allowedAt > now) {
        next = Math.min(next, allowedAt);
        continue;
      }
      if (usable) renewals.push({ name, at: cert.not_after });
      else fresh.push(name);
    }
    renewals.sort((a, b) => a.at - b.at);
    return { due: [...fresh, ...renewals.map((r) => r.name)], next };
  }

  async #run(): Promise<void> {
    const signal = this.#closed.signal;
    while (!signal.aborted) {
      this.#dirty = false;
      const wanted = this.#wanted();
      this.storage.certificates.forgetAttempts(new Set(wanted.map((w) => w.name)));
      this.storage.certificates.pruneExpired(this.#now());
      this.#sync(wanted);
      const { due, next } = this.#plan(wanted);
      if (due.length > 0) {
        await this.#issue(due.slice(0, this.opts.batch ?? 10));
        continue;
      }
      // Sleep until the next name falls due, a wake-up, or an hour (the clock may jump).
      const wait = Math.min(Math.max(next - this.#now(), 0), HOUR);
      if (this.#dirty) continue;
      for (const resolve of this.#settledWaiters.splice(0)) resolve();
      await new Promise<void>((resolve) => {
        const timer = setTimeout(done, wait);
        function done() {
          clearTimeout(timer);
          resolve();
        }
        this.#wakeUp = done;
      });
      this.#wakeUp = undefined;
    }
  }

  async #issue(names: string[]): Promise<void> {
    const directory = this.settings.acme_directory;
    this.log(`certificates: requesting ${names.join(", ")} from ${directory}`);
    let caPem: string | undefined;
    if (this.settings.acme_ca_file !== "none") {
      try {
        caPem = await Deno.readTextFile(this.settings.acme_ca_file);
      } catch (err) {
        const error = `acme_ca_file cannot be read: ${err instanceof Error ? err.message : err}`;
        for (const name of names) this.#failed(name, error);
        return;
      }
    }
    this.#running = true;
    const answered = new Set<string>();
    try {
      await this.#issuer.issue(
        {
          directory,
          caPem,
          email: this.settings.acme_email === "none" ? undefined : this.settings.acme_email,
          accountKey: this.#accountKey(directory),
          names,
          concurrency: 4,
        },
        this.challenges,
        (result) => {
          answered.add(result.name);
          this.#record(result, directory);
        },
        this.#closed.signal,
      );
    } catch (err) {
      this.log(`certificates: the issuer failed: ${err instanceof Error ? err.message : err}`);
    } finally {
      this.#running = false;
    }
    // A name left without an outcome is a failure too, or it would be asked for again at once.
    for (const name of names) {
      if (!answered.has(name) && !this.#closed.signal.aborted) {
        this.#failed(name, "the ACME client gave no result");
      }
    }
  }

  /** Whether an ACME process is at work. */
  get busy(): boolean {
    return this.#running;
  }

  #accountKey(directory: string): string {
    const stored = this.storage.certificates.accountKey(directory);
    if (stored) return stored;
    const { privateKey } = generateKeyPairSync("ec", {
      namedCurve: "prime256v1",
      privateKeyEncoding: { type: "pkcs8", format: "pem" },
      publicKeyEncoding: { type: "spki", format: "pem" },
    });
    return this.storage.certificates.saveAccountKey(directory, privateKey);
  }

  #record(result: IssueResult, directory: string): void {
    if (!result.ok) {
      if (!this.#closed.signal.aborted) this.#failed(result.name, result.error);
      return;
    }
    try {
      const facts = certFacts(result.cert);
      if (!facts.names.includes(result.name)) {
        throw new Error(`the certificate is for ${facts.names.join(", ")}, not ${result.name}`);
      }
      this.storage.certificates.put({
        name: result.name,
        cert_pem: result.cert,
        key_pem: result.key,
        issuer: facts.issuer,
        serial: facts.serial,
        not_before: facts.notBefore,
        not_after: facts.notAfter,
        directory,
        issued_at: this.#now(),
      });
      this.log(
        `certificates: ${result.name} issued by ${facts.issuer}, valid until ${
          new Date(facts.notAfter).toISOString()
        }`,
      );
      this.#sync(this.#wanted());
    } catch (err) {
      this.#failed(result.name, `the CA's answer was not usable: ${(err as Error).message}`);
    }
  }

  #failed(name: string, error: string): void {
    const now = this.#now();
    const failures = (this.storage.certificates.attempts().find((a) => a.name === name)?.failures ??
      0) + 1;
    const wait = backoff(
      failures,
      this.opts.retryBaseMs ?? MINUTE,
      this.opts.retryMaxMs ?? 6 * HOUR,
    );
    const next = Math.max(now + wait, retryAfterOf(error) ?? 0);
    this.storage.certificates.recordFailure(name, error, now, next);
    this.log(
      `certificates: ${name} failed (${failures} in a row; next attempt ${
        new Date(next).toISOString()
      }): ${error}`,
    );
  }
}
