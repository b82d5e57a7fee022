import assert from "node:assert/strict";
import { Storage, StorageError } from "../storage/mod.ts";
import { analyticsEvent, capturedView } from "../tests/analytics_event.ts";
import { type ChunkResult, InlineWriter, upkeep, WorkerWriter } from "./analytics_writer.ts";
import { waitFor } from "../tests/deadline.ts";

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

Deno.test("the writer thread starts with the first events; upkeep before them runs inline", async () => {
  const dir = await Deno.makeTempDir();
  const storage = Storage.open(`${dir}/fazt.db`);
  try {
    const results: ChunkResult[] = [];
    const upkeeps: boolean[] = [];
    const events = {
      counted: (r: ChunkResult) => results.push(r),
      maintained: (_: number, more: boolean) => upkeeps.push(more),
    };
    const writer = new WorkerWriter(
      storage.db.path,
      events,
      new InlineWriter(storage, events),
      () => {},
    );
    // No thread yet: upkeep is answered at once, on this thread.
    writer.maintain({ before: 0, keepDay: 0 });
    assert.deepEqual(upkeeps, [false]);
    await writer.sync(); // nothing to wait for
    writer.write(capturedView("/"));
    assert.equal(writer.pending, 1);
    await writer.sync();
    assert.deepEqual(results, [{ recorded: 1, overCap: 0 }]);
    assert.equal(writer.pending, 0);
    await writer.close();
    assert.equal(storage.analytics.events(null, 0, 1e13).length, 1, "written by the thread");
  } finally {
    storage.close();
    await Deno.remove(dir, { recursive: true });
  }
});

/** A view of `path` on `blog`, captured now, as the serving thread hands it over. */
async function withThreadWriter(
  idleMs: number,
  fn: (
    writer: WorkerWriter,
    storage: Storage,
    results: ChunkResult[],
    stopped: () => number,
  ) => Promise<void>,
) {
  const dir = await Deno.makeTempDir();
  const storage = Storage.open(`${dir}/fazt.db`);
  const results: ChunkResult[] = [];
  let stops = 0;
  const events = { counted: (r: ChunkResult) => results.push(r), maintained: () => {} };
  const writer = new WorkerWriter(
    storage.db.path,
    events,
    new InlineWriter(storage, events),
    () => {},
    { idleMs, onStopped: () => stops++ },
  );
  try {
    await fn(writer, storage, results, () => stops);
  } finally {
    await writer.close();
    storage.close();
    await Deno.remove(dir, { recursive: true });
  }
}

const paths = (storage: Storage) =>
  storage.analytics.events(null, 0, 1e13).map((e) => e.path).sort();

Deno.test("the writer thread stops when idle and starts again with the next events", async () => {
  await withThreadWriter(1, async (writer, storage, results, stopped) => {
    writer.write(capturedView("/one"));
    assert.equal(writer.running, true);
    await waitFor(() => !writer.running, "the idle thread stopped");
    await waitFor(() => stopped() === 1, "told once the thread has ended");
    assert.deepEqual(paths(storage), ["/one"], "written before it stopped");
    writer.write(capturedView("/two"));
    assert.equal(writer.running, true, "the next events start it again");
    assert.equal(writer.starts, 2);
    await waitFor(() => writer.pending === 0, "the second event written");
    assert.deepEqual(paths(storage), ["/one", "/two"]);
    assert.deepEqual(results, [{ recorded: 1, overCap: 0 }, { recorded: 1, overCap: 0 }]);
  });
});

Deno.test("events handed over while the idle thread closes go to a new one, none lost", async () => {
  await withThreadWriter(3_600_000, async (writer, storage, results) => {
    writer.write(capturedView("/a"));
    await writer.sync();
    assert.equal(writer.pending, 0);
    assert.equal(writer.stopIfIdle(), true);
    assert.equal(writer.running, false);
    // In the same turn, before the old thread has closed its connection.
    writer.write(capturedView("/b", false));
    writer.write(capturedView("/c"));
    assert.equal(writer.running, true);
    assert.equal(writer.starts, 2);
    await writer.sync();
    assert.equal(writer.pending, 0);
    assert.deepEqual(paths(storage), ["/a", "/b", "/c"]);
    assert.equal(results.reduce((n, r) => n + r.recorded, 0), 3);
    assert.ok(results.every((r) => r.error === undefined));
  });
});

Deno.test("a writer thread with events not yet written, or a sync waiting, is not stopped", async () => {
  await withThreadWriter(3_600_000, async (writer, storage) => {
    writer.write(capturedView("/counted", false)); // counted, not yet written
    const synced = writer.sync();
    assert.equal(writer.stopIfIdle(), false, "a chunk and a sync outstanding");
    await synced;
    assert.equal(writer.pending, 1, "counted, waiting for the batch's write");
    assert.equal(writer.stopIfIdle(), false, "its batch is not written yet");
    assert.equal(writer.running, true);
    writer.write(capturedView("/written"));
    await writer.sync();
    assert.equal(writer.stopIfIdle(), true, "all written: it may stop");
    await writer.close();
    assert.deepEqual(paths(storage), ["/counted", "/written"]);
  });
});
