/** Where a request goes, decided by its `Host` header alone. */
export type HostTarget =
  | { kind: "admin" }
  | { kind: "app"; name: string; version?: number }
  | { kind: "unknown"; host: string };

const LOOPBACK = new Set(["localhost", "127.0.0.1", "::1"]);
const PREVIEW = /^([a-z0-9-]+?)--v(\d{1,9})$/;

/** `Host` without port, brackets, trailing dot or case. */
export function hostname(header: string | null): string {
  let h = (header ?? "").trim().toLowerCase();
  if (h.startsWith("[")) h = h.slice(1, h.indexOf("]") > 0 ? h.indexOf("]") : undefined);
  else if (h.includes(":")) h = h.slice(0, h.lastIndexOf(":"));
  return h.replace(/\.$/, "");
}

function appLabel(label: string): HostTarget {
  const preview = PREVIEW.exec(label);
  if (preview) return { kind: "app", name: preview[1], version: Number(preview[2]) };
  return { kind: "app", name: label };
}

/**
 * `admin.<domain>` and loopback names are the admin host (so the CLI on the
 * node itself always reaches its API); `<domain>` and `root.<domain>` serve
 * the app `root`; `<app>.<domain>` and, for development, `<app>.localhost`
 * serve that app; `<app>--v<N>` is a preview of version N.
 */
export function classifyHost(header: string | null, domain: string): HostTarget {
  const host = hostname(header);
  if (LOOPBACK.has(host) || host === `admin.${domain}`) return { kind: "admin" };
  if (host === domain || host === `root.${domain}`) return { kind: "app", name: "root" };
  for (const base of [domain, "localhost"]) {
    if (host.endsWith(`.${base}`)) {
      const label = host.slice(0, -base.length - 1);
      if (label && !label.includes(".")) return appLabel(label);
    }
  }
  return { kind: "unknown", host };
}

/** The public URL of an app as the client reached this node (scheme and port kept). */
export function appUrl(
  name: string,
  reqUrl: URL,
  hostHeader: string | null,
  domain: string,
): string {
  const header = (hostHeader ?? "").trim();
  const port = /:(\d+)$/.exec(header)?.[1];
  const suffix = port ? `:${port}` : "";
  const host = name === "root" ? domain : `${name}.${domain}`;
  return `${reqUrl.protocol}//${host}${suffix}`;
}
