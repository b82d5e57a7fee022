/**
 * `fazt service install --root DIR`: the unit, the system user and the
 * database written under DIR, nothing else on the machine touched; the unit
 * checked by `systemd-analyze verify` where systemd is installed.
 */
import assert from "node:assert/strict";
import { SERVER_RUN_FLAGS } from "../lib/program.ts";
import { isSettingKey, Storage } from "../storage/mod.ts";
import { assertOk, assertRefused, CliSandbox, ROOT_PATH, ServerProcess } from "./cli_runner.ts";
import { waitFor } from "./deadline.ts";

async function withSandbox(fn: (sb: CliSandbox, root: string) => Promise<void>): Promise<void> {
  const sb = await CliSandbox.create();
  try {
    await fn(sb, `${sb.dir}/root`);
  } finally {
    await sb.remove();
  }
}

function files(dir: string, prefix = ""): string[] {
  const out: string[] = [];
  try {
    for (const e of Deno.readDirSync(dir)) {
      const rel = `${prefix}${e.name}`;
      if (e.isDirectory) out.push(...files(`${dir}/${e.name}`, `${rel}/`));
      else out.push(rel);
    }
  } catch (err) {
    if (!(err instanceof Deno.errors.NotFound)) throw err;
  }
  return out.sort();
}

function which(name: string): string | undefined {
  for (const dir of (Deno.env.get("PATH") ?? "").split(":")) {
    try {
      if (Deno.statSync(`${dir}/${name}`).isFile) return `${dir}/${name}`;
    } catch {
      // not here
    }
  }
  return undefined;
}

Deno.test("service install --root: the unit, the user and the database, and nothing else", async () => {
  await withSandbox(async (sb, root) => {
    const first = assertOk(
      await sb.cli(["service", "install", "--root", root, "--domain", "example.com"]),
    );
    assert.match(first.stdout, /password: \S{20,}/);
    assert.match(first.stdout, /--root: nothing else on this system was changed/);
    assert.deepEqual(files(root), [
      "etc/systemd/system/fazt.service",
      "etc/sysusers.d/fazt.conf",
      "var/lib/fazt/data.db",
    ]);
    const unitPath = `${root}/etc/systemd/system/fazt.service`;
    assert.equal(Deno.statSync(unitPath).mode! & 0o777, 0o644);
    const unit = Deno.readTextFileSync(unitPath);
    const lines = unit.split("\n");
    // A checkout runs as the README's `deno task start` does: deno run, the start task's flags.
    const exec = [
      Deno.execPath(),
      "run",
      "--config",
      `${ROOT_PATH}deno.json`,
      ...SERVER_RUN_FLAGS,
      `${ROOT_PATH}main.ts`,
      "server",
      "start",
      "--db",
      "/var/lib/fazt/data.db",
    ].join(" ");
    for (
      const line of [
        `ExecStart=${exec}`,
        "User=fazt",
        "ReadWritePaths=/var/lib/fazt",
        "ProtectSystem=strict",
        "NoNewPrivileges=yes",
        "PrivateTmp=yes",
        "AmbientCapabilities=CAP_NET_BIND_SERVICE",
        "Restart=always",
      ]
    ) {
      assert.ok(lines.includes(line), `missing ${line}:\n${unit}`);
    }
    assert.match(
      Deno.readTextFileSync(`${root}/etc/sysusers.d/fazt.conf`),
      /^u fazt - "fazt node" \/var\/lib\/fazt -$/m,
    );
    const storage = Storage.open(`${root}/var/lib/fazt/data.db`);
    try {
      assert.equal(storage.settings.load().domain, "example.com");
      assert.ok(storage.owner.get(), "the owner exists, its password shown at install");
      assert.ok(storage.peers.get("local"), "the CLI on the machine can reach the node");
    } finally {
      storage.close();
    }

    // Again: the same files, the same owner, no new password.
    const again = assertOk(
      await sb.cli(["service", "install", "--root", root, "--domain", "example.com"]),
    );
    assert.doesNotMatch(again.stdout, /password/);
    assert.equal(Deno.readTextFileSync(unitPath), unit);

    const analyze = which("systemd-analyze");
    if (analyze) {
      const out = await new Deno.Command(analyze, {
        args: ["verify", "--man=no", unitPath],
        stdout: "piped",
        stderr: "piped",
      }).output();
      const said = new TextDecoder().decode(out.stderr) + new TextDecoder().decode(out.stdout);
      assert.equal(out.code, 0, said);
      assert.equal(said.trim(), "", "no warning about any line of the unit");
    } else {
      console.log("systemd-analyze is not installed: the unit text was checked, not verified");
    }

    assertOk(await sb.cli(["service", "uninstall", "--root", root]));
    assert.deepEqual(files(root), ["var/lib/fazt/data.db"], "the data is kept");
  });
});

Deno.test("service install --https --email: HTTPS on and the contact stored for the node", async () => {
  await withSandbox(async (sb, root) => {
    const flags = ["--domain", "example.com", "--https", "--email", "you@example.com"];
    assertOk(await sb.cli(["service", "install", "--root", root, ...flags]));
    const storage = Storage.open(`${root}/var/lib/fazt/data.db`);
    try {
      const settings = storage.settings.load();
      assert.equal(settings.https, 1);
      assert.equal(settings.acme_email, "you@example.com");
      assert.equal(settings.domain, "example.com");
    } finally {
      storage.close();
    }
    // Again without --domain: the stored one is certifiable.
    assertOk(await sb.cli(["service", "install", "--root", root, "--https"]));

    // The unit's own ExecStart serves HTTPS: the settings are in the
    // database, not on the command line. Run here with the database under
    // --root, loopback ports instead of 80/443 and a CA that is not there
    // (nothing may reach Let's Encrypt from a test).
    const unit = Deno.readTextFileSync(`${root}/etc/systemd/system/fazt.service`);
    const exec = /^ExecStart=(.+)$/m.exec(unit)![1].split(" ");
    assert.ok(
      !exec.some((w) => /^--(https|http-port|port|acme|tls)/.test(w)),
      `no HTTPS flags: ${exec.join(" ")}`,
    );
    assert.deepEqual(exec.slice(-4), ["server", "start", "--db", "/var/lib/fazt/data.db"]);
    const [program, ...args] = exec;
    const node = new ServerProcess(
      new Deno.Command(program, {
        args: [
          ...args.slice(0, -1),
          `${root}/var/lib/fazt/data.db`,
          ...["--host", "127.0.0.1", "--http-port", "0", "--https-port", "0"],
          ...["--acme-directory", "https://127.0.0.1:9/dir"],
        ],
        env: sb.env(),
        clearEnv: true,
        stdin: "null",
        stdout: "piped",
        stderr: "piped",
      }).spawn(),
    );
    try {
      await node.ready();
      // The banner's HTTPS lines come after the one ready() waits for.
      await waitFor(() => /^https: +certificates from/m.test(node.out), "the HTTPS lines");
      const httpsPort = Number(/^https: +port (\d+)$/m.exec(node.out)?.[1]);
      assert.ok(httpsPort > 0, `an HTTPS port:\n${node.out}`);
      assert.match(
        node.out,
        new RegExp(`^admin: +https://admin\\.example\\.com:${httpsPort}$`, "m"),
      );
      assert.match(node.out, /^https: +certificates from https:\/\/127\.0\.0\.1:9\/dir/m);
      // The HTTPS port answers TLS (the fallback certificate until one is issued).
      const tls = await new Deno.Command("curl", {
        args: [
          "-sk",
          "-o",
          "/dev/null",
          "-w",
          "%{http_code}",
          `https://127.0.0.1:${httpsPort}/health`,
        ],
        stdout: "piped",
        stderr: "piped",
      }).output();
      assert.equal(new TextDecoder().decode(tls.stdout), "200");
      // The plain port serves the CLI on the machine.
      const plain = await fetch(`http://127.0.0.1:${node.port}/health`);
      assert.equal(plain.status, 200);
      await plain.body?.cancel();
      assert.equal((await node.stop()).code, 0);
    } finally {
      await node.kill();
    }
  });
});

Deno.test("service install: each refusal writes nothing", async () => {
  await withSandbox(async (sb, root) => {
    const cases: [string[], RegExp][] = [
      [["--user", "Not A User"], /not a system user name.*VALIDATION_FAILED/],
      [["--user", "root;rm"], /not a system user name/],
      [["--data-dir", "var/lib/fazt"], /--data-dir must be an absolute path/],
      [["--data-dir", '/srv/"x"'], /--data-dir must be an absolute path/],
      [["--domain", " "], /domain must not be empty.*VALIDATION_FAILED/],
    ];
    if (!isSettingKey("https")) cases.push([["--https"], /automatic HTTPS.*UNSUPPORTED/]);
    else {
      cases.push(
        [["--https"], /--https needs the node's domain .*'localhost'.*VALIDATION_FAILED/],
        [["--https", "--domain", "10.0.0.1"], /'10\.0\.0\.1' cannot have a certificate/],
        [["--https", "--domain", "x.example", "--email", "nobody"], /acme_email must be/],
      );
    }
    for (const [flags, pattern] of cases) {
      assertRefused(await sb.cli(["service", "install", "--root", root, ...flags]), pattern);
      assert.deepEqual(files(root), [], flags.join(" "));
    }
    assertRefused(
      await sb.cli(["service", "install", "--root", "relative/root"]),
      /--root must be an absolute path/,
    );
    assertRefused(
      await sb.cli(["@local", "service", "install", "--root", root]),
      /acts on this machine.*VALIDATION_FAILED/,
    );
    assertRefused(
      await sb.cli(["service", "logs", "--lines", "ten"]),
      /--lines must be a whole number/,
    );
    assert.deepEqual(files(root), []);
  });
});
