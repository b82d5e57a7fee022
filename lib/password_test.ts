import assert from "node:assert/strict";
import { generatePassword, hashPassword, verifyPassword } from "./password.ts";

Deno.test("passwords: salted slow hash that verifies only the right password", async () => {
  const hash = await hashPassword("correct horse");
  assert.match(hash, /^pbkdf2-sha256\$600000\$/);
  assert.notEqual(hash, await hashPassword("correct horse"), "salted");
  assert.ok(await verifyPassword("correct horse", hash));
  assert.ok(!(await verifyPassword("correct horsf", hash)));
  assert.ok(!(await verifyPassword("x", "garbage")));
  assert.equal(generatePassword().length, 24);
});
