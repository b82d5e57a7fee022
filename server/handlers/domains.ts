/** Custom domains: names besides `<app>.<domain>` that serve an app. */
import { isDomainName, parseDomainName } from "../../lib/domain_name.ts";
import type { CustomDomain } from "../../storage/mod.ts";
import type { RouteContext } from "../context.ts";
import { HttpError } from "../http_error.ts";
import { readJsonObject } from "../json_body.ts";
import { findApp } from "../params.ts";
import type * as Api from "../api_types.ts";
import { type Answer, json } from "../respond.ts";
import { domainToUnicode } from "node:url";

/** Each served name's certificate state, looked up once per answer. */
function certificatesOf(c: RouteContext): Map<string, Api.Certificate> {
  return new Map(c.server.certs.status().map((s) => [s.name, s]));
}

function shown(d: CustomDomain, certs: Map<string, Api.Certificate>): Api.CustomDomain {
  const certificate = certs.get(d.name) ?? null;
  return {
    name: d.name,
    unicode: domainToUnicode(d.name) || d.name,
    app: d.app,
    created_at: d.created_at,
    certificate,
  };
}

/** The checked, ASCII form of a name from a request, or a 400 naming the rule it breaks. */
function checkedName(c: RouteContext, raw: unknown, field: string): string {
  if (typeof raw !== "string") {
    throw HttpError.validation(field, "required", `${field} is required: a domain name`);
  }
  const parsed = parseDomainName(raw, c.server.settings.domain);
  if (!isDomainName(parsed)) throw HttpError.validation(field, parsed.constraint, parsed.message);
  return parsed.name;
}

/** `GET /api/apps/{name}/domains` */
export function listDomains(c: RouteContext): Answer<Api.CustomDomain[]> {
  const app = findApp(c);
  const certs = certificatesOf(c);
  return json(c.server.storage.domains.forApp(app.id).map((d) => shown(d, certs)));
}

/**
 * `POST /api/apps/{name}/domains` with `{"name": "shop.example.com"}`: the
 * domain serves the app from now on; with HTTPS on, its certificate is
 * requested at once (it arrives once the domain's DNS points here).
 */
export async function addDomain(c: RouteContext): Promise<Answer<Api.DomainAdded>> {
  const body = await readJsonObject(c.req);
  const app = findApp(c);
  const name = checkedName(c, body.name, "name");
  const { domains } = c.server.storage;
  // A name that serves another app (409 DOMAIN_TAKEN) or a node at its
  // limit (409 DOMAIN_LIMIT): the store refuses, `toErrorResponse` answers.
  const created = domains.add(app.id, name, c.server.settings.max_custom_domains);
  if (created) c.server.domains.changed();
  return json(
    { domain: shown(domains.get(name)!, certificatesOf(c)), created },
    created ? 201 : 200,
  );
}

/** `DELETE /api/apps/{name}/domains/{domain}`: stops serving it and renewing its certificate. */
export function removeDomain(c: RouteContext): Answer<Api.DomainRemoved> {
  const app = findApp(c);
  const name = checkedName(c, c.params.domain, "domain");
  if (!c.server.storage.domains.remove(app.id, name)) {
    throw new HttpError(404, "DOMAIN_NOT_FOUND", `${name} is not a domain of '${app.name}'`);
  }
  c.server.domains.changed();
  return json({ app: app.name, name, removed: true });
}
