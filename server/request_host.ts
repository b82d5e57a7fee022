/**
 * The host a request was addressed to. HTTP/1.1 sends `Host`; HTTP/2 sends
 * `:authority`, which Deno does not copy into the headers but uses for
 * `req.url`. For a request with neither (HTTP/1.0 without `Host`), Deno
 * fills `req.url` with `localhost` or `localhost:<port>`: that must read
 * as no host, or a Host-less request from anywhere would be taken for the
 * loopback admin host. (The cost: an HTTP/2 request for `localhost:<port>`
 * is host-less too; only local tools send one.)
 * @module
 */

/** `Host`, else the authority of `req.url` unless it is Deno's fallback; `""` for none. */
export function requestHost(req: Request): string {
  const header = req.headers.get("host");
  if (header !== null) return header;
  const url = req.url;
  const start = url.indexOf("//") + 2;
  let end = start;
  while (end < url.length && url[end] !== "/" && url[end] !== "?" && url[end] !== "#") end++;
  const authority = url.slice(start, end);
  if (authority === "localhost" || /^localhost:\d+$/.test(authority)) return "";
  return authority;
}
