/**
 * HTTPS and custom domains from the command line, with the tasks' exact
 * permission flags: `fazt server start --https …` getting certificates from
 * pebble, `fazt cert list`, `fazt app domain add/list/remove`, and every
 * refusal of the new flags and settings.
 */
import assert from "node:assert/strict";
import { assertOk, assertRefused, CliSandbox, parseJson } from "./cli_runner.ts";
import { waitFor } from "./deadline.ts";
import { startTestNode } from "./helpers.ts";
import { startPebble } from "./pebble.ts";
import { freePort } from "./ports.ts";
import { startServer } from "../server/mod.ts";
import { SettingError, Storage } from "../storage/mod.ts";

// deno-lint-ignore no-explicit-any -- tests read arbitrary JSON bodies
type Json = any;

async function withSandbox(fn: (sb: CliSandbox) => Promise<void>): Promise<void> {
  const sb = await CliSandbox.create();
  try {
    await fn(sb);
  } finally {
    for (const s of sb.servers) await s.stop();
    await Deno.remove(sb.dir, { recursive: true });
  }
}

Deno.test("fazt server start --https gets certificates under the task's permissions", async () => {
  const port = freePort();
  const pebble = await startPebble({ httpPort: port });
  try {
    await withSandbox(async (sb) => {
      const server = await sb.start({
        firstRun: true,
        args: [
          "--http-port",
          String(port),
          "--https-port",
          "0",
          "--domain",
          "fazt.test",
          "--https",
          "--acme-directory",
          pebble.directory,
          "--acme-ca-file",
          pebble.caFile,
          "--acme-email",
          "owner@fazt.test",
        ],
      });
      assert.match(server.out, /^https: +certificates from https:\/\/127\.0\.0\.1:\d+\/dir/m);
      await sb.folder("site", { "index.html": "hello" });
      assertOk(await sb.cli(["deploy", `${sb.dir}/site`]));
      const listing = await waitFor(
        async () => {
          const r = parseJson<Json>(await sb.cli(["cert", "list", "--json"]));
          return r.certificates.length === 3 &&
              r.certificates.every((c: Json) => c.status === "valid")
            ? r
            : undefined;
        },
        "certificates from pebble",
        90_000,
      );
      assert.equal(listing.https, true);
      assert.equal(listing.directory, pebble.directory);
      assert.deepEqual(listing.certificates.map((c: Json) => c.name), [
        "admin.fazt.test",
        "fazt.test",
        "site.fazt.test",
      ]);
      const human = assertOk(await sb.cli(["cert", "list"]));
      assert.match(human.stdout, /^HTTPS on: certificates from https:/);
      assert.match(human.stdout, /^NAME +STATUS +ISSUER +EXPIRES +NEXT ATTEMPT +LAST ERROR$/m);
      assert.match(human.stdout, /^site\.fazt\.test +valid +Pebble Intermediate CA \S+ +\d{4}-/m);
      assert.doesNotMatch(human.stdout + JSON.stringify(listing), /PRIVATE KEY/);
      assert.doesNotMatch(server.err, /NotCapable|Uncaught/, "no permission was missing");
    });
  } finally {
    await pebble.stop();
  }
});

Deno.test("fazt app domain add/list/remove and fazt cert list with HTTPS off", async () => {
  await withSandbox(async (sb) => {
    await sb.start({ firstRun: true, args: ["--domain", "fazt.example"] });
    await sb.folder("shop", { "index.html": "shop" });
    assertOk(await sb.cli(["deploy", `${sb.dir}/shop`]));

    const empty = assertOk(await sb.cli(["app", "domain", "list", "shop"]));
    assert.equal(empty.stdout, "shop has no custom domains: fazt app domain add shop DOMAIN\n");
    const added = assertOk(await sb.cli(["app", "domain", "add", "shop", "Shop.Example.com"]));
    assert.equal(added.stdout, "shop: now serves shop.example.com\n");
    const again = assertOk(await sb.cli(["app", "domain", "add", "shop", "shop.example.com"]));
    assert.equal(again.stdout, "shop: already served shop.example.com\n");
    const idn = parseJson<Json>(
      await sb.cli(["app", "domain", "add", "shop", "bücher.example", "--json"]),
    );
    assert.equal(idn.created, true);
    assert.equal(idn.domain.name, "xn--bcher-kva.example");

    const list = assertOk(await sb.cli(["app", "domain", "list", "shop"]));
    assert.match(list.stdout, /^DOMAIN +ADDED +CERTIFICATE$/m);
    assert.match(list.stdout, /^shop\.example\.com +\d{4}-\S+ \S+ +pending$/m);
    assert.match(list.stdout, /^bücher\.example \(xn--bcher-kva\.example\) +\S+ \S+ +pending$/m);
    const json = parseJson<Json[]>(await sb.cli(["app", "domain", "list", "shop", "--json"]));
    assert.deepEqual(json.map((d) => d.name), ["shop.example.com", "xn--bcher-kva.example"]);

    const certs = assertOk(await sb.cli(["cert", "list"]));
    assert.match(certs.stdout, /^HTTPS is off/);
    assert.match(certs.stdout, /^shop\.example\.com +pending +- +- +- +-$/m);
    assert.match(certs.stdout, /^admin\.fazt\.example +pending/m);

    assertRefused(
      await sb.cli(["app", "domain", "add", "shop", "admin.fazt.example"]),
      /one of this node's own names .*"own_domain".* \(VALIDATION_FAILED\)$/,
    );
    assertRefused(
      await sb.cli(["app", "domain", "add", "shop", "10.0.0.1"]),
      /not a domain name .*"ip_address".* \(VALIDATION_FAILED\)$/,
    );
    assertRefused(await sb.cli(["app", "domain", "add", "nope", "x.example"]), /APP_NOT_FOUND/);
    assertRefused(
      await sb.cli(["app", "domain", "remove", "shop", "other.example"]),
      /not a domain of 'shop' \(DOMAIN_NOT_FOUND\)$/,
    );
    const removed = assertOk(await sb.cli(["app", "domain", "remove", "shop", "bücher.example"]));
    assert.equal(removed.stdout, "shop: no longer serves xn--bcher-kva.example\n");
    const after = parseJson<Json[]>(await sb.cli(["app", "domain", "list", "shop", "--json"]));
    assert.deepEqual(after.map((d) => d.name), ["shop.example.com"]);
  });
});

Deno.test("server start refuses bad HTTPS flags, each with one error line", async () => {
  await withSandbox(async (sb) => {
    const start = (...args: string[]) =>
      sb.cli(["server", "start", "--port", "0", "--host", "127.0.0.1", ...args]);
    assertRefused(
      await start("--https"),
      /HTTPS needs the node's domain to be a public DNS name .*'localhost' cannot have a certificate \(VALIDATION_FAILED\)$/,
    );
    assertRefused(
      await start("--domain", "fazt.test", "--https", "--acme-ca-file", `${sb.dir}/missing.pem`),
      /--acme-ca-file .*missing\.pem cannot be read/,
    );
    assertRefused(
      await start("--domain", "fazt.test", "--acme-directory", "http://ca.example/dir"),
      /acme_directory must be the https:\/\/ URL of an ACME directory/,
    );
    assertRefused(await start("--http-port", "70000"), /http_port must be a whole number/);
    assertRefused(await start("--https-port", "x"), /https_port must be a whole number/);
    assertRefused(await start("--acme-email", "nobody"), /acme_email must be 'none' or an email/);
  });
});

Deno.test("startServer refuses HTTPS for a domain no CA can certify, and starts nothing", async () => {
  for (const domain of ["localhost", "127.0.0.1", "single"]) {
    const storage = Storage.open(":memory:");
    storage.settings.set("domain", domain);
    await assert.rejects(
      startServer({ storage, overrides: { port: 0, host: "127.0.0.1", https: 1 } }),
      (err: unknown) => err instanceof SettingError && err.key === "domain",
      domain,
    );
    storage.close();
  }
});

Deno.test("acme_ca_file changes only on the node; other HTTPS settings over the API", async () => {
  const node = await startTestNode();
  try {
    const put = (body: Record<string, unknown>) =>
      node.fetch("/api/settings", {
        method: "PUT",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(body),
      });
    const local = await put({ acme_ca_file: "/etc/passwd" });
    assert.equal(local.status, 403);
    assert.equal((await local.json()).error.code, "LOCAL_ONLY");
    const bad = await put({ acme_directory: "ftp://x" });
    assert.equal(bad.status, 400);
    assert.equal((await bad.json()).error.details.field, "acme_directory");
    const ok = await put({ https: 1, acme_email: "me@example.com", http_port: 8080 });
    assert.equal(ok.status, 200);
    const saved = (await ok.json()).data;
    assert.equal(saved.restart_required, true);
    const stored = node.storage.settings.load();
    assert.equal(stored.acme_ca_file, "none", "the refused change was not stored");
    assert.equal(stored.https, 1);
    assert.equal(stored.http_port, 8080);
    assert.equal(stored.acme_email, "me@example.com");
  } finally {
    await node.close();
  }
});
