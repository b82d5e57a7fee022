/**
 * A new app under HTTPS load (issue 13): against Debian's pebble, while curl
 * clients keep fetching two existing apps over verified HTTPS — on
 * keep-alive connections and on a new connection per request, HTTP/1.1 and
 * HTTP/2 — a third app is deployed, its certificate is issued and the TLS
 * listener is swapped to serve it. No request fails, and the new name
 * verifies against pebble's root within 30 s. The node is the real program
 * run with the `fazt` task's flags (`--unstable-net`: the new listener opens
 * beside the old one with `reusePort`).
 */
import assert from "node:assert/strict";
import { assertOk, CliSandbox, parseJson } from "./cli_runner.ts";
import { deadline, waitFor } from "./deadline.ts";
import { startPebble } from "./pebble.ts";
import { freePort } from "./ports.ts";

// deno-lint-ignore no-explicit-any -- tests read arbitrary JSON bodies
type Json = any;

const DOMAIN = "fazt.test";
/** A newly wanted name has its certificate within this (the issue's promise). */
const NEW_NAME_MS = 30_000;
/** A first issuance may include starting the ACME process on a busy machine. */
const ISSUE_MS = 60_000;
/** Requests per curl run: one connection for all of them, or one each. */
const PER_RUN = 20;

const td = new TextDecoder();

function page(app: string): string {
  return `<h1>${app}</h1>` + `${app} `.repeat(2500);
}

interface Tally {
  ok: number;
  connects: number;
  failures: string[];
}

/**
 * One curl run of `PER_RUN` requests to `name` over verified HTTPS, each
 * checked for status 200 and the whole page. `fresh`: `Connection: close`,
 * so each request is a new connection and TLS handshake.
 */
async function curlRun(
  port: number,
  name: string,
  rootFile: string,
  o: { fresh: boolean; http2: boolean },
  tally: Tally,
): Promise<void> {
  const url = `https://${name}:${port}/`;
  const args = [
    "-sS",
    "--max-time",
    "30",
    "--cacert",
    rootFile,
    "--resolve",
    `${name}:${port}:127.0.0.1`,
    o.http2 ? "--http2" : "--http1.1",
    "-w",
    "%{http_code} %{size_download} %{num_connects}\n",
    ...(o.fresh ? ["-H", "connection: close"] : []),
  ];
  for (let i = 0; i < PER_RUN; i++) args.push("-o", "/dev/null", url);
  const out = await new Deno.Command("curl", { args, stdout: "piped", stderr: "piped" }).output();
  const lines = td.decode(out.stdout).trim().split("\n").filter(Boolean);
  const size = new TextEncoder().encode(page(name.split(".")[0])).length;
  for (const line of lines) {
    const [code, bytes, connects] = line.split(" ").map(Number);
    if (code === 200 && bytes === size) {
      tally.ok++;
      tally.connects += connects;
    } else tally.failures.push(`${name} (${o.fresh ? "new" : "kept"}): ${line}`);
  }
  if (!out.success || lines.length !== PER_RUN) {
    tally.failures.push(
      `${name}: curl exited ${out.code} after ${lines.length}/${PER_RUN}: ${td.decode(out.stderr)}`,
    );
  }
}

/** Listener swaps the node has logged so far. */
function swapCount(log: string): number {
  return log.match(/HTTPS: new listener /g)?.length ?? 0;
}

/** Whether `name` is served with a certificate that verifies against pebble's root. */
async function verifies(port: number, name: string, rootFile: string): Promise<boolean> {
  const out = await new Deno.Command("curl", {
    args: [
      "-sS",
      "--max-time",
      "10",
      "-o",
      "/dev/null",
      "--cacert",
      rootFile,
      "--resolve",
      `${name}:${port}:127.0.0.1`,
      `https://${name}:${port}/`,
    ],
    stdout: "null",
    stderr: "null",
  }).output();
  return out.success;
}

Deno.test("a third app deployed under HTTPS load gets its certificate; no request fails", async () => {
  const port = freePort();
  const pebble = await startPebble({ httpPort: port });
  const sb = await CliSandbox.create();
  try {
    const server = await sb.start({
      firstRun: true,
      args: [
        ...["--domain", DOMAIN, "--https", "--http-port", String(port), "--https-port", "0"],
        ...["--acme-directory", pebble.directory, "--acme-ca-file", pebble.caFile],
      ],
    });
    const httpsPort = Number(
      (await waitFor(() => /^https: +port (\d+)$/m.exec(server.out), "the HTTPS port"))[1],
    );
    assert.match(server.out, new RegExp(`^admin: +https://admin\\.fazt\\.test:${httpsPort}$`, "m"));
    assert.match(server.out, new RegExp(`^apps: +https://<app>\\.fazt\\.test:${httpsPort}$`, "m"));
    const deploy = async (app: string) => {
      const dir = await sb.folder(app, { "index.html": page(app) });
      assertOk(await sb.cli(["deploy", dir]));
    };
    const valid = (names: string[], ms: number) =>
      waitFor(
        async () => {
          const list: Json[] = parseJson<Json>(await sb.cli(["cert", "list", "--json"]))
            .certificates;
          return names.every((n) => list.find((c) => c.name === n)?.status === "valid");
        },
        `valid certificates for ${names.join(", ")}`,
        ms,
      ).catch((err) => {
        throw new Error(`${err.message}\n${server.err}`);
      });
    await deploy("one");
    await deploy("two");
    await valid([DOMAIN, `admin.${DOMAIN}`, `one.${DOMAIN}`, `two.${DOMAIN}`], ISSUE_MS);
    const rootFile = `${sb.dir}/root.pem`;
    await Deno.writeTextFile(rootFile, await pebble.root());
    const three = `three.${DOMAIN}`;

    // A client asks for the third name before it exists: the listener
    // answers with the fallback and keeps that answer for its life, so the
    // certificate issued later can only be served by a new listener.
    assert.equal(await verifies(httpsPort, three, rootFile), false, "no certificate yet");
    const swapsBefore = swapCount(server.err);

    const tally: Tally = { ok: 0, connects: 0, failures: [] };
    let running = true;
    const clients = [
      { name: `one.${DOMAIN}`, fresh: false, http2: false },
      { name: `two.${DOMAIN}`, fresh: false, http2: true },
      { name: `one.${DOMAIN}`, fresh: true, http2: false },
      { name: `two.${DOMAIN}`, fresh: true, http2: true },
    ].map(async (c) => {
      while (running) await curlRun(httpsPort, c.name, rootFile, c, tally);
    });
    try {
      await waitFor(() => tally.ok >= 4 * PER_RUN, "load to be flowing", ISSUE_MS);
      await deploy("three");
      await waitFor(
        () => verifies(httpsPort, three, rootFile),
        `${three} to verify against pebble's root`,
        NEW_NAME_MS,
      );
      // Logged once the old listener has drained and closed.
      await waitFor(() => swapCount(server.err) > swapsBefore, "the listener swap");
      // Load goes on over the new listener.
      const after = tally.ok;
      await waitFor(() => tally.ok >= after + 4 * PER_RUN, "load after the swap", ISSUE_MS);
    } finally {
      running = false;
      await deadline(Promise.all(clients), "the load clients to stop", 60_000);
    }
    assert.deepEqual(tally.failures, [], "no request failed");
    assert.ok(tally.ok >= 8 * PER_RUN);
    // Half the clients opened a connection per request.
    assert.ok(tally.connects >= 4 * PER_RUN, `new connections made: ${tally.connects}`);
    assert.doesNotMatch(server.err, /without --unstable-net|could not swap/);
    assert.equal((await server.stop()).code, 0);
  } finally {
    for (const s of sb.servers) await s.kill();
    await sb.remove();
    await pebble.stop();
  }
});
