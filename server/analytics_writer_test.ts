import assert from "node:assert/strict";
import { Storage, StorageError } from "../storage/mod.ts";
import { InlineWriter } from "./analytics_writer.ts";

Deno.test("upkeep that fails (a locked database) is reported as nothing done, never thrown", () => {
  const storage = Storage.open(":memory:");
  try {
    storage.analytics.prune = () => {
      throw new StorageError("BUSY", "the database is locked by another process: try again");
    };
    const done: [number, boolean][] = [];
    const writer = new InlineWriter(storage, {
      written: () => {},
      lost: () => {},
      maintained: (deleted, more) => done.push([deleted, more]),
    });
    writer.maintain({ before: Date.now(), keepDay: 0 });
    assert.deepEqual(done, [[0, false]]);
  } finally {
    storage.close();
  }
});
