/**
 * Where a node may fetch releases from: HTTPS, or plain HTTP to this machine
 * (a local mirror, tests). Signatures already protect the bytes; HTTPS keeps
 * what a node looks for private and stops a network from holding it back.
 */

/** Whether `host` (a URL's hostname) is this machine. */
export function isLoopbackHost(host: string): boolean {
  const h = host.toLowerCase().replace(/^\[|\]$/g, "");
  return h === "localhost" || h.endsWith(".localhost") || h === "::1" ||
    /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h);
}

/** Why `raw` cannot be a release URL, or `undefined` when it can. */
export function releaseUrlProblem(raw: string): string | undefined {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return "it is not a URL";
  }
  if (url.username || url.password) return "it must not carry credentials";
  if (url.protocol === "https:") return undefined;
  if (url.protocol === "http:" && isLoopbackHost(url.hostname)) return undefined;
  return "it must use https:// (plain http:// only to this machine)";
}
