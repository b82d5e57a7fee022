import assert from "node:assert/strict";
import { Storage } from "../storage/mod.ts";
import type { RouteContext, ServerContext } from "./context.ts";
import { HttpError } from "./http_error.ts";
import { findApp, intParam } from "./params.ts";

function context(
  query: string,
  params: Record<string, string> = {},
  storage?: Storage,
): RouteContext {
  const url = new URL(`http://localhost/api/x${query}`);
  return {
    req: new Request(url),
    url,
    params,
    server: { storage } as unknown as ServerContext,
  };
}

/** The refusal `fn` throws, as `[status, code, field, constraint, message]`. */
function refusal(fn: () => unknown): [number, string, unknown, unknown, string] {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof HttpError, String(err));
    return [err.status, err.code, err.details?.field, err.details?.constraint, err.message];
  }
  assert.fail("accepted");
}

Deno.test("intParam: absent gives the default, present must be a whole number in range", () => {
  const limit = { max: 1000, default: 100 };
  assert.equal(intParam(context(""), "limit", limit), 100);
  assert.equal(intParam(context(""), "limit", { max: 1000 }), undefined);
  assert.equal(intParam(context("?limit=1"), "limit", limit), 1);
  assert.equal(intParam(context("?limit=1000"), "limit", limit), 1000);
  for (const bad of ["0", "1001", "-1", "1.5", "abc", "", "Infinity"]) {
    assert.deepEqual(
      refusal(() => intParam(context(`?limit=${bad}`), "limit", limit)),
      [400, "VALIDATION_FAILED", "limit", "range", "limit must be a whole number from 1 to 1000"],
      bad,
    );
  }
});

Deno.test("intParam: the message says what the number is", () => {
  assert.deepEqual(
    refusal(() => intParam(context("?version=0"), "version")),
    [
      400,
      "VALIDATION_FAILED",
      "version",
      "positive_integer",
      "version must be a positive whole number",
    ],
  );
  assert.equal(
    intParam(context("?after=0"), "after", { min: 0, message: "after must be a log id" }),
    0,
  );
  assert.deepEqual(
    refusal(() =>
      intParam(context("?after=-1"), "after", { min: 0, message: "after must be a log id" })
    ),
    [400, "VALIDATION_FAILED", "after", "range", "after must be a log id"],
  );
  assert.deepEqual(
    refusal(() => intParam(context("?n=1"), "n", { min: 2 })),
    [400, "VALIDATION_FAILED", "n", "range", "n must be a whole number of at least 2"],
  );
});

Deno.test("intParam: a parameter the route captures wins over the query", () => {
  assert.equal(intParam(context("?id=9", { id: "7" }), "id"), 7);
  assert.deepEqual(
    refusal(() => intParam(context("?id=9", { id: "x" }), "id")),
    [400, "VALIDATION_FAILED", "id", "positive_integer", "id must be a positive whole number"],
  );
});

Deno.test("findApp: the app of :name, or 404 APP_NOT_FOUND", () => {
  const storage = Storage.open(":memory:");
  try {
    storage.apps.createVersion("blog", [], { keep: 5 });
    assert.equal(findApp(context("", { name: "blog" }, storage)).name, "blog");
    assert.deepEqual(
      refusal(() => findApp(context("", { name: "ghost" }, storage))),
      [404, "APP_NOT_FOUND", undefined, undefined, "App 'ghost' not found"],
    );
    // A name that could never be an app is not shown back (terminal escapes, say).
    for (const name of ["\x1b[2J\x1b[31mgotcha", "Bad Name", "a--b", "x".repeat(64)]) {
      assert.deepEqual(
        refusal(() => findApp(context("", { name }, storage))),
        [404, "APP_NOT_FOUND", undefined, undefined, "No app by that name"],
        name,
      );
    }
  } finally {
    storage.close();
  }
});
