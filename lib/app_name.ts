/**
 * Names that can never be apps: hosts fazt itself answers on, infrastructure
 * names people expect to point elsewhere, and (below) anything with `--`,
 * which preview hosts use as a separator (`blog--v3`).
 */
export const RESERVED_APP_NAMES: readonly string[] = [
  "admin",
  "api",
  "www",
  "mail",
  "ftp",
  "smtp",
  "pop",
  "imap",
  "ns1",
  "ns2",
  "localhost",
  "fazt",
  "mcp",
  "static",
  "cdn",
];

const NAME_RE = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;

/**
 * The rule as one regular expression, reserved names aside: for schemas
 * (MCP tools' JSON Schema `pattern`) and checks that must refuse `.`, `..`,
 * slashes and escapes before a name becomes part of a URL path.
 */
export const APP_NAME_PATTERN: RegExp = /^(?!.*--)[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;

/** Why `name` cannot be an app name, as a short constraint word; `undefined` if it can. */
export function appNameProblem(name: string): string | undefined {
  if (!name) return "required";
  if (name.length > 63) return "max_length";
  if (!NAME_RE.test(name)) return "pattern";
  if (name.includes("--")) return "no_double_hyphen";
  if (RESERVED_APP_NAMES.includes(name)) return "reserved";
  return undefined;
}

export const APP_NAME_RULE =
  "lower-case letters, digits and hyphens, 1-63 characters, starting and ending with a letter or digit, no '--', not reserved";

/** A folder or file name turned into the app name it suggests (`My Site` → `my-site`). */
export function suggestAppName(basename: string): string {
  return basename
    .replace(/\.zip$/i, "")
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, "-")
    .replace(/-{2,}/g, "-")
    .replace(/^-+|-+$/g, "")
    .slice(0, 63)
    .replace(/-+$/, "");
}
