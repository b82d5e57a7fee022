import type { Database } from "./database.ts";
import { StorageError } from "./storage_error.ts";

/** A domain that serves an app, besides `<app>.<domain>`. */
export interface CustomDomain {
  /** ASCII (IDNA), lower case, no trailing dot: checked by `lib/domain_name.ts`. */
  name: string;
  app_id: number;
  app: string;
  created_at: number;
}

const SELECT = `SELECT d.name, d.app_id, a.name AS app, d.created_at
  FROM custom_domains d JOIN apps a ON a.id = d.app_id`;

/**
 * Custom domains: each belongs to one app and goes when the app is deleted.
 * Names arrive checked and normalised; this store keeps them unique.
 */
export class DomainStore {
  constructor(private db: Database) {}

  /** Every custom domain, by name. */
  list(): CustomDomain[] {
    return this.db.all<CustomDomain>(`${SELECT} ORDER BY d.name`);
  }

  /** The domains of one app, by name. */
  forApp(appId: number): CustomDomain[] {
    return this.db.all<CustomDomain>(`${SELECT} WHERE d.app_id = ? ORDER BY d.name`, appId);
  }

  get(name: string): CustomDomain | undefined {
    return this.db.get<CustomDomain>(`${SELECT} WHERE d.name = ?`, name);
  }

  count(): number {
    return this.db.get<{ n: number }>("SELECT COUNT(*) AS n FROM custom_domains")!.n;
  }

  /**
   * Points `name` at the app. `false` when it already did; a name that
   * serves another app is a `CONFLICT`, and a node holding `max` domains
   * takes no more (`LIMIT_EXCEEDED`).
   */
  add(appId: number, name: string, max: number): boolean {
    return this.db.transaction(() => {
      const existing = this.get(name);
      if (existing?.app_id === appId) return false;
      if (existing) {
        throw new StorageError(
          "CONFLICT",
          `${name} already serves the app '${existing.app}'`,
          "name",
          { reason: "DOMAIN_TAKEN", details: { app: existing.app } },
        );
      }
      if (this.count() >= max) {
        throw new StorageError(
          "LIMIT_EXCEEDED",
          `this node has ${max} custom domains, its limit (max_custom_domains)`,
          "name",
          { reason: "DOMAIN_LIMIT", details: { max } },
        );
      }
      this.db.run(
        "INSERT INTO custom_domains (name, app_id, created_at) VALUES (?, ?, ?)",
        name,
        appId,
        Date.now(),
      );
      return true;
    });
  }

  /** Stops `name` serving the app; `false` when it did not. */
  remove(appId: number, name: string): boolean {
    return this.db.run(
      "DELETE FROM custom_domains WHERE app_id = ? AND name = ?",
      appId,
      name,
    ).changes > 0;
  }
}
