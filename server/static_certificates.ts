/**
 * A `TlsCertificates` provider from PEM text: certificates given by name
 * (`*.example.com` matches one label, `*` every name, `""` clients that
 * send no SNI), changed with `set` and `delete`. What `fazt server start
 * --tls-cert/--tls-key` and the tests use; the ACME module brings its own
 * provider, backed by SQLite.
 * @module
 */
import type { TlsCertificate, TlsCertificates } from "./tls_front.ts";

export class StaticCertificates implements TlsCertificates {
  readonly #byName = new Map<string, TlsCertificate>();
  readonly #listeners = new Set<(names: string[]) => void>();

  /** `entries`: name (or `*.domain`, or `*` for every name) → certificate. */
  constructor(entries: Record<string, TlsCertificate> = {}) {
    for (const [name, c] of Object.entries(entries)) this.#byName.set(name.toLowerCase(), c);
  }

  lookup(name: string): TlsCertificate | undefined {
    const n = name.toLowerCase();
    const exact = this.#byName.get(n);
    if (exact) return exact;
    const dot = n.indexOf(".");
    if (dot > 0) {
      const wild = this.#byName.get(`*${n.slice(dot)}`);
      if (wild) return wild;
    }
    return this.#byName.get("*");
  }

  /** Adds or replaces the certificate of `name` and tells the listeners. */
  set(name: string, c: TlsCertificate): void {
    this.#byName.set(name.toLowerCase(), c);
    this.#emit([name.toLowerCase()]);
  }

  delete(name: string): void {
    if (this.#byName.delete(name.toLowerCase())) this.#emit([name.toLowerCase()]);
  }

  onChange(listener: (names: string[]) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  #emit(names: string[]): void {
    for (const l of this.#listeners) l(names);
  }
}
