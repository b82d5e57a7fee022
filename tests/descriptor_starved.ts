/**
 * Everything the node starts a Worker for while it serves, run in a
 * process that has almost no file descriptors left (descriptors_test.ts
 * runs it under a small limit), then again once they are free. Deno panics
 * when a Worker's thread finds none, so each must do without the thread.
 *   deno run -A descriptor_starved.ts DIR
 * Prints one JSON line per round: `{"starved": {...}}`, `{"free": {...}}`.
 */
import { Checkpointer, snapshotDatabase, Storage } from "../storage/mod.ts";
import { capturedView } from "./analytics_event.ts";
import { InlineWriter, WorkerWriter } from "../server/analytics_writer.ts";
import { Compressor } from "../server/compress.ts";

const dir = Deno.args[0];
const storage = Storage.open(`${dir}/fazt.db`);
const counted: unknown[] = [];
const events = { counted: (r: unknown) => counted.push(r), maintained: () => {} };
const writer = new WorkerWriter(
  storage.db.path,
  events,
  new InlineWriter(storage, events),
  () => {},
);
const compressor = new Compressor(1);
const checkpointer = new Checkpointer(storage.db, { commitsPerSecond: 5 });
storage.db.exec("CREATE TABLE IF NOT EXISTS t (x)");

async function round(name: string) {
  writer.write(capturedView(`/${name}`));
  const thread = writer.running;
  await writer.sync();
  const compressed = await compressor.compress(new TextEncoder().encode("fazt ".repeat(20_000)))
    .then((v) => Object.keys(v).sort().join(","), (err) => `refused: ${err.message}`);
  for (let i = 0; i < 10; i++) storage.db.run("INSERT INTO t VALUES (?)", i);
  const checkpoints = checkpointer.active ? "thread" : "connection";
  const snapshot = await snapshotDatabase(storage.db.path, `${dir}/${name}.db`)
    .then(() => "taken", (err) => `refused: ${err.message}`);
  const stored = storage.analytics.events(null, 0, 1e13).map((e) => e.path).sort();
  return { thread, stored, compressed, checkpoints, snapshot };
}

const files: Deno.FsFile[] = [];
try {
  for (;;) files.push(Deno.openSync("/dev/null"));
} catch {
  // Every descriptor is taken.
}
// A few left: fewer than a Worker's thread needs (6), enough for SQLite.
for (let i = 0; i < 4; i++) files.pop()?.close();
console.log(JSON.stringify({ starved: await round("starved") }));
for (const f of files) f.close();
console.log(JSON.stringify({ free: await round("free") }));
await writer.close();
await checkpointer.close();
compressor.close();
storage.close();
