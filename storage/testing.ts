import assert from "node:assert/strict";
import { StorageError } from "./storage_error.ts";

/** Asserts that `fn` throws a `StorageError` with this code (and field). */
export function refused(fn: () => unknown, code: string, field?: string): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof StorageError, String(err));
    assert.equal(err.code, code);
    if (field !== undefined) assert.equal(err.field, field);
    return true;
  });
}
