import assert from "node:assert/strict";
import {
  generateSigningKey,
  importSigningKey,
  publicKeyPem,
  signBytes,
  verifySignature,
} from "./ed25519.ts";
import { RELEASE_PUBLIC_KEY } from "./release_key.ts";

const enc = new TextEncoder();

async function openssl(args: string[], cwd: string): Promise<{ ok: boolean; out: string }> {
  const out = await new Deno.Command("openssl", { args, cwd, stdout: "piped", stderr: "piped" })
    .output();
  const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
  return { ok: out.success, out: text };
}

Deno.test("keys and signatures round-trip; anything malformed does not verify", async () => {
  const { pkcs8Base64, publicKeyHex } = await generateSigningKey();
  const key = await importSigningKey(pkcs8Base64);
  assert.equal(key.publicKeyHex, publicKeyHex);
  const sig = await signBytes(key, enc.encode("SHA256SUMS"));
  assert.equal(sig.byteLength, 64);
  assert.equal(await verifySignature(publicKeyHex, sig, enc.encode("SHA256SUMS")), true);
  assert.equal(await verifySignature(publicKeyHex, sig, enc.encode("SHA256SUMs")), false);
  assert.equal(await verifySignature(RELEASE_PUBLIC_KEY, sig, enc.encode("SHA256SUMS")), false);
  assert.equal(await verifySignature("zz", sig, enc.encode("SHA256SUMS")), false);
  assert.equal(
    await verifySignature(publicKeyHex, sig.subarray(1), enc.encode("SHA256SUMS")),
    false,
  );
  await assert.rejects(importSigningKey("not base64!"), /not base64/);
  await assert.rejects(importSigningKey(btoa("short")), /not an Ed25519 private key/);
});

Deno.test("OpenSSL reads the keys and verifies the signatures (what install.sh relies on)", async () => {
  const dir = await Deno.makeTempDir({ prefix: "fazt-ed25519-" });
  try {
    const { pkcs8Base64, publicKeyHex } = await generateSigningKey();
    const key = await importSigningKey(pkcs8Base64);
    await Deno.writeFile(`${dir}/key.der`, Uint8Array.fromBase64(pkcs8Base64));
    const derived = await openssl(["pkey", "-inform", "DER", "-in", "key.der", "-pubout"], dir);
    assert.ok(derived.ok, derived.out);
    assert.equal(derived.out, publicKeyPem(publicKeyHex), "the same public key, as PEM");

    await Deno.writeTextFile(`${dir}/msg`, "abc  fazt-1.0.0-linux-x64.tar.gz\n");
    await Deno.writeFile(`${dir}/msg.sig`, await signBytes(key, await Deno.readFile(`${dir}/msg`)));
    await Deno.writeTextFile(`${dir}/pub.pem`, publicKeyPem(publicKeyHex));
    const verify = (pem: string) =>
      openssl([
        "pkeyutl",
        "-verify",
        "-pubin",
        "-inkey",
        pem,
        "-rawin",
        "-in",
        "msg",
        "-sigfile",
        "msg.sig",
      ], dir);
    assert.ok((await verify("pub.pem")).ok);
    await Deno.writeTextFile(`${dir}/release.pem`, publicKeyPem(RELEASE_PUBLIC_KEY));
    assert.equal((await verify("release.pem")).ok, false, "another key does not verify it");

    // And the other way: OpenSSL signs, WebCrypto verifies.
    const signed = await openssl([
      "pkeyutl",
      "-sign",
      "-keyform",
      "DER",
      "-inkey",
      "key.der",
      "-rawin",
      "-in",
      "msg",
      "-out",
      "o.sig",
    ], dir);
    assert.ok(signed.ok, signed.out);
    assert.ok(
      await verifySignature(
        publicKeyHex,
        await Deno.readFile(`${dir}/o.sig`),
        await Deno.readFile(`${dir}/msg`),
      ),
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("install.sh carries the release key built into the program", async () => {
  const script = await Deno.readTextFile(new URL("../install.sh", import.meta.url));
  const m = /FAZT_RELEASE_KEY_PEM='([^']*)'/.exec(script);
  assert.ok(m, "install.sh sets FAZT_RELEASE_KEY_PEM");
  assert.equal(`${m[1]}\n`, publicKeyPem(RELEASE_PUBLIC_KEY));
});
