/**
 * Analytics in SQLite, written by `AnalyticsIngest` and read by
 * `AnalyticsQuery`; `AnalyticsStore` is both, as `Storage.analytics`.
 * @module
 */
import type { Database } from "./database.ts";
import { AnalyticsIngest } from "./analytics_ingest.ts";
import type { AnalyticsEvent, PackedBatch } from "./analytics_model.ts";
import { AnalyticsQuery } from "./analytics_query.ts";

export * from "./analytics_model.ts";
export { AnalyticsIngest } from "./analytics_ingest.ts";
export { AnalyticsQuery, type AppFilter } from "./analytics_query.ts";

/** The read side, plus the write side's entry points. */
export class AnalyticsStore extends AnalyticsQuery {
  #ingest: AnalyticsIngest;

  constructor(db: Database) {
    super(db);
    this.#ingest = new AnalyticsIngest(db);
  }

  /** See `AnalyticsIngest.ingest`. */
  ingest(events: readonly AnalyticsEvent[]): void {
    this.#ingest.ingest(events);
  }

  /** See `AnalyticsIngest.ingestPacked`. */
  ingestPacked(batch: PackedBatch): void {
    this.#ingest.ingestPacked(batch);
  }

  /** See `AnalyticsIngest.salt`. */
  salt(day: number, make: () => string): string {
    return this.#ingest.salt(day, make);
  }

  /** See `AnalyticsIngest.prune`. */
  prune(before: number, max?: number): number {
    return this.#ingest.prune(before, max);
  }

  /** See `AnalyticsIngest.pruneVisitors`. */
  pruneVisitors(keepDay: number, max?: number): number {
    return this.#ingest.pruneVisitors(keepDay, max);
  }

  /** See `AnalyticsIngest.rollWeeks`. */
  rollWeeks(now?: number, max?: number): boolean {
    return this.#ingest.rollWeeks(now, max);
  }

  /** See `AnalyticsIngest.rollMonths`. */
  rollMonths(now?: number, max?: number): boolean {
    return this.#ingest.rollMonths(now, max);
  }
}
