/**
 * A self-signed certificate (ECDSA P-256, made with WebCrypto, DER written
 * by hand): what the HTTPS port presents for a name it has no certificate
 * for. A TLS error instead would be cached by Deno's resolver for that name,
 * and browsers show it as a protocol error; an untrusted certificate is
 * the honest answer. No issuance is ever triggered by an unknown name.
 * @module
 */

function length(n: number): number[] {
  if (n < 0x80) return [n];
  const bytes: number[] = [];
  for (let v = n; v > 0; v = Math.floor(v / 256)) bytes.unshift(v & 0xff);
  return [0x80 | bytes.length, ...bytes];
}

function tlv(tag: number, ...parts: (number[] | Uint8Array)[]): number[] {
  const body = parts.flatMap((p) => [...p]);
  return [tag, ...length(body.length), ...body];
}

const seq = (...parts: number[][]) => tlv(0x30, ...parts);

function integer(bytes: Uint8Array | number[]): number[] {
  let b = [...bytes];
  while (b.length > 1 && b[0] === 0 && b[1] < 0x80) b = b.slice(1);
  if (b[0] >= 0x80) b.unshift(0);
  return tlv(0x02, b);
}

function oid(dotted: string): number[] {
  const arcs = dotted.split(".").map(Number);
  const out = [arcs[0] * 40 + arcs[1]];
  for (const arc of arcs.slice(2)) {
    const chunk = [arc & 0x7f];
    for (let v = arc >>> 7; v > 0; v >>>= 7) chunk.unshift(0x80 | (v & 0x7f));
    out.push(...chunk);
  }
  return tlv(0x06, out);
}

const utf8 = (s: string) => [...new TextEncoder().encode(s)];

function name(commonName: string): number[] {
  return seq(tlv(0x31, seq(oid("2.5.4.3"), tlv(0x0c, utf8(commonName)))));
}

function utcTime(d: Date): number[] {
  const p = (n: number) => String(n).padStart(2, "0");
  const s = `${p(d.getUTCFullYear() % 100)}${p(d.getUTCMonth() + 1)}${p(d.getUTCDate())}` +
    `${p(d.getUTCHours())}${p(d.getUTCMinutes())}${p(d.getUTCSeconds())}Z`;
  return tlv(0x17, utf8(s));
}

/** WebCrypto's raw r||s ECDSA signature as the DER `SEQUENCE {r, s}` X.509 wants. */
function derSignature(raw: Uint8Array): number[] {
  const half = raw.length / 2;
  return seq(integer(raw.subarray(0, half)), integer(raw.subarray(half)));
}

function pem(label: string, der: Uint8Array | number[]): string {
  const b64 = Uint8Array.from(der).toBase64();
  const lines = b64.match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${label}-----\n${lines.join("\n")}\n-----END ${label}-----\n`;
}

/** A self-signed certificate for `names` (the first is its common name), valid for `days`. */
export async function selfSignedCertificate(
  names: string[],
  days = 3650,
): Promise<{ cert: string; key: string }> {
  const keys = await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, true, [
    "sign",
    "verify",
  ]);
  const spki = new Uint8Array(await crypto.subtle.exportKey("spki", keys.publicKey));
  const pkcs8 = new Uint8Array(await crypto.subtle.exportKey("pkcs8", keys.privateKey));
  const ecdsaSha256 = seq(oid("1.2.840.10045.4.3.2"));
  const serial = crypto.getRandomValues(new Uint8Array(16));
  serial[0] &= 0x7f;
  const now = Date.now();
  const subject = name(names[0] ?? "fazt");
  const san = seq(...names.map((n) => tlv(0x82, utf8(n))));
  const extensions = tlv(
    0xa3,
    seq(
      seq(oid("2.5.29.19"), tlv(0x04, seq())), // basicConstraints: not a CA
      seq(oid("2.5.29.17"), tlv(0x04, san)), // subjectAltName
    ),
  );
  const tbs = seq(
    tlv(0xa0, integer([2])), // v3
    integer(serial),
    ecdsaSha256,
    subject,
    seq(utcTime(new Date(now - 3600_000)), utcTime(new Date(now + days * 86_400_000))),
    subject,
    [...spki],
    extensions,
  );
  const raw = new Uint8Array(
    await crypto.subtle.sign(
      { name: "ECDSA", hash: "SHA-256" },
      keys.privateKey,
      new Uint8Array(tbs),
    ),
  );
  const cert = seq(tbs, ecdsaSha256, tlv(0x03, [0], derSignature(raw)));
  return { cert: pem("CERTIFICATE", cert), key: pem("PRIVATE KEY", pkcs8) };
}
