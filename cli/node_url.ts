/**
 * A node's URL as people type it. `localhost:4698` has no scheme (URL
 * parsing would read `localhost:` as one): loopback names get `http://`,
 * which is what a node on this machine speaks; any other name gets
 * `https://`, so a token never crosses a network in the clear by default.
 * A LAN node served over plain HTTP is written with its scheme.
 * @module
 */
import { CliError } from "./cli_error.ts";

function isLoopbackName(host: string): boolean {
  const h = host.toLowerCase();
  return h === "localhost" || h.endsWith(".localhost") || /^127(\.\d{1,3}){3}$/.test(h) ||
    h === "[::1]";
}

/** `raw`, trimmed, with `http://` or `https://` in front when it has no scheme. */
export function withScheme(raw: string): string {
  const text = raw.trim();
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(text)) return text;
  const host = /^(\[[^\]]*\]|[^/:?#]*)/.exec(text)?.[1] ?? "";
  return `${isLoopbackName(host) ? "http" : "https"}://${text}`;
}

/** `raw` with a scheme, checked: http(s) only, no credentials, query or fragment. */
export function nodeUrl(raw: string): string {
  let url: URL;
  try {
    url = new URL(withScheme(raw));
  } catch {
    throw new CliError("the node URL is not a URL (e.g. https://fazt.example.com)", "INVALID_URL");
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new CliError("the node URL must use http or https", "INVALID_URL");
  }
  if (url.username || url.password || url.search || url.hash || !url.hostname) {
    throw new CliError(
      "the node URL must be a scheme, a host and an optional port and path",
      "INVALID_URL",
    );
  }
  return url.href.replace(/\/$/, "");
}
