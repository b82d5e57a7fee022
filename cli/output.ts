/** Prints data as indented JSON, for `--json`. */
export function printJson(data: unknown): void {
  console.log(JSON.stringify(data, null, 2));
}

/** Prints rows as an aligned text table. */
export function printTable(
  headers: string[],
  rows: (string | number | null | undefined)[][],
): void {
  const cells = [headers, ...rows.map((r) => r.map((c) => (c == null ? "-" : String(c))))];
  const widths = headers.map((_, i) => Math.max(...cells.map((r) => r[i].length)));
  for (const row of cells) {
    console.log(row.map((c, i) => c.padEnd(widths[i])).join("  ").trimEnd());
  }
}

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ["KB", "MB", "GB", "TB"];
  let v = n;
  let u = -1;
  do {
    v /= 1024;
    u++;
  } while (v >= 1024 && u < units.length - 1);
  return `${v.toFixed(v < 10 ? 1 : 0)} ${units[u]}`;
}

export function formatTime(ms: number | null | undefined): string {
  return ms == null ? "-" : new Date(ms).toISOString().replace("T", " ").slice(0, 19);
}

// deno-lint-ignore no-control-regex -- control characters are what is escaped
const HIDDEN = /[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;

/**
 * Text shown on a terminal with its control characters made visible
 * (`\u001b`), so a name or a message from a node cannot move the cursor,
 * recolour the screen or rewrite what was printed; newlines and tabs stay.
 */
export function visible(text: string): string {
  return text.replace(HIDDEN, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
}

/** How a failure is printed: `error: message (CODE)` on stderr, or with `--json` the API's envelope on stdout. */
export function printError(
  err: { message: string; code: string; details?: Record<string, unknown> },
  json: boolean,
): void {
  if (json) {
    const error: Record<string, unknown> = { code: err.code, message: err.message };
    if (err.details) error.details = err.details;
    console.log(JSON.stringify({ error }, null, 2));
  } else {
    console.error(`error: ${visible(err.message)} (${visible(err.code)})`);
  }
}
