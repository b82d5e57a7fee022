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

Deno.test("settings: backup interval, kept count and folder are checked", () => {
  const db = openDatabase(":memory:");
  const settings = new SettingsStore(db);
  const loaded = settings.load();
  assert.equal(loaded.backup_interval, "off", "no scheduled backups until asked for");
  assert.equal(loaded.backup_keep, 7);
  assert.equal(loaded.backup_dir, "auto");
  settings.set("backup_interval", "24H");
  settings.set("backup_dir", "/var/lib/Fazt/Backups");
  assert.equal(settings.load().backup_interval, "24h");
  assert.equal(settings.load().backup_dir, "/var/lib/Fazt/Backups", "a path keeps its case");
  for (const [key, value] of [["backup_interval", "1s"], ["backup_interval", "366d"]]) {
    settings.set(key, value);
  }
  for (
    const [key, value] of [
      ["backup_interval", "0s"],
      ["backup_interval", "367d"],
      ["backup_interval", "1.5h"],
      ["backup_interval", "daily"],
      ["backup_keep", "0"],
      ["backup_keep", "1001"],
      ["backup_dir", "backups"],
      ["backup_dir", "./backups"],
    ]
  ) {
    assert.throws(() => settings.set(key, value), SettingError, `${key}=${value}`);
  }
  assert.equal(settings.load().backup_interval, "366d");
  assert.equal(settings.load().backup_dir, "/var/lib/Fazt/Backups");
  db.close();
});
