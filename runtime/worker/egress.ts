/**
 * `fetch` for apps: every request leaves through the slot's egress proxy in
 * the server (a Unix socket), addressed to `fazt-egress.invalid`, a name
 * that never resolves, with the real target in a header. The Worker holds
 * no TCP permission at all (so it cannot listen either); the proxy checks
 * the manifest's `net` list and the addresses a name resolves to. This
 * wrapper checks the list first too, to refuse early and the way Deno does
 * (`NotCapable`), and follows redirects itself so the proxy checks each hop.
 * @module
 */

export const EGRESS_HOST = "fazt-egress.invalid";
/** The header that carries the real target to the proxy. */
export const TARGET_HEADER = "x-fazt-target";
/** The proxy sets this on a refusal; its body is the reason. */
export const REFUSED_HEADER = "x-fazt-egress-refused";
/** The proxy sets this when the target could not be reached; its body is why. */
export const ERROR_HEADER = "x-fazt-egress-error";

const REDIRECTS = new Set([301, 302, 303, 307, 308]);
const MAX_REDIRECTS = 20;

/** Whether `host:port` is on the manifest's `net` list (`host`, `host:port`, `*.domain`). */
export function listed(net: readonly string[], hostname: string, port: string): boolean {
  const host = hostname.toLowerCase();
  return net.some((entry) => {
    const m = /^(.*?)(?::(\d+))?$/.exec(entry)!;
    let name = m[1];
    if (m[2] !== undefined && m[2] !== port) return false;
    if (name.startsWith("[") && name.endsWith("]")) name = name.slice(1, -1);
    const h = host.startsWith("[") ? host.slice(1, -1) : host;
    if (name.startsWith("*.")) return h.endsWith(name.slice(1)) && h.length > name.length - 1;
    return h === name;
  });
}

/** The port a URL reaches, explicit or by its scheme. */
export function portOf(url: URL): string {
  return url.port || (url.protocol === "https:" ? "443" : "80");
}

function refused(message: string): Error {
  const Capable = (Deno.errors as unknown as Record<string, ErrorConstructor>).NotCapable;
  return Capable ? new Capable(message) : new TypeError(message);
}

type Fetch = typeof fetch;

/** Builds the app's `fetch`; `net` is the manifest's list, `egress` the proxy's socket. */
export function egressFetch(realFetch: Fetch, net: readonly string[], egress: string): Fetch {
  let client: Deno.HttpClient | undefined;
  const proxied = async (req: Request, body: Uint8Array | undefined): Promise<Response> => {
    const url = new URL(req.url);
    if (url.protocol !== "http:" && url.protocol !== "https:") {
      throw new TypeError(`fetch of ${url.protocol} URLs is not supported here`);
    }
    if (!listed(net, url.hostname, portOf(url))) {
      throw refused(`Requires net access to "${url.host}": not in the manifest's permissions.net`);
    }
    client ??= Deno.createHttpClient({ proxy: { transport: "unix", path: egress } });
    const headers = new Headers(req.headers);
    headers.set(TARGET_HEADER, url.href);
    const res = await realFetch(`http://${EGRESS_HOST}/`, {
      method: req.method,
      headers,
      body: body as BodyInit | undefined,
      client,
      redirect: "manual",
      signal: req.signal,
    });
    if (res.headers.has(REFUSED_HEADER)) {
      const reason = await res.text().catch(() => "refused");
      throw refused(reason || "refused by the egress proxy");
    }
    if (res.headers.has(ERROR_HEADER)) {
      const reason = await res.text().catch(() => "");
      throw new TypeError(`error sending request for url (${url.href}): ${reason}`);
    }
    Object.defineProperty(res, "url", { value: url.href });
    return res;
  };
  return async (input: RequestInfo | URL, init?: RequestInit) => {
    let req = new Request(input, init);
    const url = new URL(req.url);
    if (url.protocol === "data:" || url.protocol === "blob:") return realFetch(req);
    // Bodies are read first so a 307/308 can send them again.
    let body = req.body ? new Uint8Array(await req.arrayBuffer()) : undefined;
    for (let hop = 0;; hop++) {
      const res = await proxied(req, body);
      const location = res.headers.get("location");
      if (!REDIRECTS.has(res.status) || req.redirect === "manual" || location === null) {
        if (hop > 0) Object.defineProperty(res, "redirected", { value: true });
        return res;
      }
      await res.body?.cancel();
      if (req.redirect === "error") throw new TypeError(`fetch refused a redirect to ${location}`);
      if (hop >= MAX_REDIRECTS) throw new TypeError("too many redirects");
      const next = new URL(location, req.url);
      const toGet = res.status === 303 ||
        ((res.status === 301 || res.status === 302) && req.method === "POST");
      if (toGet) body = undefined;
      const headers = new Headers(req.headers);
      if (toGet) { for (const h of ["content-type", "content-length"]) headers.delete(h); }
      if (next.origin !== new URL(req.url).origin) headers.delete("authorization");
      req = new Request(next, {
        method: toGet && req.method !== "HEAD" ? "GET" : req.method,
        headers,
        redirect: req.redirect,
        signal: req.signal,
      });
    }
  };
}
