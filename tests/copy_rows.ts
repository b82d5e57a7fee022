/** Copies table rows between test databases (an older schema filled from a fresh one). */
import type { Database } from "../storage/mod.ts";

/** Every row of each of `tables` in `from` that `keep` accepts, inserted into `to` as it is. */
export function copyRows(
  from: Database,
  to: Database,
  tables: readonly string[],
  keep: (row: Record<string, string | number>) => boolean = () => true,
): void {
  for (const table of tables) {
    for (const row of from.all<Record<string, string | number>>(`SELECT * FROM ${table}`)) {
      if (!keep(row)) continue;
      const cols = Object.keys(row);
      to.run(
        `INSERT INTO ${table} (${cols.join(", ")}) VALUES (${cols.map(() => "?").join(", ")})`,
        ...Object.values(row),
      );
    }
  }
}
