/**
 * The systemd unit a node runs under (`fazt service install`): its own
 * system user, a read-only system but for its data and its program's
 * folder, no privileges beyond binding ports 80 and 443.
 * @module
 */

export interface UnitOptions {
  /** The service's system user (and group of the same name). */
  user: string;
  /** `argv` of the node: `[program, ..., "server", "start", "--db", db]`. */
  command: string[];
  /** Where the database lives: the only place the node writes, with `writable`. */
  dataDir: string;
  /** Other folders the node may write: the program's, so it can upgrade itself. */
  writable: string[];
  /** Seconds systemd waits for a clean stop before it kills what is left. */
  stopTimeoutSec: number;
  /** Extra environment (`DENO_DIR`, …). */
  environment: Record<string, string>;
}

/** Folders that must stay readable under `ProtectHome=` when the program lives in one. */
const HOME_DIRS = ["/home", "/root", "/run/user"];

const within = (path: string, dir: string) => path === dir || path.startsWith(`${dir}/`);

/**
 * One argument of `ExecStart=` or value of `Environment=`: systemd splits on
 * spaces, unquotes `"…"`, and expands `$VAR` and `%x` specifiers, so those
 * are escaped.
 */
export function unitWord(arg: string): string {
  if (/[\0\n\r]/.test(arg)) throw new Error("a unit file word cannot hold a line break");
  const escaped = arg.replaceAll("%", "%%").replaceAll("$", "$$$$");
  if (/^[A-Za-z0-9_@%+=:,./$-]+$/.test(escaped)) return escaped;
  return `"${escaped.replaceAll("\\", "\\\\").replaceAll('"', '\\"')}"`;
}

/** The text of `fazt.service`. */
export function systemdUnit(o: UnitOptions): string {
  const paths = [o.dataDir, ...o.writable];
  // A program under /home or /root must stay readable; otherwise hide them.
  const protectHome = [...paths, ...o.command.filter((a) => a.startsWith("/"))]
      .some((p) => HOME_DIRS.some((h) => within(p, h)))
    ? "read-only"
    : "yes";
  const env = Object.entries(o.environment).map(([k, v]) => `Environment=${unitWord(`${k}=${v}`)}`);
  return [
    "# Written by `fazt service install`; `fazt service uninstall` removes it.",
    "# Run it again to change it: what it writes depends only on its flags.",
    "[Unit]",
    "Description=fazt: sovereign compute for one person",
    "Wants=network-online.target",
    "After=network-online.target",
    // Keep trying however often it fails: a node is meant to run unattended.
    "StartLimitIntervalSec=0",
    "",
    "[Service]",
    "Type=simple",
    `User=${o.user}`,
    `Group=${o.user}`,
    `ExecStart=${o.command.map(unitWord).join(" ")}`,
    `WorkingDirectory=${unitWord(o.dataDir)}`,
    ...env,
    "Restart=always",
    "RestartSec=3",
    // SIGTERM to the main process only: the node then stops accepting, lets
    // requests in flight finish (those in its app hosts too, which it stops
    // itself afterwards) and closes the database. After TimeoutStopSec,
    // whatever is left of the unit gets SIGKILL.
    "KillMode=mixed",
    "KillSignal=SIGTERM",
    `TimeoutStopSec=${o.stopTimeoutSec}`,
    "LimitNOFILE=65535",
    "UMask=0077",
    // Ports 80 and 443 without root, and no other privilege, ever.
    "AmbientCapabilities=CAP_NET_BIND_SERVICE",
    "CapabilityBoundingSet=CAP_NET_BIND_SERVICE",
    "NoNewPrivileges=yes",
    "ProtectSystem=strict",
    `ReadWritePaths=${paths.map(unitWord).join(" ")}`,
    `ProtectHome=${protectHome}`,
    "PrivateTmp=yes",
    "PrivateDevices=yes",
    "ProtectKernelTunables=yes",
    "ProtectKernelModules=yes",
    "ProtectKernelLogs=yes",
    "ProtectControlGroups=yes",
    "ProtectClock=yes",
    "ProtectHostname=yes",
    "RestrictSUIDSGID=yes",
    "RestrictNamespaces=yes",
    "RestrictRealtime=yes",
    "LockPersonality=yes",
    "SystemCallArchitectures=native",
    // No MemoryDenyWriteExecute: V8 compiles JavaScript to machine code.
    "",
    "[Install]",
    "WantedBy=multi-user.target",
    "",
  ].join("\n");
}

/** `/etc/sysusers.d/<user>.conf`: the service's system user, made by `systemd-sysusers`. */
export function sysusersConf(user: string, home: string): string {
  return [
    "# Written by `fazt service install`: the user the fazt node runs as.",
    `u ${user} - "fazt node" ${home} -`,
    "",
  ].join("\n");
}
