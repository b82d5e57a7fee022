/**
 * The analytics writer thread: its own connection to the database file,
 * writing batches (events and rollups, one transaction each) and pruning,
 * strictly in the order they were sent.
 * @module
 */
import { type PackedBatch, Storage } from "../storage/mod.ts";
import { type Upkeep, upkeep } from "./analytics_writer.ts";

type Message =
  | { type: "open"; path: string }
  | { type: "batch"; count: number; events: PackedBatch }
  | { type: "maintain"; upkeep: Upkeep }
  | { type: "sync"; id: number }
  | { type: "close" };

// deno-lint-ignore no-explicit-any -- the Worker global scope
const scope = self as any;
let storage: Storage | undefined;
let broken = "";

const reply = (m: unknown) => scope.postMessage(m);
const text = (err: unknown) => (err instanceof Error ? err.message : String(err));

scope.onmessage = (e: MessageEvent<Message>) => {
  const m = e.data;
  switch (m.type) {
    case "open":
      try {
        storage = Storage.open(m.path);
      } catch (err) {
        broken = text(err);
      }
      break;
    case "batch":
      try {
        if (!storage) throw new Error(`cannot open the database: ${broken}`);
        storage.analytics.ingestPacked(m.events);
        reply({ type: "written", count: m.count });
      } catch (err) {
        reply({ type: "failed", count: m.count, message: text(err) });
      }
      break;
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
      reply({ type: "closed" });
      scope.close();
      break;
  }
};
