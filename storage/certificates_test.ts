import assert from "node:assert/strict";
import { type CertificateRecord, Storage } from "./mod.ts";

const cert = (name: string, over: Partial<CertificateRecord> = {}): CertificateRecord => ({
  name,
  cert_pem: `-----BEGIN CERTIFICATE-----\n${name}\n-----END CERTIFICATE-----\n`,
  key_pem: `-----BEGIN PRIVATE KEY-----\nsecret-${name}\n-----END PRIVATE KEY-----\n`,
  issuer: "Test CA",
  serial: "01",
  not_before: 1000,
  not_after: 5000,
  directory: "https://ca.example/dir",
  issued_at: 1000,
  ...over,
});

Deno.test("certificates: stored per name, replaced on renewal, listed without keys", () => {
  const storage = Storage.open(":memory:");
  try {
    const c = storage.certificates;
    c.put(cert("b.example"));
    c.put(cert("a.example"));
    c.put(cert("a.example", { serial: "02", not_after: 9000, key_pem: "new-key" }));
    const list = c.list();
    assert.deepEqual(list.map((x) => [x.name, x.serial, x.not_after]), [
      ["a.example", "02", 9000],
      ["b.example", "01", 5000],
    ]);
    assert.ok(!JSON.stringify(list).includes("secret"), "no key in the listing");
    assert.ok(!JSON.stringify(list).includes("new-key"), "no key in the listing");
    assert.equal(c.get("a.example")?.key_pem, "new-key");
    assert.equal(c.pruneExpired(6000), 1);
    assert.deepEqual(c.list().map((x) => x.name), ["a.example"]);
  } finally {
    storage.close();
  }
});

Deno.test("certificates: failures count up, keep the last error, clear on success", () => {
  const storage = Storage.open(":memory:");
  try {
    const c = storage.certificates;
    assert.equal(c.recordFailure("a.example", "boom", 10, 20).failures, 1);
    const second = c.recordFailure("a.example", "x".repeat(5000), 30, 50);
    assert.equal(second.failures, 2);
    assert.equal(second.last_error!.length, 1000, "a long error is cut");
    assert.equal(second.next_attempt_at, 50);
    c.recordFailure("gone.example", "dns", 10, 20);
    c.forgetAttempts(new Set(["a.example"]));
    assert.deepEqual(c.attempts().map((a) => a.name), ["a.example"]);
    c.put(cert("a.example"));
    assert.deepEqual(c.attempts(), [], "an issued certificate clears its failures");
  } finally {
    storage.close();
  }
});

Deno.test("certificates: one ACME account key per directory, the first kept", () => {
  const storage = Storage.open(":memory:");
  try {
    const c = storage.certificates;
    assert.equal(c.accountKey("https://a/dir"), undefined);
    assert.equal(c.saveAccountKey("https://a/dir", "k1"), "k1");
    assert.equal(c.saveAccountKey("https://a/dir", "k2"), "k1", "an existing account is kept");
    assert.equal(c.saveAccountKey("https://b/dir", "k3"), "k3");
    assert.equal(c.accountKey("https://a/dir"), "k1");
  } finally {
    storage.close();
  }
});
