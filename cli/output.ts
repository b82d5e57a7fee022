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
