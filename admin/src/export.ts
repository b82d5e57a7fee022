/** What the dashboard lets the owner take away: rows as JSON or CSV, saved as a file. */

/** A cell as text: strings as they are, everything else as JSON. */
function cellText(value: unknown): string {
  if (value === undefined || value === null) return "";
  return typeof value === "string" ? value : JSON.stringify(value);
}

/**
 * One CSV field (RFC 4180). Text a spreadsheet would run as a formula
 * (`=`, `+`, `-`, `@`, tab, CR at the start) gets a leading `'`, so opening
 * an export of the app's users' data runs nothing of theirs.
 */
function field(value: unknown): string {
  let s = cellText(value);
  if (/^[=+\-@\t\r]/.test(s) && !/^-?\d+(\.\d+)?$/.test(s)) s = "'" + s;
  return /[",\r\n]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s;
}

/** The columns of `rows`: every top-level key, in the order first seen. */
export function columnsOf(rows: Record<string, unknown>[]): string[] {
  const seen = new Set<string>();
  for (const r of rows) for (const k of Object.keys(r)) seen.add(k);
  return [...seen];
}

/** Rows as CSV with a header line; nested values as JSON text. */
export function toCsv(rows: Record<string, unknown>[], columns = columnsOf(rows)): string {
  const lines = [columns.map(field).join(",")];
  for (const r of rows) lines.push(columns.map((c) => field(r[c])).join(","));
  return lines.join("\r\n") + "\r\n";
}

/** Saves `text` as a file named `name` through the browser's download. */
export function download(name: string, text: string, type: string): void {
  const url = URL.createObjectURL(new Blob([text], { type }));
  const a = document.createElement("a");
  a.href = url;
  a.download = name;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

/** Saves rows as `<base>.json` or `<base>.csv`. */
export function exportRows(
  base: string,
  format: "json" | "csv",
  rows: Record<string, unknown>[],
): void {
  if (format === "json") {
    download(`${base}.json`, JSON.stringify(rows, null, 2) + "\n", "application/json");
  } else download(`${base}.csv`, toCsv(rows), "text/csv");
}
