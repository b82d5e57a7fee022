/**
 * What changes on the plain HTTP port once a node serves HTTPS: requests
 * for the hosts it serves are sent to HTTPS with `308` (method and body
 * kept), except the ACME HTTP-01 challenge path, names with no certificate
 * yet (served over plain HTTP until they have one), and requests from this
 * machine to a loopback admin name (so the CLI on the node keeps working
 * over plain HTTP). Over HTTPS the admin host answers with HSTS.
 * @module
 */
import { hostname, type HostTarget } from "./hosts.ts";
import { isLoopback } from "./request_origin.ts";
import { requestHost } from "./request_host.ts";

type Handler = (
  req: Request,
  info: Deno.ServeHandlerInfo<Deno.NetAddr>,
) => Response | Promise<Response>;

const CHALLENGE = "/.well-known/acme-challenge/";
const LOOPBACK_NAMES = new Set(["localhost", "127.0.0.1", "::1"]);
/** One year: browsers keep using HTTPS for the admin host. */
export const HSTS = "max-age=31536000";

export interface HttpsRules {
  /** The HTTPS port, for redirect URLs (443 is left out of them). */
  httpsPort: number;
  /**
   * What the host (`Host` or `:authority`, as sent) is: only hosts the node
   * serves are redirected (custom domains must be known here too), and the
   * admin host gets HSTS.
   */
  classify: (host: string) => HostTarget;
  /**
   * Whether `name` has a certificate to present: a name still waiting for
   * one (its CA down, say) keeps being served over plain HTTP.
   */
  secured?: (name: string) => boolean;
}

/** The path and query of an absolute URL. */
function pathAndQuery(url: string): string {
  const start = url.indexOf("/", url.indexOf("//") + 2);
  return start === -1 ? "/" : url.slice(start);
}

/** `handler` with the redirect and HSTS rules of a node that serves HTTPS. */
export function withHttpsRules(handler: Handler, rules: HttpsRules): Handler {
  return (req, info) => {
    const host = requestHost(req);
    const target = rules.classify(host);
    if (req.url.startsWith("http:")) {
      if (target.kind === "unknown") return handler(req, info);
      const path = pathAndQuery(req.url);
      if (path.startsWith(CHALLENGE)) return handler(req, info);
      const name = hostname(host);
      if (LOOPBACK_NAMES.has(name) && isLoopback(info.remoteAddr)) return handler(req, info);
      if (rules.secured && !rules.secured(name)) return handler(req, info);
      const h = name.includes(":") ? `[${name}]` : name;
      const port = rules.httpsPort === 443 ? "" : `:${rules.httpsPort}`;
      return new Response(null, {
        status: 308,
        headers: { location: `https://${h}${port}${path}`, "cache-control": "no-store" },
      });
    }
    if (target.kind !== "admin") return handler(req, info);
    const res = handler(req, info);
    return res instanceof Response ? withHsts(res) : res.then(withHsts);
  };
}

function withHsts(res: Response): Response {
  try {
    res.headers.set("strict-transport-security", HSTS);
    return res;
  } catch {
    // Immutable headers (a response passed through from fetch): copy them.
    const headers = new Headers(res.headers);
    headers.set("strict-transport-security", HSTS);
    return new Response(res.body, { status: res.status, statusText: res.statusText, headers });
  }
}
