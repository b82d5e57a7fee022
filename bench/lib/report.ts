/** Tables and target checks, for the terminal. */
import type { Table, TargetCheck } from "./types.ts";

export function fmt(x: number, digits = 0): string {
  if (!Number.isFinite(x)) return "-";
  return x.toLocaleString("en-US", {
    minimumFractionDigits: digits,
    maximumFractionDigits: digits,
  });
}

export function fmtRatio(x: number): string {
  return Number.isFinite(x) ? `${x.toFixed(2)}x` : "-";
}

export function renderTable(t: Table): string {
  const cells = [t.columns, ...t.rows.map((r) => r.map(String))];
  const widths = t.columns.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? "").length)));
  const line = (r: string[]) =>
    r.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join("  ");
  return [
    t.title,
    line(t.columns),
    widths.map((w) => "-".repeat(w)).join("  "),
    ...cells.slice(1).map(line),
  ].join("\n");
}

/** `actual >= min` (or `<= max`), as a check; `pass` is null when `actual` is not a number. */
export function atLeast(name: string, actual: number, min: number, unit = "x"): TargetCheck {
  return check(name, actual, `>= ${min}${unit}`, actual >= min, unit);
}

export function atMost(name: string, actual: number, max: number, unit = "x"): TargetCheck {
  return check(name, actual, `<= ${max}${unit}`, actual <= max, unit);
}

function check(
  name: string,
  actual: number,
  target: string,
  ok: boolean,
  unit: string,
): TargetCheck {
  const measured = Number.isFinite(actual);
  const digits = unit === "x" ? 2 : unit === " MB/s" ? 1 : 0;
  return {
    name,
    target,
    actual: measured ? `${actual.toFixed(digits)}${unit}` : "not measured",
    pass: measured ? ok : null,
  };
}

export function renderTargets(checks: TargetCheck[]): string {
  const rows = checks.map((c) => [
    c.pass === null ? "N/A" : c.pass ? "PASS" : "MISS",
    c.name,
    c.target,
    c.actual,
    c.note ?? "",
  ]);
  return renderTable({
    title: "Targets",
    columns: ["", "target", "wanted", "measured", "note"],
    rows,
  });
}
