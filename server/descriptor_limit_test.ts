import assert from "node:assert/strict";
import { connectionCap, descriptorLimit, descriptorReserve } from "./descriptor_limit.ts";

Deno.test("the connection cap leaves a reserve below the descriptor limit", () => {
  assert.equal(connectionCap(4096, undefined), 4096);
  assert.equal(connectionCap(4096, 65536), 4096);
  assert.equal(connectionCap(4096, 1024), 768);
  assert.equal(connectionCap(4096, 256), 192);
  assert.equal(connectionCap(4096, 20), 16);
  assert.equal(descriptorReserve(100_000), 256);
});

Deno.test("this process's descriptor limit can be read", async () => {
  const limit = await descriptorLimit();
  assert.ok(limit !== undefined && limit >= 64, `limit ${limit}`);
});
