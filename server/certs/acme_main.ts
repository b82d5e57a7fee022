/**
 * The ACME process: gets certificates with `acme-client` for the names it is
 * given and hands them back over stdout (protocol in acme_protocol.ts).
 *
 * A process of its own because acme-client and its dependencies (axios,
 * debug) read the whole environment as they load, which the server may not,
 * and so that they never get the server's authority: this process has the
 * network and the environment, and no files, no subprocesses, no database.
 * @module
 */
import acme from "acme-client";
import https from "node:https";
import tls from "node:tls";
import type { AckChallenge, AcmeJob, FromAcme } from "./acme_protocol.ts";

const encoder = new TextEncoder();
let writing = Promise.resolve();

function send(message: FromAcme): Promise<void> {
  const line = encoder.encode(JSON.stringify(message) + "\n");
  writing = writing.then(async () => {
    let off = 0;
    while (off < line.length) off += await Deno.stdout.write(line.subarray(off));
  });
  return writing;
}

/** Lines from stdin, one JSON value each. */
async function* lines(): AsyncGenerator<unknown> {
  let buffered = "";
  for await (const chunk of Deno.stdin.readable.pipeThrough(new TextDecoderStream())) {
    buffered += chunk;
    let nl;
    while ((nl = buffered.indexOf("\n")) !== -1) {
      const line = buffered.slice(0, nl);
      buffered = buffered.slice(nl + 1);
      if (line.trim()) yield JSON.parse(line);
    }
  }
}

function messageOf(err: unknown): string {
  const e = err as { message?: unknown; code?: unknown };
  const text = typeof e?.message === "string" && e.message ? e.message : String(err);
  // axios errors: say what the connection did (ECONNREFUSED…) when the message does not.
  return typeof e?.code === "string" && !text.includes(e.code) ? `${text} (${e.code})` : text;
}

/** GET the directory with the same TLS trust as the client, for a plain error when it fails. */
function probeDirectory(url: string, agent: https.Agent | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    const req = https.get(url, { agent, timeout: 30_000 }, (res) => {
      res.resume();
      if (res.statusCode === 200) resolve();
      else reject(new Error(`the ACME directory answered HTTP ${res.statusCode}`));
    });
    req.on("timeout", () => req.destroy(new Error("no answer in 30 s")));
    req.on("error", (err) => reject(err));
  });
}

/**
 * Registers the account key, or finds its account. acme-client answers an
 * existing account by updating it with what it was given, and an update
 * with no contact is refused ("use POST-as-GET … instead of doing an empty
 * update"): without an email the existing account is only looked up.
 */
async function register(client: acme.Client, email: string | undefined): Promise<void> {
  if (email) {
    await client.createAccount({ termsOfServiceAgreed: true, contact: [`mailto:${email}`] });
    return;
  }
  try {
    await client.createAccount({ onlyReturnExisting: true });
    return;
  } catch {
    // No account for this key yet (or the lookup failed): make one.
  }
  await client.createAccount({ termsOfServiceAgreed: true });
}

export async function runAcme(): Promise<void> {
  // Waits are the server's: it retries a failed name later, with backoff.
  const defaults = acme.axios.defaults as unknown as {
    acmeSettings: { retryMaxAttempts: number; retryDefaultDelay: number };
  };
  defaults.acmeSettings.retryMaxAttempts = 2;
  defaults.acmeSettings.retryDefaultDelay = 1;
  const input = lines();
  const first = await input.next();
  if (first.done) return;
  const job = first.value as AcmeJob;
  const acks = new Map<number, () => void>();
  (async () => {
    for await (const message of input) {
      const ack = message as AckChallenge;
      if (ack.type === "ack") acks.get(ack.id)?.();
    }
  })();

  // node:https (what acme-client uses) does not read Deno's --cert: the CA is given here.
  const agent = job.caPem
    ? new https.Agent({ ca: [...tls.rootCertificates, job.caPem], keepAlive: true })
    : undefined;
  try {
    await probeDirectory(job.directory, agent);
  } catch (err) {
    let error = `cannot reach the ACME directory ${job.directory}: ${messageOf(err)}`;
    if (/certificate|UNABLE_TO_VERIFY|SELF_SIGNED|CERT_/i.test(error)) {
      error += " (an ACME server with a private CA needs acme_ca_file: --acme-ca-file)";
    }
    for (const name of job.names) await send({ type: "failed", name, error });
    return;
  }
  const client = new acme.Client({ directoryUrl: job.directory, accountKey: job.accountKey });
  if (agent) {
    // deno-lint-ignore no-explicit-any -- the client's HTTP layer is not in its types
    const http = (client as any).http;
    const request = http.request.bind(http);
    http.request = (url: string, method: string, opts: Record<string, unknown> = {}) =>
      request(url, method, { ...opts, httpsAgent: agent });
  }
  try {
    await register(client, job.email);
  } catch (err) {
    const error = `the ACME account could not be registered: ${messageOf(err)}`;
    for (const name of job.names) await send({ type: "failed", name, error });
    return;
  }

  let nextId = 1;
  const issue = async (name: string) => {
    try {
      const [key, csr] = await acme.crypto.createCsr(
        { altNames: [name] },
        await acme.crypto.createPrivateEcdsaKey(),
      );
      const cert = await client.auto({
        csr,
        termsOfServiceAgreed: true,
        challengePriority: ["http-01"],
        // acme-client would first fetch the token itself over the system's
        // DNS, which need not resolve the name from here; the CA checks it.
        skipChallengeVerification: true,
        challengeCreateFn: async (_authz, challenge, keyAuthorization) => {
          if (challenge.type !== "http-01") throw new Error(`cannot answer ${challenge.type}`);
          const id = nextId++;
          const acked = new Promise<void>((resolve) => acks.set(id, resolve));
          await send({ type: "challenge", id, name, token: challenge.token, keyAuthorization });
          await acked;
          acks.delete(id);
        },
        challengeRemoveFn: async (_authz, challenge) => {
          await send({ type: "challenge_done", token: challenge.token });
        },
      });
      await send({ type: "issued", name, cert, key: key.toString() });
    } catch (err) {
      await send({ type: "failed", name, error: messageOf(err) });
    }
  };
  const queue = [...job.names];
  const workers = Array.from(
    { length: Math.max(1, Math.min(job.concurrency, queue.length)) },
    async () => {
      for (let name = queue.shift(); name !== undefined; name = queue.shift()) await issue(name);
    },
  );
  await Promise.all(workers);
  await writing;
  agent?.destroy();
}

if (import.meta.main) {
  await runAcme();
  Deno.exit(0);
}
