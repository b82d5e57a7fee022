import type { RouteContext } from "../context.ts";
import { HttpError } from "../http_error.ts";
import type * as Api from "../api_types.ts";
import { type Answer, json } from "../respond.ts";

/** `GET /api/certificates`: every served name's certificate, never a key. */
export function listCertificates(c: RouteContext): Answer<Api.Certificates> {
  return json({
    https: c.server.certs.enabled,
    directory: c.server.settings.acme_directory,
    certificates: c.server.certs.status(),
  });
}

/**
 * `GET /.well-known/acme-challenge/{token}` on any host: the key
 * authorization the node's CA is checking, while an issuance runs.
 */
export function acmeChallenge(c: RouteContext): Response {
  const answer = c.server.certs.challenges.get(c.params.token);
  if (answer === undefined) throw new HttpError(404, "NOT_FOUND", "No such challenge");
  return new Response(answer, {
    headers: { "content-type": "text/plain; charset=utf-8", "cache-control": "no-store" },
  });
}
