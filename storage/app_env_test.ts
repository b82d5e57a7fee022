import assert from "node:assert/strict";
import { AppStore, EnvStore, openDatabase } from "./mod.ts";
import { refused } from "./testing.ts";

function setup() {
  const db = openDatabase(":memory:");
  const apps = new AppStore(db);
  const a = apps.createVersion("alpha", [], { keep: 10 }).app.id;
  const b = apps.createVersion("beta", [], { keep: 10 }).app.id;
  let now = 100;
  const env = new EnvStore(db, { now: () => now++ });
  return { db, apps, env, a, b };
}

Deno.test("env: set, list names only, values, overwrite and delete", () => {
  const { db, env, a } = setup();
  env.set(a, "API_KEY", "s3cret");
  env.set(a, "A1", "");
  assert.deepEqual(env.list(a), [{ name: "A1", updated_at: 101 }, {
    name: "API_KEY",
    updated_at: 100,
  }]);
  assert.ok(!JSON.stringify(env.list(a)).includes("s3cret"));
  assert.deepEqual(env.values(a), { A1: "", API_KEY: "s3cret" });
  env.set(a, "API_KEY", "rotated");
  assert.equal(env.values(a).API_KEY, "rotated");
  assert.equal(env.list(a)[1].updated_at, 102);
  assert.equal(env.delete(a, "API_KEY"), true);
  assert.equal(env.delete(a, "API_KEY"), false);
  assert.deepEqual(env.values(a), { A1: "" });
  db.close();
});

Deno.test("env: refusals change nothing", () => {
  const { db, env, a } = setup();
  env.set(a, "KEEP", "v");
  for (const name of ["", "lower", "1ABC", "_X", "A-B", "A B", "A".repeat(129), "__PROTO__x"]) {
    refused(() => env.set(a, name, "x"), "VALIDATION_FAILED", "name");
  }
  refused(() => env.set(a, "KEEP", "x".repeat(64 * 1024 + 1)), "LIMIT_EXCEEDED", "value");
  refused(() => env.set(a, "KEEP", "é".repeat(32 * 1024 + 1)), "LIMIT_EXCEEDED", "value");
  refused(() => env.set(a, "KEEP", 5 as unknown as string), "VALIDATION_FAILED", "value");
  refused(() => env.set(999, "KEEP", "x"), "NOT_FOUND", "appId");
  refused(() => env.delete(a, "bad name"), "VALIDATION_FAILED", "name");
  assert.deepEqual(env.values(a), { KEEP: "v" });
  env.set(a, "A".repeat(128), "x".repeat(64 * 1024));
  assert.equal(env.list(a).length, 2);
  db.close();
});

Deno.test("env: injection-looking values are stored literally", () => {
  const { db, env, a } = setup();
  const evil = "'); DROP TABLE app_env; --";
  env.set(a, "EVIL", evil);
  assert.equal(env.values(a).EVIL, evil);
  db.close();
});

Deno.test("env: apps are isolated and deleting an app deletes its secrets", () => {
  const { db, apps, env, a, b } = setup();
  env.set(a, "TOKEN", "for a");
  env.set(b, "TOKEN", "for b");
  env.set(a, "ONLY_A", "x");
  assert.deepEqual(env.values(b), { TOKEN: "for b" });
  assert.deepEqual(env.list(b).map((e) => e.name), ["TOKEN"]);
  assert.equal(env.delete(b, "ONLY_A"), false);
  assert.equal(env.values(a).ONLY_A, "x");
  assert.ok(apps.delete("alpha"));
  assert.equal(db.get<{ n: number }>("SELECT COUNT(*) AS n FROM app_env")!.n, 1);
  db.close();
});
