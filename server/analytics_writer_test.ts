import assert from "node:assert/strict";
import { Storage, StorageError } from "../storage/mod.ts";
import { analyticsEvent } from "../tests/analytics_event.ts";
import { InlineWriter, upkeep } from "./analytics_writer.ts";

Deno.test("upkeep that fails (a locked database) is reported as nothing done, never thrown", () => {
  const storage = Storage.open(":memory:");
  try {
    storage.analytics.prune = () => {
      throw new StorageError("BUSY", "the database is locked by another process: try again");
    };
    const done: [number, boolean][] = [];
    const writer = new InlineWriter(storage, {
      counted: () => {},
      maintained: (deleted, more) => done.push([deleted, more]),
    });
    writer.maintain({ before: Date.now(), keepDay: 0 });
    assert.deepEqual(done, [[0, false]]);
  } finally {
    storage.close();
  }
});

Deno.test("upkeep deletes old days' visitor rows in steps until none is left, keeping today's", () => {
  const storage = Storage.open(":memory:");
  try {
    const DAY = 86_400_000;
    const today = Math.floor(Date.now() / DAY) * DAY;
    const event = (at: number, visitor: string) => analyticsEvent({ at, visitor });
    storage.analytics.ingest([
      ...Array.from({ length: 2_500 }, (_, i) => event(today - 3 * DAY, `old-${i}`)),
      event(today + 1000, "today"),
    ]);
    const visitors = () =>
      storage.db.get<{ n: number }>("SELECT COUNT(*) AS n FROM analytics_visitors")!.n;
    assert.equal(visitors(), 2_501);
    let calls = 0;
    while (upkeep(storage, { before: 0, keepDay: today }).more) calls++;
    assert.ok(calls < 10);
    assert.equal(visitors(), 1);
  } finally {
    storage.close();
  }
});

Deno.test("upkeep rolls ended weeks and months up in steps until none is left", () => {
  const storage = Storage.open(":memory:");
  try {
    const months = [0, 1, 2, 3, 4, 5].map((m) => Date.UTC(2026, m, 1));
    storage.analytics.ingest(months.map((at) => analyticsEvent({ at: at + 3_600_000 })));
    let calls = 1;
    while (upkeep(storage, { before: 0, keepDay: 0 }).more) calls++;
    assert.ok(calls > 1, "a long history goes in steps");
    const rolled = storage.db.all<{ bucket: number }>(
      "SELECT bucket FROM analytics_month_counts WHERE app = '' ORDER BY bucket",
    ).map((r) => r.bucket);
    assert.deepEqual(rolled, months.slice(0, 5), "every month before June's event");
    assert.equal(upkeep(storage, { before: 0, keepDay: 0 }).more, false);
  } finally {
    storage.close();
  }
});
