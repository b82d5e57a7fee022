/**
 * Certificates over ACME against Debian's pebble on loopback (tests/pebble.ts):
 * a node with domain fazt.test gets one for its own names and each app, a
 * new app's within 30 s, custom domains', renewals 30 days before expiry,
 * failures retried with backoff without holding up other names, and nothing
 * for a name it does not serve. Each certificate is checked against pebble's
 * root and served by the node's own HTTPS port (curl --resolve verifying).
 */
import assert from "node:assert/strict";
import { createPrivateKey, X509Certificate } from "node:crypto";
import { pemBlocks, renewAt } from "../server/certs/mod.ts";
import { deployFiles, startTestNode, type TestNode } from "./helpers.ts";
import { deadline, waitFor } from "./deadline.ts";
import { type Pebble, preparePebble, startPebble } from "./pebble.ts";
import { freePort } from "./ports.ts";

// deno-lint-ignore no-explicit-any -- tests read arbitrary JSON bodies
type Json = any;

const DOMAIN = "fazt.test";
/** A newly wanted name has its certificate within this (the issue's promise). */
const NEW_NAME_MS = 30_000;
/** A first issuance may include starting the ACME process on a busy machine. */
const ISSUE_MS = 60_000;

interface Clock {
  offset: number;
}

async function httpsNode(
  pebble: Pebble,
  port: number,
  opts: { clock?: Clock; settings?: Record<string, string | number>; dir?: string } = {},
): Promise<TestNode> {
  const clock = opts.clock;
  return await startTestNode({
    port,
    dir: opts.dir,
    settings: {
      https: 1,
      domain: DOMAIN,
      acme_directory: pebble.directory,
      acme_ca_file: pebble.caFile,
      acme_email: "owner@fazt.test",
      // Plain HTTP (and so HTTP-01) on the port pebble validates on.
      http_port: port,
      https_port: 0,
      ...opts.settings,
    },
    acme: {
      now: clock ? () => Date.now() + clock.offset : undefined,
      retryBaseMs: 100,
      retryMaxMs: 800,
    },
  });
}

async function certificates(node: TestNode): Promise<Json> {
  const res = await node.fetch("/api/certificates", { token: node.tokens.read });
  assert.equal(res.status, 200);
  return (await res.json()).data;
}

/** Waits until each of `names` has a valid certificate; returns the listing. */
function allValid(node: TestNode, names: string[], ms = ISSUE_MS): Promise<Json[]> {
  return waitFor(
    async () => {
      const list: Json[] = (await certificates(node)).certificates;
      const valid = names.every((n) => list.find((c) => c.name === n)?.status === "valid");
      return valid ? list : undefined;
    },
    `valid certificates for ${names.join(", ")}`,
    ms,
  );
}

/** The certificate (chain and key) the node serves for `name`. */
function served(node: TestNode, name: string) {
  const pair = node.server.context.certs.tls.lookup(name);
  assert.ok(pair, `a certificate is served for ${name}`);
  return pair;
}

/** The chain is leaf → pebble's intermediate → pebble's root, for `name`, and the key fits. */
function assertChains(pair: { cert: string; key: string }, name: string, rootPem: string) {
  const [leafPem, interPem] = pemBlocks(pair.cert);
  assert.ok(leafPem && interPem, "the chain has the leaf and the intermediate");
  const leaf = new X509Certificate(leafPem);
  const inter = new X509Certificate(interPem);
  const root = new X509Certificate(rootPem);
  assert.equal(leaf.checkHost(name), name, `the leaf is for ${name}`);
  assert.equal(leaf.subjectAltName, `DNS:${name}`, "one name per certificate");
  assert.ok(leaf.verify(inter.publicKey), "the intermediate signed the leaf");
  assert.ok(inter.verify(root.publicKey), "pebble's root signed the intermediate");
  assert.ok(leaf.checkPrivateKey(createPrivateKey(pair.key)), "the key is the leaf's");
}

/**
 * Fetches `name` from the node's own HTTPS port with curl (--resolve),
 * trusting only pebble's root: the node presents that name's certificate
 * and answers over it.
 */
async function assertServesTls(node: TestNode, name: string, root: string) {
  const dir = await Deno.makeTempDir({ prefix: "fazt-tls-" });
  try {
    await Deno.writeTextFile(`${dir}/root.pem`, root);
    const port = node.server.https!.port;
    const out = await new Deno.Command("curl", {
      args: [
        "-sS",
        "--max-time",
        "20",
        "-o",
        "/dev/null",
        "-w",
        "%{http_code}",
        "--cacert",
        `${dir}/root.pem`,
        "--resolve",
        `${name}:${port}:127.0.0.1`,
        `https://${name}:${port}/`,
      ],
      stdout: "piped",
      stderr: "piped",
    }).output();
    const err = new TextDecoder().decode(out.stderr);
    assert.equal(out.code, 0, `curl https://${name}: ${err}`);
    assert.match(new TextDecoder().decode(out.stdout), /^[2-4]\d\d$/, `an answer for ${name}`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** The names the node ever asked its CA for, from its log. */
function requested(node: TestNode): Set<string> {
  const out = new Set<string>();
  for (const line of node.logs) {
    const m = /^certificates: requesting (.+) from /.exec(line);
    if (m) { for (const name of m[1].split(", ")) out.add(name); }
  }
  return out;
}

Deno.test("own names and two apps get certificates; a third app within 30 s; unknown names never", async () => {
  const port = freePort();
  const pebble = await startPebble({ httpPort: port });
  const node = await httpsNode(pebble, port);
  try {
    const changes: string[] = [];
    node.server.context.certs.tls.onChange((names) => changes.push(...names));
    await deployFiles(node, "one", { "index.html": "one" });
    await deployFiles(node, "two", { "index.html": "two" });
    const own = [DOMAIN, `admin.${DOMAIN}`, `one.${DOMAIN}`, `two.${DOMAIN}`];
    const list = await allValid(node, own);
    assert.deepEqual(list.map((c: Json) => c.name), [...own].sort());
    const root = await pebble.root();
    for (const c of list) {
      assert.equal(c.status, "valid");
      assert.match(c.issuer, /^Pebble Intermediate CA/);
      assert.ok(c.not_after > Date.now());
      assert.equal(c.renew_at, c.not_after - 30 * 86_400_000, "renewed 30 days before expiry");
      assert.equal(c.next_attempt_at, c.renew_at);
      assert.equal(c.last_error, null);
      const pair = served(node, c.name);
      assertChains(pair, c.name, root);
      await assertServesTls(node, c.name, root);
    }
    assert.deepEqual(list.map((c: Json) => [c.kind, c.app]), [
      ["admin", null],
      ["domain", "root"],
      ["app", "one"],
      ["app", "two"],
    ]);
    for (const name of own) assert.ok(changes.includes(name), `the listener heard of ${name}`);

    // Names the node does not serve: requests, challenge probes and lookups
    // for them lead to nothing.
    for (const host of [`evil.${DOMAIN}`, "attacker.example.com", `x.y.${DOMAIN}`, "127.0.0.1"]) {
      const res = await node.fetch("/", { host, token: null });
      await res.body?.cancel();
      const probe = await node.fetch("/.well-known/acme-challenge/anything", { host, token: null });
      assert.equal(probe.status, 404);
      await probe.body?.cancel();
      assert.equal(node.server.context.certs.tls.lookup(host), undefined, host);
    }

    // Plain HTTP to a served name goes to HTTPS; the challenge path does not.
    const plain = await node.fetch("/page?x=1", { host: `one.${DOMAIN}`, token: null });
    await plain.body?.cancel();
    assert.equal(plain.status, 308);
    assert.equal(
      plain.headers.get("location"),
      `https://one.${DOMAIN}:${node.server.https!.port}/page?x=1`,
    );

    // A new app gets its certificate without a restart, within 30 s.
    await deployFiles(node, "three", { "index.html": "three" });
    await allValid(node, [`three.${DOMAIN}`], NEW_NAME_MS);
    const three = served(node, `three.${DOMAIN}`);
    assertChains(three, `three.${DOMAIN}`, root);
    await assertServesTls(node, `three.${DOMAIN}`, root);
    assert.ok(changes.includes(`three.${DOMAIN}`));

    const wanted = [...own, `three.${DOMAIN}`].sort();
    assert.deepEqual([...requested(node)].sort(), wanted, "the CA was asked for these only");
    const stored = node.storage.db.all<{ name: string }>(
      "SELECT name FROM certificates ORDER BY name",
    );
    assert.deepEqual(stored.map((r) => r.name), wanted);
    assert.equal(node.count("certificate_attempts"), 0, "no failures");
    assert.equal(node.count("acme_accounts"), 1, "one account, reused");

    // Keys never leave through the API.
    const raw = await (await node.fetch("/api/certificates")).text();
    assert.doesNotMatch(raw, /PRIVATE KEY|BEGIN/);
    for (const name of wanted) {
      const keyBody = served(node, name).key.split("\n")[1];
      assert.ok(!raw.includes(keyBody), `no key material of ${name}`);
    }

    // Deleting an app stops serving its certificate.
    const del = await node.fetch("/api/apps/two", { method: "DELETE" });
    assert.equal(del.status, 200);
    await del.body?.cancel();
    await node.server.context.certs.settled();
    assert.equal(node.server.context.certs.tls.lookup(`two.${DOMAIN}`), undefined);
    assert.ok(
      !(await certificates(node)).certificates.some((c: Json) => c.name === `two.${DOMAIN}`),
    );
  } finally {
    await node.close();
    await pebble.stop();
  }
});

Deno.test("a custom domain gets its own certificate; a failing one backs off alone; removal stops it", async () => {
  const port = freePort();
  const pebble = await startPebble({ httpPort: port });
  const node = await httpsNode(pebble, port);
  try {
    await deployFiles(node, "shop", { "index.html": "shop" });
    await allValid(node, [DOMAIN, `admin.${DOMAIN}`, `shop.${DOMAIN}`]);
    // The CA's DNS sends bad.example.org where nothing listens: it cannot validate.
    await pebble.setAddress("bad.example.org", "127.0.0.2");
    const add = (name: string) =>
      node.fetch("/api/apps/shop/domains", {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ name }),
      }).then((r) => r.json());
    assert.equal((await add("bad.example.org")).data.domain.certificate.status, "pending");
    assert.equal((await add("shop.example.com")).data.created, true);

    const list = await allValid(node, ["shop.example.com"], NEW_NAME_MS);
    const good = list.find((c: Json) => c.name === "shop.example.com");
    assert.deepEqual([good.kind, good.app], ["custom", "shop"]);
    const root = await pebble.root();
    assertChains(served(node, "shop.example.com"), "shop.example.com", root);
    await assertServesTls(node, "shop.example.com", root);

    // The failing name: reported, retried, each wait longer than the one before
    // (read from the table: the API shows a past due time as "now").
    const seen: Json[] = [];
    await waitFor(() => {
      const row = node.storage.certificates.attempts().find((a) => a.name === "bad.example.org");
      if (row && row.failures > (seen.at(-1)?.failures ?? 0)) seen.push(row);
      return seen.length >= 3 && seen.at(-1).failures >= 3;
    }, "bad.example.org failing three times");
    for (const bad of seen) {
      assert.match(bad.last_error, /bad\.example\.org/);
      assert.ok(bad.next_attempt_at > bad.last_attempt_at, "a retry is scheduled");
    }
    const waits = seen.map((b) => b.next_attempt_at - b.last_attempt_at);
    assert.ok(waits[1] > waits[0] && waits[2] > waits[1], `backoff grows: ${waits}`);
    const reported = (await certificates(node)).certificates.find((c: Json) =>
      c.name === "bad.example.org"
    );
    assert.equal(reported.status, "pending");
    assert.ok(reported.failures >= 3 && reported.last_error, "the API reports it");
    assert.equal(node.server.context.certs.tls.lookup("bad.example.org"), undefined);
    // Every other name is untouched by it.
    await allValid(node, [DOMAIN, `admin.${DOMAIN}`, `shop.${DOMAIN}`, "shop.example.com"]);
    const domains = (await (await node.fetch("/api/apps/shop/domains")).json()).data;
    const badDomain = domains.find((d: Json) => d.name === "bad.example.org");
    assert.ok(badDomain.certificate.failures >= 3, "the domain list shows the failures");

    // Once its DNS points here it is issued on the next retry.
    await pebble.clearAddress("bad.example.org");
    await allValid(node, ["bad.example.org"]);
    assert.equal(node.count("certificate_attempts"), 0, "success clears the failures");

    // Removing a domain: no longer served, no longer renewed.
    const del = await node.fetch("/api/apps/shop/domains/shop.example.com", { method: "DELETE" });
    assert.equal(del.status, 200);
    await del.body?.cancel();
    await node.server.context.certs.settled();
    assert.equal(node.server.context.certs.tls.lookup("shop.example.com"), undefined);
    const names = (await certificates(node)).certificates.map((c: Json) => c.name);
    assert.ok(!names.includes("shop.example.com"));
  } finally {
    await node.close();
    await pebble.stop();
  }
});

Deno.test("certificates are renewed 30 days before they expire, not before", async () => {
  const port = freePort();
  // Ninety days, like Let's Encrypt's.
  const pebble = await startPebble({ httpPort: port, validitySeconds: 90 * 86_400 });
  const clock: Clock = { offset: 0 };
  const node = await httpsNode(pebble, port, { clock });
  try {
    const names = [DOMAIN, `admin.${DOMAIN}`];
    const first = await allValid(node, names);
    const certs = node.server.context.certs;
    const before = new Map(first.map((c: Json) => [c.name, c]));
    const admin = before.get(`admin.${DOMAIN}`);
    const life = admin.not_after - admin.not_before;
    assert.ok(Math.abs(life - 90 * 86_400_000) <= 1000, `a 90-day certificate (${life} ms)`);
    const earliest = Math.min(...first.map((c: Json) => renewAt(c)));
    const due = Math.max(...first.map((c: Json) => renewAt(c)));

    // A minute before the first is due: nothing happens.
    clock.offset = earliest - 60_000 - Date.now();
    certs.wake();
    await deadline(certs.settled(), "the manager looked");
    for (const c of (await certificates(node)).certificates) {
      assert.equal(c.serial, before.get(c.name).serial, `${c.name} is not renewed early`);
      assert.equal(c.status, "valid");
    }

    // Due: each is renewed, served at once, and the listener hears of it.
    const changes: string[] = [];
    certs.tls.onChange((n) => changes.push(...n));
    clock.offset = due + 1000 - Date.now();
    assert.ok((await certificates(node)).certificates.every((c: Json) => c.status === "renewing"));
    certs.wake();
    const renewed = await waitFor(
      async () => {
        const list: Json[] = (await certificates(node)).certificates;
        return list.every((c) => c.serial !== before.get(c.name).serial) ? list : undefined;
      },
      "renewed certificates",
      ISSUE_MS,
    );
    clock.offset = 0;
    const root = await pebble.root();
    for (const c of renewed) {
      assert.ok(c.not_after > before.get(c.name).not_after, `${c.name} expires later`);
      assert.ok(changes.includes(c.name), `the listener heard of ${c.name}`);
      const pair = served(node, c.name);
      assert.equal(
        new X509Certificate(pemBlocks(pair.cert)[0]).serialNumber.toLowerCase(),
        c.serial,
        "the new one is served",
      );
      assertChains(pair, c.name, root);
    }
  } finally {
    await node.close();
    await pebble.stop();
  }
});

Deno.test("the ACME server down at start: the node serves HTTP, retries, and succeeds later", async () => {
  const port = freePort();
  const pebble = await preparePebble({ httpPort: port });
  const node = await httpsNode(pebble, port);
  try {
    await deployFiles(node, "site", { "index.html": "up without a CA" });
    const failing = await waitFor(
      async () => {
        const list: Json[] = (await certificates(node)).certificates;
        return list.every((c) => c.failures >= 2) ? list : undefined;
        // Each attempt starts an ACME process: seconds apiece on a loaded machine.
      },
      "attempts failing while the CA is down",
      ISSUE_MS,
    );
    for (const c of failing) {
      assert.equal(c.status, "pending");
      assert.match(c.last_error, /cannot reach the ACME directory .*ECONNREFUSED/);
      assert.ok(c.next_attempt_at > c.last_attempt_at);
    }
    const page = await node.fetch("/", { host: `site.${DOMAIN}`, token: null });
    assert.equal(await page.text(), "up without a CA", "serving goes on");
    const health = await node.fetch("/health", { token: null });
    assert.equal(health.status, 200);
    await health.body?.cancel();

    await pebble.start();
    const list = await allValid(node, [DOMAIN, `admin.${DOMAIN}`, `site.${DOMAIN}`]);
    assert.ok(list.every((c: Json) => c.failures === 0 && c.last_error === null));
    const root = await pebble.root();
    assertChains(served(node, `site.${DOMAIN}`), `site.${DOMAIN}`, root);
  } finally {
    await node.close();
    await pebble.stop();
  }
});

Deno.test("certificates are kept in the database: a restarted node serves them, asks for nothing", async () => {
  const port = freePort();
  const pebble = await startPebble({ httpPort: port });
  const dir = await Deno.makeTempDir({ prefix: "fazt-test-" });
  try {
    const first = await httpsNode(pebble, port, { dir });
    const names = [DOMAIN, `admin.${DOMAIN}`];
    let before: Json[];
    try {
      before = await allValid(first, names);
    } finally {
      await first.close();
    }
    await pebble.stop();
    // The CA is gone: everything served now comes from the file.
    const again = await httpsNode(pebble, port, { dir });
    try {
      for (const c of before) {
        const pair = served(again, c.name);
        const serial = new X509Certificate(pemBlocks(pair.cert)[0]).serialNumber.toLowerCase();
        assert.equal(serial, c.serial, `${c.name}: the stored certificate`);
      }
      await again.server.context.certs.settled();
      assert.deepEqual([...requested(again)], [], "nothing was asked of the CA");
      assert.deepEqual(
        (await certificates(again)).certificates.map((c: Json) => [c.name, c.status]),
        names.sort().map((n) => [n, "valid"]),
      );
    } finally {
      await again.close();
    }
  } finally {
    await pebble.stop();
    await Deno.remove(dir, { recursive: true });
  }
});
