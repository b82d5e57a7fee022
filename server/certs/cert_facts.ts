import { X509Certificate } from "node:crypto";

/** What fazt reads from a certificate chain: its leaf's names, issuer, serial and validity. */
export interface CertFacts {
  names: string[];
  issuer: string;
  serial: string;
  notBefore: number;
  notAfter: number;
}

const PEM_BLOCK = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;

/** The certificates of a PEM chain, leaf first. */
export function pemBlocks(chain: string): string[] {
  return chain.match(PEM_BLOCK) ?? [];
}

/** `O CN` of a distinguished name as X509Certificate prints it (one `K=V` a line). */
function displayName(dn: string): string {
  const parts = new Map(
    dn.split("\n").map((
      line,
    ) => [line.slice(0, line.indexOf("=")), line.slice(line.indexOf("=") + 1)]),
  );
  const shown = [parts.get("O"), parts.get("CN")].filter((v): v is string => !!v);
  return shown.length ? [...new Set(shown)].join(" ") : dn.replaceAll("\n", ", ");
}

/** Reads the leaf of a PEM chain; throws when there is none or it does not parse. */
export function certFacts(chain: string): CertFacts {
  const leafPem = pemBlocks(chain)[0];
  if (!leafPem) throw new Error("no certificate in the chain");
  const leaf = new X509Certificate(leafPem);
  const names = (leaf.subjectAltName ?? "").split(",").map((s) => s.trim())
    .filter((s) => s.startsWith("DNS:")).map((s) => s.slice(4).toLowerCase());
  return {
    names,
    issuer: displayName(leaf.issuer),
    serial: leaf.serialNumber.toLowerCase(),
    notBefore: Date.parse(leaf.validFrom),
    notAfter: Date.parse(leaf.validTo),
  };
}
