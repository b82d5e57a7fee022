/**
 * A local certificate authority and leaf certificates made with openssl
 * (ECDSA P-256), for HTTPS tests: each leaf's subject names its generation
 * (`O=gen1`), so a test can tell which certificate a server presented.
 * @module
 */

export interface TestCa {
  dir: string;
  /** The CA certificate, PEM. */
  ca: string;
  caFile: string;
  /** A leaf certificate signed by the CA for `names` (DNS or IP); files in `dir`. */
  leaf(file: string, names: string[], generation: number): Promise<LeafCert>;
}

export interface LeafCert {
  cert: string;
  key: string;
  certFile: string;
  keyFile: string;
}

async function openssl(args: string[], cwd: string): Promise<void> {
  const out = await new Deno.Command("openssl", { args, cwd, stdout: "null", stderr: "piped" })
    .output();
  if (!out.success) {
    throw new Error(`openssl ${args[0]} failed: ${new TextDecoder().decode(out.stderr)}`);
  }
}

/** Makes a CA in a new temp folder (the caller removes `dir`). */
export async function makeTestCa(): Promise<TestCa> {
  const dir = await Deno.makeTempDir({ prefix: "fazt-ca-" });
  await openssl(["ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", "ca.key"], dir);
  await openssl([
    "req",
    "-x509",
    "-new",
    "-key",
    "ca.key",
    "-sha256",
    "-days",
    "2",
    "-subj",
    "/CN=fazt test CA",
    "-addext",
    "basicConstraints=critical,CA:TRUE",
    "-addext",
    "keyUsage=critical,keyCertSign,cRLSign",
    "-out",
    "ca.pem",
  ], dir);
  const caFile = `${dir}/ca.pem`;
  return {
    dir,
    ca: await Deno.readTextFile(caFile),
    caFile,
    async leaf(file, names, generation) {
      const san = names.map((n) => /^[\d.]+$|:/.test(n) ? `IP:${n}` : `DNS:${n}`).join(",");
      await openssl(
        ["ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", `${file}.key`],
        dir,
      );
      await openssl([
        "req",
        "-new",
        "-key",
        `${file}.key`,
        "-subj",
        `/CN=${names[0]}/O=gen${generation}`,
        "-out",
        `${file}.csr`,
      ], dir);
      await Deno.writeTextFile(
        `${dir}/${file}.ext`,
        `basicConstraints=CA:FALSE\nkeyUsage=digitalSignature\nextendedKeyUsage=serverAuth\n` +
          `subjectAltName=${san}\n`,
      );
      await openssl([
        "x509",
        "-req",
        "-in",
        `${file}.csr`,
        "-CA",
        "ca.pem",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-days",
        "1",
        "-sha256",
        "-extfile",
        `${file}.ext`,
        "-out",
        `${file}.pem`,
      ], dir);
      const certFile = `${dir}/${file}.pem`, keyFile = `${dir}/${file}.key`;
      return {
        cert: await Deno.readTextFile(certFile),
        key: await Deno.readTextFile(keyFile),
        certFile,
        keyFile,
      };
    },
  };
}
