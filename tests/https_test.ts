/**
 * The HTTPS port: per-name certificates on one port from a provider, a
 * fallback for unknown names, HTTP/2, redirects from plain HTTP, HSTS on the
 * admin host, listener swaps when a served certificate changes (with zero
 * failed requests under keep-alive load), and TLS clients that never say
 * hello closed through the FFI reaper. Certificates come from a local CA
 * made with openssl; curl (--resolve) and Deno's fetch (caCerts) verify them.
 */
import assert from "node:assert/strict";
import { StaticCertificates } from "../server/mod.ts";
import { CliSandbox } from "./cli_runner.ts";
import { deadline, waitFor } from "./deadline.ts";
import { deployFiles, startTestNode, type TestNode } from "./helpers.ts";
import { rawConnect } from "./raw_socket.ts";
import { type LeafCert, makeTestCa, type TestCa } from "./tls_certs.ts";

interface Curl {
  code: number;
  stdout: string;
  stderr: string;
}

async function curl(args: string[]): Promise<Curl> {
  const out = await new Deno.Command("curl", {
    args: ["-sS", "-v", "--max-time", "10", ...args],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const td = new TextDecoder();
  return { code: out.code, stdout: td.decode(out.stdout), stderr: td.decode(out.stderr) };
}

interface Fixture {
  ca: TestCa;
  certs: StaticCertificates;
  app1: LeafCert;
  app2: LeafCert;
  ip1: LeafCert;
  ip2: LeafCert;
  node: TestNode;
  httpsPort: number;
  /** curl to `https://NAME:PORT/path` resolved to 127.0.0.1, trusting the test CA. */
  get(name: string, path?: string, extra?: string[]): Promise<Curl>;
}

async function withHttpsNode(
  fn: (f: Fixture) => Promise<void>,
  settings: Record<string, number> = {},
): Promise<void> {
  const ca = await makeTestCa();
  const app1 = await ca.leaf("app1", ["app.fazt.test"], 1);
  const app2 = await ca.leaf("app2", ["app.fazt.test"], 2);
  const admin = await ca.leaf("admin", ["admin.fazt.test"], 1);
  const ip1 = await ca.leaf("ip1", ["127.0.0.1"], 1);
  const ip2 = await ca.leaf("ip2", ["127.0.0.1"], 2);
  // "": clients that send no SNI (a URL with an IP address).
  const certs = new StaticCertificates({
    "app.fazt.test": app1,
    "admin.fazt.test": admin,
    "": ip1,
  });
  const node = await startTestNode({
    settings: { domain: "fazt.test", ...settings },
    https: { port: 0, certificates: certs },
  });
  const httpsPort = node.server.https!.port;
  try {
    await fn({
      ca,
      certs,
      app1,
      app2,
      ip1,
      ip2,
      node,
      httpsPort,
      get: (name, path = "/", extra = []) =>
        curl([
          "--cacert",
          ca.caFile,
          "--resolve",
          `${name}:${httpsPort}:127.0.0.1`,
          ...extra,
          `https://${name}:${httpsPort}${path}`,
        ]),
    });
  } finally {
    await node.close();
    await Deno.remove(ca.dir, { recursive: true });
  }
}

Deno.test("one TLS port: each name its own certificate, unknown names a fallback, HTTP/2", async () => {
  await withHttpsNode(async (f) => {
    await deployFiles(f.node, "app", { "index.html": "<h1>app over https</h1>" });
    const app = await f.get("app.fazt.test", "/", ["--http2", "-w", "\n%{http_version}"]);
    assert.equal(app.code, 0, app.stderr);
    assert.match(app.stdout, /app over https<\/h1>\n2$/);
    assert.match(app.stderr, /subject: CN=app\.fazt\.test; O=gen1/);
    const admin = await f.get("admin.fazt.test", "/health", ["--http1.1"]);
    assert.equal(admin.code, 0, admin.stderr);
    assert.match(admin.stderr, /subject: CN=admin\.fazt\.test/);
    // A name with no certificate gets the node's self-signed one: not
    // trusted, but a certificate (no handshake error, nothing issued).
    const unknown = await f.get("nope.fazt.test");
    assert.equal(unknown.code, 60, unknown.stderr);
    const insecure = await f.get("nope.fazt.test", "/", ["-k"]);
    assert.equal(insecure.code, 0, insecure.stderr);
    assert.match(insecure.stderr, /subject: CN=fazt\.test/);
    assert.match(insecure.stdout, /no app called &#39;nope&#39;/);
    // The listener got TCP_NODELAY through FFI (else +44 ms per response).
    assert.ok(f.node.server.https!.front.noDelayListeners >= 1);
    assert.ok(!f.node.logs.some((l) => l.includes("without the socket fixes")), f.node.logs.join());
  });
});

Deno.test("plain HTTP: 308 to HTTPS except the ACME challenge and loopback admin", async () => {
  await withHttpsNode(async (f) => {
    await deployFiles(f.node, "app", { "index.html": "<h1>app</h1>" });
    const to = await f.node.fetch("/x/y?z=1", { host: "app.fazt.test", token: null });
    assert.equal(to.status, 308);
    assert.equal(to.headers.get("location"), `https://app.fazt.test:${f.httpsPort}/x/y?z=1`);
    const admin = await f.node.fetch("/", { host: "admin.fazt.test", token: null });
    assert.equal(admin.status, 308);
    assert.equal(admin.headers.get("location"), `https://admin.fazt.test:${f.httpsPort}/`);
    const challenge = await f.node.fetch("/.well-known/acme-challenge/token1", {
      host: "app.fazt.test",
      token: null,
    });
    assert.notEqual(challenge.status, 308);
    // The CLI on the node itself: loopback name from loopback.
    const local = await f.node.fetch("/api/system");
    assert.equal(local.status, 200);
    // Hosts this node does not serve are not sent anywhere.
    const other = await f.node.fetch("/", { host: "evil.example", token: null });
    assert.equal(other.status, 404);
    // HSTS on the admin host over HTTPS, not on apps.
    const hsts = await f.get("admin.fazt.test", "/health", ["-D", "-"]);
    assert.match(hsts.stdout, /strict-transport-security: max-age=31536000/i);
    const noHsts = await f.get("app.fazt.test", "/", ["-D", "-"]);
    assert.doesNotMatch(noHsts.stdout, /strict-transport-security/i);
  });
});

Deno.test("a changed certificate for a served name swaps the listener; a new name needs no swap", async () => {
  await withHttpsNode(async (f) => {
    const front = f.node.server.https!.front;
    assert.match((await f.get("app.fazt.test", "/health")).stderr, /O=gen1/);
    // Held open across the swap: the old listener's connections keep being served.
    const client = Deno.createHttpClient({ caCerts: [f.ca.ca] });
    try {
      const before = await fetch(`https://127.0.0.1:${f.httpsPort}/health`, { client });
      assert.equal(before.status, 200);
      await before.body?.cancel();
      f.certs.set("app.fazt.test", f.app2);
      await waitFor(() => front.swaps === 1, "the listener to be swapped");
      await front.settled();
      assert.match((await f.get("app.fazt.test", "/health")).stderr, /O=gen2/);
      const after = await fetch(`https://127.0.0.1:${f.httpsPort}/health`, { client });
      assert.equal(after.status, 200);
      await after.body?.cancel();
    } finally {
      client.close();
    }
    // A name no listener has answered yet is looked up on its first handshake.
    const fresh = await f.ca.leaf("new", ["new.fazt.test"], 1);
    f.certs.set("new.fazt.test", fresh);
    const got = await f.get("new.fazt.test", "/health");
    assert.match(got.stderr, /subject: CN=new\.fazt\.test/);
    assert.equal(front.swaps, 1);
  });
});

Deno.test("certificate swaps under keep-alive load fail no request", async () => {
  await withHttpsNode(async (f) => {
    const front = f.node.server.https!.front;
    const client = Deno.createHttpClient({ caCerts: [f.ca.ca] });
    let ok = 0;
    const failures: string[] = [];
    let running = true;
    const url = `https://127.0.0.1:${f.httpsPort}/health`;
    const loops = Array.from({ length: 8 }, async () => {
      while (running) {
        try {
          const r = await fetch(url, { client });
          await r.arrayBuffer();
          if (r.status === 200) ok++;
          else failures.push(`status ${r.status}`);
        } catch (err) {
          failures.push(String(err));
        }
      }
    });
    try {
      const swaps = 6;
      for (let i = 1; i <= swaps; i++) {
        const at = ok;
        await waitFor(() => ok >= at + 50, "requests to flow before the swap");
        // A new connection to the current listener, which caches its answer
        // for "" (the keep-alive ones stay on the listeners they came from).
        const fresh = Deno.createHttpClient({ caCerts: [f.ca.ca] });
        try {
          const r = await fetch(url, { client: fresh });
          assert.equal(r.status, 200);
          await r.body?.cancel();
        } finally {
          fresh.close();
        }
        f.certs.set("", i % 2 ? f.ip2 : f.ip1);
        await waitFor(() => front.swaps === i, `swap ${i}`).catch((err) => {
          throw new Error(`${err.message}; the node said:\n${f.node.logs.join("\n")}`);
        });
      }
      const at = ok;
      await waitFor(() => ok >= at + 50, "requests to flow after the swaps");
    } finally {
      running = false;
      await deadline(Promise.all(loops), "the load to stop");
      client.close();
    }
    assert.deepEqual(failures, []);
    assert.ok(ok > 300);
  });
});

Deno.test("a TLS client that never says hello is closed after the header timeout", async () => {
  await withHttpsNode(async (f) => {
    const s = await rawConnect(f.httpsPort);
    assert.equal(await deadline(s.closed, "the silent TLS connection to be closed"), "");
    await waitFor(() => f.node.server.door.stats.reaped >= 1, "the reaper to shut it");
  }, { header_timeout_ms: 300 });
});

Deno.test("server start --tls-cert/--tls-key serves HTTPS; SIGHUP reads the files again", async () => {
  const ca = await makeTestCa();
  const sandbox = await CliSandbox.create();
  const gen1 = await ca.leaf("gen1", ["127.0.0.1"], 1);
  const gen2 = await ca.leaf("gen2", ["127.0.0.1"], 2);
  const certFile = `${sandbox.dir}/cert.pem`, keyFile = `${sandbox.dir}/key.pem`;
  await Deno.writeTextFile(certFile, gen1.cert);
  await Deno.writeTextFile(keyFile, gen1.key);
  const server = await sandbox.start({
    firstRun: true,
    args: ["--tls-cert", certFile, "--tls-key", keyFile, "--https-port", "0"],
  });
  try {
    const port = Number(
      (await waitFor(() => /^https: +port (\d+)$/m.exec(server.out), "the HTTPS port"))[1],
    );
    const subject = async () => {
      const r = await curl(["--cacert", ca.caFile, `https://127.0.0.1:${port}/health`]);
      assert.equal(r.code, 0, r.stderr);
      return /O=(gen\d)/.exec(r.stderr)?.[1];
    };
    assert.equal(await subject(), "gen1");
    await Deno.writeTextFile(certFile, gen2.cert);
    await Deno.writeTextFile(keyFile, gen2.key);
    server.proc.kill("SIGHUP");
    assert.equal(
      await waitFor(async () => await subject() === "gen2", "the new certificate"),
      true,
    );
    assert.equal((await server.stop()).code, 0);
  } finally {
    await server.kill();
    await sandbox.remove();
    await Deno.remove(ca.dir, { recursive: true });
  }
});

Deno.test("SIGHUP swaps under a stream of new TLS connections reset none of them", async () => {
  // The real program (--unstable-net, --allow-ffi): the new listener opens
  // beside the old one, new connections are steered to it, and the old one
  // finishes what it has before it closes.
  const ca = await makeTestCa();
  const sandbox = await CliSandbox.create();
  const gens = [await ca.leaf("gen1", ["127.0.0.1"], 1), await ca.leaf("gen2", ["127.0.0.1"], 2)];
  const certFile = `${sandbox.dir}/cert.pem`, keyFile = `${sandbox.dir}/key.pem`;
  await Deno.writeTextFile(certFile, gens[0].cert);
  await Deno.writeTextFile(keyFile, gens[0].key);
  const server = await sandbox.start({
    firstRun: true,
    args: ["--tls-cert", certFile, "--tls-key", keyFile, "--https-port", "0"],
  });
  let running = true;
  let ok = 0;
  const failures: string[] = [];
  const clients: Promise<void>[] = [];
  try {
    const port = Number(
      (await waitFor(() => /^https: +port (\d+)$/m.exec(server.out), "the HTTPS port"))[1],
    );
    const swapsLogged = () => server.err.match(/HTTPS: new listener /g)?.length ?? 0;
    // Each request on a connection of its own: a new client each time.
    for (let i = 0; i < 6; i++) {
      clients.push((async () => {
        while (running) {
          const client = Deno.createHttpClient({ caCerts: [ca.ca] });
          try {
            const r = await fetch(`https://127.0.0.1:${port}/health`, { client });
            await r.arrayBuffer();
            if (r.status === 200) ok++;
            else failures.push(`status ${r.status}`);
          } catch (err) {
            failures.push(String(err));
          } finally {
            client.close();
          }
        }
      })());
    }
    const swaps = 4;
    for (let i = 1; i <= swaps; i++) {
      const at = ok;
      await waitFor(() => ok >= at + 30, "new connections to flow before the swap");
      const next = gens[i % 2];
      await Deno.writeTextFile(certFile, next.cert);
      await Deno.writeTextFile(keyFile, next.key);
      server.proc.kill("SIGHUP");
      await waitFor(() => swapsLogged() >= i, `swap ${i}`);
    }
    const at = ok;
    await waitFor(() => ok >= at + 30, "new connections after the swaps");
    running = false;
    await deadline(Promise.all(clients), "the clients to stop");
    assert.deepEqual(failures, []);
    assert.equal((await server.stop()).code, 0);
  } finally {
    running = false;
    await Promise.allSettled(clients);
    await server.kill();
    await sandbox.remove();
    await Deno.remove(ca.dir, { recursive: true });
  }
});
