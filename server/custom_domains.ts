import type { Storage } from "../storage/mod.ts";

/**
 * Which app each custom domain serves, in memory so a request costs a map
 * lookup, never a query. Reloaded whole after every change (they are few
 * and change rarely); listeners (the certificate manager) hear of it.
 */
export class CustomDomains {
  #apps = new Map<string, string>();
  #listeners = new Set<() => void>();

  constructor(private storage: Storage) {
    this.reload();
  }

  /** The app served on `host` (a bare, lower-case host name), if it is a custom domain. */
  appFor(host: string): string | undefined {
    return this.#apps.get(host);
  }

  get size(): number {
    return this.#apps.size;
  }

  /** Re-reads the table: after an add, a remove or an app's deletion. */
  reload(): void {
    this.#apps = new Map(this.storage.domains.list().map((d) => [d.name, d.app]));
  }

  /** Re-reads the table and tells the listeners. */
  changed(): void {
    this.reload();
    for (const listener of this.#listeners) listener();
  }

  onChange(listener: () => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }
}
