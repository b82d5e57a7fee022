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

Deno.test("settings: HTTPS and ACME", () => {
  const db = openDatabase(":memory:");
  const settings = new SettingsStore(db);
  const d = settings.load();
  assert.equal(d.https, 0, "off until asked for");
  assert.equal(d.http_port, 80);
  assert.equal(d.https_port, 443);
  assert.equal(d.acme_directory, "https://acme-v02.api.letsencrypt.org/directory");
  assert.equal(d.acme_email, "none");
  assert.equal(d.acme_ca_file, "none");
  settings.set("acme_directory", "https://127.0.0.1:14000/Dir");
  settings.set("acme_email", "Owner@Example.com");
  settings.set("acme_ca_file", "/etc/fazt/CA.pem");
  const s = settings.load();
  assert.equal(s.acme_directory, "https://127.0.0.1:14000/Dir", "URLs keep their case");
  assert.equal(s.acme_email, "Owner@Example.com");
  assert.equal(s.acme_ca_file, "/etc/fazt/CA.pem");
  for (
    const [key, value] of [
      ["https", "2"],
      ["http_port", "65536"],
      ["https_port", "-1"],
      ["acme_directory", "http://acme.example/dir"],
      ["acme_directory", "acme.example/dir"],
      ["acme_directory", "https://"],
      ["acme_email", "not-an-address"],
      ["acme_email", "a b@example.com"],
      ["acme_ca_file", "relative/ca.pem"],
      ["max_custom_domains", "-1"],
    ]
  ) {
    assert.throws(() => settings.set(key, value), SettingError, `${key}=${value}`);
  }
  assert.equal(settings.load().acme_email, "Owner@Example.com", "a refused value changes nothing");
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
