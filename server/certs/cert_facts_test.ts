import assert from "node:assert/strict";
import { certFacts, pemBlocks } from "./cert_facts.ts";

async function openssl(dir: string, args: string[]): Promise<void> {
  const out = await new Deno.Command("openssl", { args, cwd: dir, stderr: "piped" }).output();
  assert.ok(out.success, new TextDecoder().decode(out.stderr));
}

Deno.test("certificate facts: names, issuer, serial and validity of the leaf", async () => {
  const dir = await Deno.makeTempDir({ prefix: "fazt-certfacts-" });
  try {
    await openssl(dir, ["ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", "ca.key"]);
    await openssl(dir, [
      ..."req -x509 -new -key ca.key -days 3 -out ca.pem -subj".split(" "),
      "/O=Test Org/CN=Test Root",
    ]);
    await openssl(dir, ["ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", "k.key"]);
    await openssl(dir, "req -new -key k.key -subj /CN=app.example.com -out k.csr".split(" "));
    await Deno.writeTextFile(`${dir}/ext`, "subjectAltName=DNS:App.Example.com,IP:127.0.0.1\n");
    await openssl(dir, [
      ..."x509 -req -in k.csr -CA ca.pem -CAkey ca.key -days 2 -extfile ext -out k.pem".split(" "),
      ..."-set_serial 0xABC".split(" "),
    ]);
    const chain = (await Deno.readTextFile(`${dir}/k.pem`)) +
      (await Deno.readTextFile(`${dir}/ca.pem`));
    assert.equal(pemBlocks(chain).length, 2);
    const facts = certFacts(chain);
    assert.deepEqual(facts.names, ["app.example.com"], "DNS names only, lower case");
    assert.equal(facts.issuer, "Test Org Test Root");
    assert.equal(facts.serial, "abc", "hex, lower case");
    assert.equal(facts.notAfter - facts.notBefore, 2 * 86_400_000);
    assert.throws(() => certFacts("no certificate here"), /no certificate/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
