/**
 * Durations as owners write them in settings: a whole number and one unit,
 * `30s`, `15m`, `24h`, `7d`.
 * @module
 */

const UNIT_MS = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;

/** `<whole number><s|m|h|d>`, nothing else (no spaces, no fractions, no mixing). */
export const DURATION_PATTERN = /^(\d{1,9})([smhd])$/;

/** Milliseconds of `text` (`"24h"` → 86 400 000), or `undefined` when it is not a duration. */
export function parseDuration(text: string): number | undefined {
  const m = DURATION_PATTERN.exec(text.trim().toLowerCase());
  if (!m) return undefined;
  return Number(m[1]) * UNIT_MS[m[2] as keyof typeof UNIT_MS];
}

/** The shortest exact spelling of `ms` (`5_400_000` → `"90m"`). */
export function formatDuration(ms: number): string {
  for (const unit of ["d", "h", "m"] as const) {
    if (ms >= UNIT_MS[unit] && ms % UNIT_MS[unit] === 0) return `${ms / UNIT_MS[unit]}${unit}`;
  }
  return `${Math.round(ms / 1000)}s`;
}
