/**
 * The analytics writer thread: its own connection to the database file,
 * writing batches (events and rollups, one transaction each) and pruning,
 * strictly in the order they were sent.
 * @module
 */
import { parentPort } from "node:worker_threads";
import { Storage } from "../storage/mod.ts";
import { AnalyticsCounter, type Captured } from "./analytics_counter.ts";
import { countAndWrite, errorText, type Upkeep, upkeep } from "./analytics_writer.ts";

type Message =
  | { type: "open"; path: string }
  | { type: "chunk"; chunk: Captured }
  | { type: "maintain"; upkeep: Upkeep }
  | { type: "sync"; id: number }
  | { type: "close" };

const port = parentPort!;
let storage: Storage | undefined;
let counter: AnalyticsCounter | undefined;
let broken = "";
/** Events of chunks counted since the last written batch. */
let waiting = 0;

const reply = (m: unknown) => port.postMessage(m);

port.on("message", (m: Message) => {
  switch (m.type) {
    case "open":
      try {
        storage = Storage.open(m.path);
        counter = new AnalyticsCounter(storage);
      } catch (err) {
        broken = errorText(err);
      }
      break;
    case "chunk": {
      const { chunk } = m;
      const result = storage && counter
        ? countAndWrite(storage, counter, chunk)
        : { recorded: chunk.count, overCap: 0, error: `cannot open the database: ${broken}` };
      // Only a written batch (or a failure) settles the chunks before it.
      waiting += chunk.count;
      if (result) {
        reply({ type: "counted", count: waiting, result });
        waiting = 0;
      }
      break;
    }
    case "maintain":
      try {
        const r = storage ? upkeep(storage, m.upkeep) : { deleted: 0, more: false };
        reply({ type: "maintained", ...r });
      } catch {
        reply({ type: "maintained", deleted: 0, more: false });
      }
      break;
    case "sync":
      reply({ type: "synced", id: m.id });
      break;
    case "close":
      storage?.close();
      storage = undefined;
      // The parent ends the thread once it has this answer.
      reply({ type: "closed" });
      break;
  }
});
