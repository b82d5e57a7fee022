/** A certificate chain and its private key, PEM, as `Deno.listenTls` takes them. */
export interface KeyPair {
  cert: string;
  key: string;
}

/**
 * What the HTTPS listener asks: the certificate for a name (SNI), and word
 * when names get new ones. `lookup` never causes an issuance: a name the
 * node does not serve simply has none.
 */
export interface CertificateProvider {
  lookup(name: string): KeyPair | undefined;
  /** Called with the names whose certificate changed (new, renewed or gone); returns an unsubscribe. */
  onChange(listener: (names: string[]) => void): () => void;
}

interface Entry extends KeyPair {
  serial: string;
  notAfter: number;
}

/**
 * The certificates the node serves, in memory: one per name it serves, kept
 * in step with the database by the certificate manager.
 */
export class TlsCertificates implements CertificateProvider {
  #byName = new Map<string, Entry>();
  #listeners = new Set<(names: string[]) => void>();

  constructor(private now: () => number = Date.now) {}

  lookup(name: string): KeyPair | undefined {
    const entry = this.#byName.get(name.toLowerCase().replace(/\.$/, ""));
    if (!entry || entry.notAfter <= this.now()) return undefined;
    return { cert: entry.cert, key: entry.key };
  }

  onChange(listener: (names: string[]) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** The serial served for `name`, if any. */
  serial(name: string): string | undefined {
    return this.#byName.get(name)?.serial;
  }

  /** The names with a certificate. */
  names(): string[] {
    return [...this.#byName.keys()].sort();
  }

  /** Serves `entry` for `name` from now on. */
  set(name: string, entry: Entry): void {
    this.#byName.set(name, entry);
  }

  delete(name: string): boolean {
    return this.#byName.delete(name);
  }

  /** Tells the listeners; one failing does not stop the others. */
  notify(names: string[], log: (message: string) => void): void {
    if (names.length === 0) return;
    for (const listener of this.#listeners) {
      try {
        listener(names);
      } catch (err) {
        log(`certificates: a change listener failed: ${err instanceof Error ? err.message : err}`);
      }
    }
  }
}
