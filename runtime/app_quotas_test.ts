import assert from "node:assert/strict";
import { Storage } from "../storage/mod.ts";
import { AppQuotas } from "./app_quotas.ts";

function setup() {
  const storage = Storage.open(":memory:");
  const settings = storage.settings.load({ app_max_rps: 2, app_max_storage_bytes: 5000 });
  const id = storage.apps.createVersion("a", [], { keep: 1 }).app.id;
  let now = 0;
  const quotas = new AppQuotas(storage, settings, () => now);
  return { storage, quotas, id, tick: (ms: number) => (now += ms) };
}

Deno.test("the request rate: a bucket per app, refilled over time, Retry-After in seconds", () => {
  const { storage, quotas, id, tick } = setup();
  try {
    // Burst 0 is one second's worth.
    assert.deepEqual([quotas.takeRequest(id), quotas.takeRequest(id)], [0, 0]);
    assert.equal(quotas.takeRequest(id), 1);
    tick(500);
    assert.equal(quotas.takeRequest(id), 0);
    assert.equal(quotas.takeRequest(id), 1);
    storage.limits.set(id, { max_rps: 1, max_burst: 3 });
    // Read once and kept until told.
    assert.equal(quotas.limits(id).max_rps, 2);
    quotas.changed(id);
    assert.deepEqual(quotas.limits(id), {
      max_storage_bytes: 5000,
      max_rps: 1,
      max_burst: 3,
      max_concurrent: 0,
      max_websockets: 1000,
    });
    assert.deepEqual([0, 1, 2, 3].map(() => quotas.takeRequest(id)), [0, 0, 0, 1]);
    storage.limits.set(id, { max_rps: 0 });
    quotas.changed(id);
    for (let i = 0; i < 100; i++) assert.equal(quotas.takeRequest(id), 0);
    assert.equal(quotas.maxWebSockets(id), 1000);
  } finally {
    storage.close();
  }
});
