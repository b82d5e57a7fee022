import assert from "node:assert/strict";
import { openDatabase, scopeAllows, TokenStore } from "./mod.ts";

Deno.test("tokens verify, carry their scope, and stop working when revoked", () => {
  const db = openDatabase(":memory:");
  const tokens = new TokenStore(db);
  const { token, info } = tokens.create("ci", "deploy");
  assert.equal(tokens.verify(token)?.scope, "deploy");
  assert.equal(tokens.verify(token + "x"), undefined);
  assert.equal(tokens.verify(token.replace(/.$/, (c) => (c === "A" ? "B" : "A"))), undefined);
  // The right secret under another id (the secret may itself contain '_').
  const secret = token.slice(`fazt_${info.id}_`.length);
  assert.equal(secret.length, 43);
  assert.equal(tokens.verify(`fazt_${info.id + 1}_${secret}`), undefined);
  assert.equal(tokens.verify(""), undefined);
  assert.ok(tokens.revoke(info.id));
  assert.equal(tokens.verify(token), undefined);
  assert.equal(tokens.revoke(info.id), false);
  db.close();
});

Deno.test("scope order is read < deploy < admin", () => {
  assert.ok(scopeAllows("admin", "read"));
  assert.ok(scopeAllows("deploy", "deploy"));
  assert.ok(!scopeAllows("read", "deploy"));
  assert.ok(!scopeAllows("deploy", "admin"));
});
