import assert from "node:assert/strict";
import { openDatabase, SettingError, SettingsStore } from "./mod.ts";

Deno.test("settings: defaults, stored values, one-run overrides", () => {
  const db = openDatabase(":memory:");
  const settings = new SettingsStore(db);
  assert.equal(settings.load().port, 4698);
  assert.equal(settings.load().domain, "localhost");
  settings.set("port", "8080");
  settings.set("domain", "Example.COM");
  assert.equal(settings.load().port, 8080);
  assert.equal(settings.load().domain, "example.com");
  assert.equal(settings.load({ port: "9000" }).port, 9000);
  assert.equal(settings.load().port, 8080, "an override is not stored");
  db.close();
});

Deno.test("settings: bad values are refused and change nothing", () => {
  const db = openDatabase(":memory:");
  const settings = new SettingsStore(db);
  for (
    const [key, value] of [
      ["port", "70000"],
      ["port", "abc"],
      ["max_versions", "0"],
      ["nope", "1"],
      ["domain", " "],
    ]
  ) {
    assert.throws(() => settings.set(key, value), SettingError, `${key}=${value}`);
  }
  assert.throws(() => settings.load({ port: -1 }), SettingError);
  assert.equal(settings.load().port, 4698);
  db.close();
});
