/**
 * Ed25519 signatures with WebCrypto, for releases: a private key as the
 * release task takes it (base64 PKCS#8 DER, what `openssl genpkey -algorithm
 * ed25519 -outform DER | base64` prints) and a public key as the program
 * carries it (64 hex characters, the raw 32 bytes).
 * @module
 */

const ED25519 = { name: "Ed25519" } as const;
// The DER prefix of an Ed25519 SubjectPublicKeyInfo (RFC 8410), before the raw key.
const SPKI_PREFIX = "302a300506032b6570032100";

/** A private key ready to sign, and its public key in hex. */
export interface SigningKey {
  privateKey: CryptoKey;
  publicKeyHex: string;
}

const bytes = (b: ArrayBuffer | Uint8Array) => new Uint8Array(b) as Uint8Array<ArrayBuffer>;

/** Reads a base64 PKCS#8 Ed25519 private key; throws a plain message when it is not one. */
export async function importSigningKey(pkcs8Base64: string): Promise<SigningKey> {
  let der: Uint8Array<ArrayBuffer>;
  try {
    der = bytes(Uint8Array.fromBase64(pkcs8Base64.trim()));
  } catch {
    throw new Error("the key is not base64");
  }
  let privateKey: CryptoKey;
  try {
    privateKey = await crypto.subtle.importKey("pkcs8", der, ED25519, true, ["sign"]);
  } catch {
    throw new Error("the key is not an Ed25519 private key in PKCS#8 form");
  }
  // A private JWK carries its public half as `x`.
  const jwk = await crypto.subtle.exportKey("jwk", privateKey);
  const publicKeyHex = Uint8Array.fromBase64(jwk.x!, { alphabet: "base64url" }).toHex();
  return { privateKey, publicKeyHex };
}

/** A new key pair: the private key as base64 PKCS#8, the public key in hex. */
export async function generateSigningKey(): Promise<{ pkcs8Base64: string; publicKeyHex: string }> {
  const pair = await crypto.subtle.generateKey(ED25519, true, ["sign", "verify"]) as CryptoKeyPair;
  const pkcs8 = bytes(await crypto.subtle.exportKey("pkcs8", pair.privateKey));
  const raw = bytes(await crypto.subtle.exportKey("raw", pair.publicKey));
  return { pkcs8Base64: pkcs8.toBase64(), publicKeyHex: raw.toHex() };
}

export async function signBytes(
  key: SigningKey,
  data: Uint8Array,
): Promise<Uint8Array<ArrayBuffer>> {
  return bytes(await crypto.subtle.sign(ED25519, key.privateKey, bytes(data)));
}

/** Whether `signature` is `publicKeyHex`'s signature of `data`; false for any malformed input. */
export async function verifySignature(
  publicKeyHex: string,
  signature: Uint8Array,
  data: Uint8Array,
): Promise<boolean> {
  if (!/^[0-9a-f]{64}$/.test(publicKeyHex) || signature.byteLength !== 64) return false;
  try {
    const key = await crypto.subtle.importKey(
      "raw",
      bytes(Uint8Array.fromHex(publicKeyHex)),
      ED25519,
      false,
      ["verify"],
    );
    return await crypto.subtle.verify(ED25519, key, bytes(signature), bytes(data));
  } catch {
    return false;
  }
}

/** The public key as a PEM SubjectPublicKeyInfo, what `openssl pkeyutl -verify -pubin` reads. */
export function publicKeyPem(publicKeyHex: string): string {
  const der = Uint8Array.fromHex(SPKI_PREFIX + publicKeyHex);
  return `-----BEGIN PUBLIC KEY-----\n${der.toBase64()}\n-----END PUBLIC KEY-----\n`;
}
