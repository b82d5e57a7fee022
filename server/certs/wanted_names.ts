import { isDomainName, parseDomainName } from "../../lib/domain_name.ts";
import type { CustomDomain } from "../../storage/mod.ts";

/** A host name the node serves and so certifies, and what it serves there. */
export interface WantedName {
  name: string;
  /** `domain`: the node's own domain (the app `root`); `admin`; an `app`'s host; a `custom` domain. */
  kind: "domain" | "admin" | "app" | "custom";
  /** The app served there (`root` on the domain; none on the admin host). */
  app: string | null;
}

/** Whether the node's domain can have publicly trusted certificates (not `localhost`, not an IP). */
export function certifiableDomain(domain: string): boolean {
  const parsed = parseDomainName(domain, "");
  return isDomainName(parsed) && parsed.name === domain;
}

/**
 * Every name the node certifies, and nothing else: the domain,
 * `admin.<domain>`, `<app>.<domain>` for each app with a live version, and
 * each custom domain. A request for any other name never leads to an
 * issuance. Sorted by name, each once.
 */
export function wantedNames(
  domain: string,
  liveApps: readonly string[],
  customDomains: readonly Pick<CustomDomain, "name" | "app">[],
): WantedName[] {
  const out = new Map<string, WantedName>();
  if (certifiableDomain(domain)) {
    out.set(domain, { name: domain, kind: "domain", app: "root" });
    out.set(`admin.${domain}`, { name: `admin.${domain}`, kind: "admin", app: null });
    for (const app of liveApps) {
      out.set(`${app}.${domain}`, { name: `${app}.${domain}`, kind: "app", app });
    }
  }
  for (const d of customDomains) {
    if (!out.has(d.name)) out.set(d.name, { name: d.name, kind: "custom", app: d.app });
  }
  return [...out.values()].sort((a, b) => a.name < b.name ? -1 : a.name > b.name ? 1 : 0);
}
