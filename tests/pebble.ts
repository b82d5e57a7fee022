/**
 * Debian's `pebble` ACME test server and `pebble-challtestsrv` (its fake
 * DNS: every name is 127.0.0.1) on free loopback ports, one pair per test.
 * Pebble's own listener gets a CA and certificate made here with openssl;
 * the certificates it issues chain to a root it makes at each start
 * (`root()`). It validates HTTP-01 on `httpPort`: the node's plain port.
 * @module
 */
import { freePort } from "./ports.ts";
import { deadline } from "./deadline.ts";

const td = new TextDecoder();

export interface PebbleOptions {
  /** Where pebble's VA fetches `/.well-known/acme-challenge/` (the node's port). */
  httpPort: number;
  /** Lifetime of the certificates it issues, in seconds (pebble's default: 5 years). */
  validitySeconds?: number;
}

/** A pebble whose ports and files exist before it runs (a node can be pointed at it first). */
export interface Pebble {
  /** The ACME directory URL. */
  readonly directory: string;
  /** The CA of pebble's own listener (PEM file): the node's `acme_ca_file`. */
  readonly caFile: string;
  readonly caPem: string;
  start(): Promise<void>;
  /** The root its certificates chain to (a new one each start). */
  root(): Promise<string>;
  /** Answers `host` with `address` in its DNS from now on (a name that cannot validate). */
  setAddress(host: string, address: string): Promise<void>;
  /** Back to 127.0.0.1 for `host`. */
  clearAddress(host: string): Promise<void>;
  /** Everything pebble printed (orders, validations). */
  log(): string;
  /** Stops both processes and removes the files (again: nothing more). */
  stop(): Promise<void>;
}

async function run(cmd: string, args: string[], cwd: string): Promise<void> {
  const out = await new Deno.Command(cmd, { args, cwd, stdout: "piped", stderr: "piped" }).output();
  if (!out.success) throw new Error(`${cmd} ${args.join(" ")}: ${td.decode(out.stderr)}`);
}

/** A CA and a leaf for 127.0.0.1/localhost, signed by it, for pebble's listener. */
async function makeListenerCert(dir: string): Promise<void> {
  const openssl = (args: string) => run("openssl", args.split(" "), dir);
  await openssl("ecparam -name prime256v1 -genkey -noout -out ca.key");
  await run("openssl", [
    ..."req -x509 -new -key ca.key -sha256 -days 2 -out ca.pem".split(" "),
    ...["-subj", "/CN=pebble listener test CA"],
    ...["-addext", "basicConstraints=critical,CA:TRUE"],
    ...["-addext", "keyUsage=critical,keyCertSign,cRLSign"],
  ], dir);
  await openssl("ecparam -name prime256v1 -genkey -noout -out leaf.key");
  await openssl("req -new -key leaf.key -subj /CN=localhost -out leaf.csr");
  await Deno.writeTextFile(
    `${dir}/leaf.ext`,
    "basicConstraints=CA:FALSE\nkeyUsage=digitalSignature\nextendedKeyUsage=serverAuth\n" +
      "subjectAltName=DNS:localhost,IP:127.0.0.1\n",
  );
  await openssl(
    "x509 -req -in leaf.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 -sha256 " +
      "-extfile leaf.ext -out leaf.pem",
  );
}

class OutputPump {
  text = "";
  #changed = Promise.withResolvers<void>();
  readonly done: Promise<void>;

  constructor(streams: ReadableStream<Uint8Array>[]) {
    this.done = Promise.all(streams.map(async (s) => {
      const dec = new TextDecoder();
      for await (const chunk of s) {
        this.text += dec.decode(chunk, { stream: true });
        this.#changed.resolve();
        this.#changed = Promise.withResolvers();
      }
    })).then(() => this.#changed.resolve());
  }

  async waitFor(pattern: RegExp, exited: () => boolean): Promise<void> {
    while (!pattern.test(this.text)) {
      if (exited()) throw new Error(`exited before printing ${pattern}:\n${this.text}`);
      await this.#changed.promise;
    }
  }
}

class Proc {
  #child: Deno.ChildProcess;
  #pump: OutputPump;
  #status: Deno.CommandStatus | undefined;
  readonly #done: Promise<Deno.CommandStatus>;

  constructor(cmd: string, args: string[], env: Record<string, string>, cwd: string) {
    this.#child = new Deno.Command(cmd, { args, env, cwd, stdout: "piped", stderr: "piped" })
      .spawn();
    this.#pump = new OutputPump([this.#child.stdout, this.#child.stderr]);
    this.#done = this.#child.status.then((s) => this.#status = s);
  }

  get output(): string {
    return this.#pump.text;
  }

  ready(pattern: RegExp, what: string): Promise<void> {
    return deadline(this.#pump.waitFor(pattern, () => this.#status !== undefined), what);
  }

  async stop(): Promise<void> {
    if (!this.#status) {
      try {
        this.#child.kill("SIGTERM");
      } catch {
        // Gone already.
      }
    }
    await this.#done;
    await this.#pump.done;
  }
}

/** Makes pebble's files and picks its ports; `start()` runs it. */
export async function preparePebble(opts: PebbleOptions): Promise<Pebble> {
  const dir = await Deno.makeTempDir({ prefix: "fazt-pebble-" });
  await makeListenerCert(dir);
  const [listen, management, dns, challManagement] = [
    freePort(),
    freePort(),
    freePort(),
    freePort(),
  ];
  await Deno.writeTextFile(
    `${dir}/config.json`,
    JSON.stringify({
      pebble: {
        listenAddress: `127.0.0.1:${listen}`,
        managementListenAddress: `127.0.0.1:${management}`,
        certificate: `${dir}/leaf.pem`,
        privateKey: `${dir}/leaf.key`,
        httpPort: opts.httpPort,
        tlsPort: freePort(),
        ocspResponderURL: "",
        externalAccountBindingRequired: false,
        ...(opts.validitySeconds ? { certificateValidityPeriod: opts.validitySeconds } : {}),
      },
    }),
  );
  const caPem = await Deno.readTextFile(`${dir}/ca.pem`);
  const client = Deno.createHttpClient({ caCerts: [caPem] });
  let pebble: Proc | undefined;
  let chall: Proc | undefined;
  let stopped = false;
  const env = {
    PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin",
    // No random waits before validating; no nonces refused on purpose.
    PEBBLE_VA_NOSLEEP: "1",
    PEBBLE_WFE_NONCEREJECT: "0",
  };
  const challtest = async (path: string, body: unknown) => {
    const res = await fetch(`http://127.0.0.1:${challManagement}${path}`, {
      method: "POST",
      body: JSON.stringify(body),
    });
    await res.body?.cancel();
    if (!res.ok) throw new Error(`challtestsrv ${path}: ${res.status}`);
  };
  return {
    directory: `https://127.0.0.1:${listen}/dir`,
    caFile: `${dir}/ca.pem`,
    caPem,
    async start() {
      const challArgs = `-http01  -https01  -tlsalpn01  -defaultIPv6  ` +
        `-dns01 127.0.0.1:${dns} -management 127.0.0.1:${challManagement}`;
      // Each empty value (two spaces) turns a listener off.
      chall = new Proc("pebble-challtestsrv", challArgs.split(" "), env, dir);
      await chall.ready(/Starting management server/, "pebble-challtestsrv listening");
      const args = `-config ${dir}/config.json -dnsserver 127.0.0.1:${dns} -strict=false`;
      pebble = new Proc("pebble", args.split(" "), env, dir);
      await pebble.ready(/ACME directory available/, "pebble listening");
    },
    async root() {
      const res = await fetch(`https://127.0.0.1:${management}/roots/0`, { client });
      if (!res.ok) throw new Error(`pebble /roots/0: ${res.status}`);
      return await res.text();
    },
    setAddress: (host, address) => challtest("/add-a", { host: `${host}.`, addresses: [address] }),
    clearAddress: (host) => challtest("/clear-a", { host: `${host}.` }),
    log: () => pebble?.output ?? "",
    async stop() {
      await pebble?.stop();
      await chall?.stop();
      if (stopped) return;
      stopped = true;
      client.close();
      await Deno.remove(dir, { recursive: true });
    },
  };
}

/** A started pebble. */
export async function startPebble(opts: PebbleOptions): Promise<Pebble> {
  const pebble = await preparePebble(opts);
  try {
    await pebble.start();
  } catch (err) {
    await pebble.stop();
    throw err;
  }
  return pebble;
}
