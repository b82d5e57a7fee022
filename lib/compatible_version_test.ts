import assert from "node:assert/strict";
import { compareVersions, isCompatibleVersion, majorMinor } from "./compatible_version.ts";

Deno.test("versions are compatible when major.minor match", () => {
  assert.ok(isCompatibleVersion("0.1.0", "0.1.0"));
  assert.ok(isCompatibleVersion("0.1.0", "0.1.9"));
  assert.ok(isCompatibleVersion("v1.4.2", "1.4.0-rc.1"));
  assert.ok(!isCompatibleVersion("0.1.0", "0.2.0"));
  assert.ok(!isCompatibleVersion("1.1.0", "0.1.0"));
  assert.ok(!isCompatibleVersion("0.1.0", "nonsense"));
  assert.ok(!isCompatibleVersion("", ""));
  assert.equal(majorMinor("10.20.30"), "10.20");
  assert.equal(majorMinor("1.2"), "1.2");
  assert.equal(majorMinor("1"), undefined);
});

Deno.test("versions order by major, minor, patch, a pre-release before its release", () => {
  assert.equal(compareVersions("0.1.0", "0.1.0"), 0);
  assert.equal(compareVersions("0.1.1", "0.1.0"), 1);
  assert.equal(compareVersions("0.1.10", "0.1.9"), 1);
  assert.equal(compareVersions("0.2.0", "0.10.0"), -1);
  assert.equal(compareVersions("1.0.0", "0.99.99"), 1);
  assert.equal(compareVersions("1.0.0-rc.1", "1.0.0"), -1);
  assert.equal(compareVersions("v1.2.3", "1.2.3"), 0);
  assert.equal(compareVersions("nonsense", "0.0.1"), -1);
});
