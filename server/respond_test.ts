import assert from "node:assert/strict";
import { SettingError, StorageError } from "../storage/mod.ts";
import { HttpError } from "./http_error.ts";
import { toErrorResponse } from "./respond.ts";

async function answer(err: unknown) {
  const logged: string[] = [];
  const res = toErrorResponse(err, (m) => logged.push(m));
  assert.equal(res.headers.get("content-type"), "application/json; charset=utf-8");
  assert.equal(res.headers.get("cache-control"), "no-store");
  return { status: res.status, headers: res.headers, body: await res.json(), logged };
}

Deno.test("toErrorResponse: storage refusals become HTTP errors in the store's words", async () => {
  const missing = await answer(new StorageError("NOT_FOUND", "the app no longer exists", "appId"));
  assert.equal(missing.status, 404);
  assert.deepEqual(missing.body, {
    error: { code: "NOT_FOUND", message: "the app no longer exists" },
  });

  const invalid = await answer(new StorageError("VALIDATION_FAILED", "cursor is bad", "cursor"));
  assert.equal(invalid.status, 400);
  assert.deepEqual(invalid.body.error, {
    code: "VALIDATION_FAILED",
    message: "cursor is bad",
    details: { field: "cursor", constraint: "storage_rule" },
  });

  const limit = await answer(new StorageError("LIMIT_EXCEEDED", "at most 8 sort fields", "sort"));
  assert.equal(limit.status, 400);
  assert.equal(limit.body.error.code, "VALIDATION_FAILED");
  assert.equal(limit.body.error.details.field, "sort");

  const conflict = await answer(new StorageError("CONFLICT", "a document has this id", "id"));
  assert.equal(conflict.status, 409);
  assert.deepEqual(conflict.body.error, {
    code: "CONFLICT",
    message: "a document has this id",
    details: { field: "id" },
  });

  const setting = await answer(new SettingError("port", "range", "port must be 0-65535"));
  assert.equal(setting.status, 400);
  assert.deepEqual(setting.body.error, {
    code: "VALIDATION_FAILED",
    message: "port must be 0-65535",
    details: { field: "port", constraint: "range" },
  });
  for (const a of [missing, invalid, limit, conflict, setting]) assert.deepEqual(a.logged, []);
});

Deno.test("toErrorResponse: a refusal with a reason answers with it (custom domains)", async () => {
  const taken = await answer(
    new StorageError("CONFLICT", "shop.example.com already serves the app 'shop'", "name", {
      reason: "DOMAIN_TAKEN",
      details: { app: "shop" },
    }),
  );
  assert.equal(taken.status, 409);
  assert.deepEqual(taken.body.error, {
    code: "DOMAIN_TAKEN",
    message: "shop.example.com already serves the app 'shop'",
    details: { field: "name", app: "shop" },
  });
  const full = await answer(
    new StorageError("LIMIT_EXCEEDED", "this node has 2 custom domains", "name", {
      reason: "DOMAIN_LIMIT",
      details: { max: 2 },
    }),
  );
  assert.equal(full.status, 409);
  assert.deepEqual(full.body.error, {
    code: "DOMAIN_LIMIT",
    message: "this node has 2 custom domains",
    details: { field: "name", max: 2 },
  });
  assert.deepEqual([...taken.logged, ...full.logged], []);
});

Deno.test("toErrorResponse: an HttpError keeps its details and headers", async () => {
  const a = await answer(
    new HttpError(429, "RATE_LIMITED", "Too many", {
      details: { retry_after_s: 60 },
      headers: { "retry-after": "60" },
    }),
  );
  assert.equal(a.status, 429);
  assert.equal(a.headers.get("retry-after"), "60");
  assert.deepEqual(a.body, {
    error: { code: "RATE_LIMITED", message: "Too many", details: { retry_after_s: 60 } },
  });
});

Deno.test("toErrorResponse: anything else is a logged 500 that says nothing", async () => {
  const a = await answer(new Error("SQLITE_ERROR: no such table: secrets at /home/x/data.db"));
  assert.equal(a.status, 500);
  assert.deepEqual(a.body, { error: { code: "INTERNAL_ERROR", message: "Internal server error" } });
  assert.equal(a.logged.length, 1);
  assert.match(a.logged[0], /no such table/);
});
