import assert from "node:assert/strict";
import { openDatabase, PeerStore } from "./mod.ts";

Deno.test("peers: the first is the default; default can move; removal", () => {
  const db = openDatabase(":memory:");
  const peers = new PeerStore(db);
  assert.equal(peers.getDefault(), undefined);
  peers.upsert("a", "http://a", "ta");
  peers.upsert("b", "http://b", "tb");
  assert.equal(peers.getDefault()?.name, "a");
  assert.ok(peers.setDefault("b"));
  assert.equal(peers.getDefault()?.name, "b");
  assert.equal(peers.list().filter((p) => p.is_default).length, 1);
  assert.equal(peers.setDefault("zzz"), false);
  peers.upsert("b", "http://b2", "tb2");
  assert.equal(peers.get("b")?.url, "http://b2");
  assert.ok(peers.remove("b"));
  assert.equal(peers.getDefault()?.name, "a", "the only peer left is used");
  db.close();
});
