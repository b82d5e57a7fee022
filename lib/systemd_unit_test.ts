import assert from "node:assert/strict";
import { systemdUnit, sysusersConf, unitWord } from "./systemd_unit.ts";

const base = {
  user: "fazt",
  command: ["/opt/fazt/fazt", "server", "start", "--db", "/var/lib/fazt/data.db"],
  dataDir: "/var/lib/fazt",
  writable: ["/opt/fazt"],
  stopTimeoutSec: 30,
  environment: { HOME: "/var/lib/fazt" },
};

/** The unit's `Key=value` lines of one section, in order. */
function section(unit: string, name: string): string[] {
  const lines = unit.split("\n");
  const start = lines.indexOf(`[${name}]`);
  assert.ok(start >= 0, `no [${name}]`);
  const out: string[] = [];
  for (const line of lines.slice(start + 1)) {
    if (line.startsWith("[")) break;
    if (line && !line.startsWith("#")) out.push(line);
  }
  return out;
}

Deno.test("unit: runs as its own user, read-only system, one capability, restarts", () => {
  const service = section(systemdUnit(base), "Service");
  for (
    const line of [
      "User=fazt",
      "Group=fazt",
      "ExecStart=/opt/fazt/fazt server start --db /var/lib/fazt/data.db",
      "WorkingDirectory=/var/lib/fazt",
      "Environment=HOME=/var/lib/fazt",
      "Restart=always",
      "KillMode=mixed",
      "TimeoutStopSec=30",
      "LimitNOFILE=65535",
      "AmbientCapabilities=CAP_NET_BIND_SERVICE",
      "CapabilityBoundingSet=CAP_NET_BIND_SERVICE",
      "NoNewPrivileges=yes",
      "ProtectSystem=strict",
      "ReadWritePaths=/var/lib/fazt /opt/fazt",
      "ProtectHome=yes",
      "PrivateTmp=yes",
    ]
  ) {
    assert.ok(service.includes(line), `missing ${line}`);
  }
  assert.ok(!service.some((l) => l.startsWith("MemoryDenyWriteExecute")), "V8 needs W^X off");
  assert.deepEqual(section(systemdUnit(base), "Install"), ["WantedBy=multi-user.target"]);
});

Deno.test("unit: a program under /root or /home stays readable", () => {
  const unit = systemdUnit({
    ...base,
    command: ["/root/.deno/bin/deno", "run", "/root/fazt/main.ts", "server", "start"],
    writable: [],
  });
  const service = section(unit, "Service");
  assert.ok(service.includes("ProtectHome=read-only"));
  assert.ok(service.includes("ReadWritePaths=/var/lib/fazt"));
});

Deno.test("unit: words are quoted and escaped for systemd", () => {
  assert.equal(unitWord("/opt/fazt/fazt"), "/opt/fazt/fazt");
  assert.equal(unitWord("--allow-env=A,B"), "--allow-env=A,B");
  assert.equal(unitWord("/srv/my data/data.db"), '"/srv/my data/data.db"');
  assert.equal(unitWord("100%"), "100%%", "no specifier expansion");
  assert.equal(unitWord("$HOME"), "$$HOME", "no variable expansion");
  assert.equal(unitWord('a "b" \\c'), '"a \\"b\\" \\\\c"');
  assert.throws(() => unitWord("a\nb"), /line break/);
  const unit = systemdUnit({ ...base, dataDir: "/srv/my data" });
  assert.ok(section(unit, "Service").includes('WorkingDirectory="/srv/my data"'));
});

Deno.test("sysusers: one system user with the data folder as home", () => {
  assert.match(sysusersConf("fazt", "/var/lib/fazt"), /^u fazt - "fazt node" \/var\/lib\/fazt -$/m);
});
