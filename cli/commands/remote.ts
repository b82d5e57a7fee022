import type { Command } from "commander";
import { compareVersions, isCompatibleVersion } from "../../lib/compatible_version.ts";
import { type Peer, Storage } from "../../storage/mod.ts";
import { VERSION } from "../../version.ts";
import type { ApiClient } from "../api_client.ts";
import { CliError } from "../cli_error.ts";
import { checkPeerName } from "../peer_shorthand.ts";
import { formatBytes, formatTime, printJson, printTable, visible } from "../output.ts";
import { resolveDbPath } from "../paths.ts";
import { incompatible, PeerClient, withPeers } from "../peer_client.ts";
import type { Api } from "../../server/mod.ts";
import { deployPath } from "./deploy.ts";
import { withScheme } from "../node_url.ts";
import { upgradeProgram } from "../upgrade_program.ts";
import { verifyPeer } from "../peer_verify.ts";
import { waitForVersion } from "../upgrade_wait.ts";
import { feedUpgrade } from "./upgrade.ts";

interface Flags {
  db?: string;
  json?: boolean;
}

/** The peer's base URL: `http(s)://host[:port]`, nothing else. */
function normalizeUrl(raw: string): string {
  let u: URL;
  try {
    u = new URL(withScheme(raw));
  } catch {
    throw new CliError(
      `'${raw}' is not a URL (e.g. https://admin.example.com)`,
      "VALIDATION_FAILED",
    );
  }
  if (u.protocol !== "http:" && u.protocol !== "https:") {
    throw new CliError(`'${raw}' must start with http:// or https://`, "VALIDATION_FAILED");
  }
  if (u.username || u.password || u.search || u.hash || (u.pathname !== "/" && u.pathname !== "")) {
    throw new CliError(
      `'${raw}' must be the node's address only (no path, query or credentials)`,
      "VALIDATION_FAILED",
    );
  }
  return u.origin;
}

/** A peer as shown to people and in `--json`: never its token. */
function publicPeer(p: Peer) {
  return {
    name: p.name,
    url: p.url,
    is_default: p.is_default,
    version: p.version,
    last_seen_at: p.last_seen_at,
  };
}

interface StatusRow {
  name: string;
  url: string;
  ok: boolean;
  reachable: boolean;
  version: string | null;
  compatible: boolean | null;
  uptime_s: number | null;
  apps: number | null;
  memory_bytes: number | null;
  database_bytes: number | null;
  dropped_events: number | null;
  latency_ms: number | null;
  error: { code: string; message: string } | null;
}

async function probe(peer: Peer, db: string | undefined): Promise<StatusRow> {
  const row: StatusRow = {
    name: peer.name,
    url: peer.url,
    ok: false,
    reachable: false,
    version: null,
    compatible: null,
    uptime_s: null,
    apps: null,
    memory_bytes: null,
    database_bytes: null,
    dropped_events: null,
    latency_ms: null,
    error: null,
  };
  const client = new PeerClient(peer, db, { allowIncompatible: true });
  const started = performance.now();
  try {
    const info = await client.check();
    row.latency_ms = Math.round(performance.now() - started);
    row.reachable = true;
    row.version = info.version;
    row.compatible = isCompatibleVersion(info.version, VERSION);
    row.uptime_s = info.uptime_s;
    row.apps = info.apps;
    row.memory_bytes = info.memory?.rss_bytes ?? null;
    row.database_bytes = info.database?.size_bytes ?? null;
    row.dropped_events = info.dropped_events ?? null;
    if (row.compatible) row.ok = true;
    else {
      const e = incompatible(peer.name, info.version);
      row.error = { code: e.code!, message: e.message };
    }
  } catch (err) {
    if (!(err instanceof CliError)) throw err;
    // A peer that answered with an error (a wrong token, say) is reachable.
    row.reachable = err.code !== "UNREACHABLE";
    row.error = { code: err.code ?? "ERROR", message: err.message };
  }
  return row;
}

function formatUptime(s: number | null): string {
  if (s == null) return "-";
  const d = Math.floor(s / 86400);
  const h = Math.floor((s % 86400) / 3600);
  const m = Math.floor((s % 3600) / 60);
  return d ? `${d}d ${h}h` : h ? `${h}h ${m}m` : `${m}m ${s % 60}s`;
}

export function remoteCommand(program: Command): void {
  const remote = program.command("remote").description(
    "other fazt nodes (peers) this CLI manages",
  );
  addCommand(remote);
  listCommand(remote);
  removeCommand(remote);
  defaultCommand(remote);
  statusCommand(remote);
  appsCommand(remote);
  deployToPeerCommand(remote);
  upgradeCommand(remote);
}

/** Every subcommand reads the peers table, so each takes `--db`. */
function dbOption(cmd: Command): Command {
  return cmd.option(
    "--db <path>",
    "database holding the peers table (default $FAZT_DB or ~/.fazt)",
  );
}

/**
 * `fazt remote add NAME --url URL --token T`: saved once the node answers as
 * fazt and takes the token (`peer_verify.ts`); `--no-verify` saves without
 * contacting it.
 */
function addCommand(remote: Command): void {
  dbOption(
    remote.command("add").description("add a peer, after checking it answers and the token works")
      .argument("<name>")
      .requiredOption("--url <url>", "the node's address, e.g. https://admin.example.com")
      .requiredOption("--token <token>", "an API token created on that node")
      .option("--force", "replace a peer of that name; save even if its version is incompatible")
      .option("--no-verify", "save without contacting the node (set up offline)")
      .option("--json", "print JSON"),
  ).action(
    async (
      name: string,
      flags: Flags & { url: string; token: string; force?: boolean; verify: boolean },
    ) => {
      checkPeerName(name);
      const url = normalizeUrl(flags.url);
      const dbPath = resolveDbPath(flags.db);
      const exists = (() => {
        try {
          return withPeers(flags.db, (s) => s.peers.get(name) !== undefined);
        } catch {
          return false;
        }
      })();
      if (exists && !flags.force) {
        throw new CliError(
          `a peer named '${name}' exists: remove it first or pass --force`,
          "PEER_EXISTS",
        );
      }
      const verified = flags.verify ? await verifyPeer(url, flags.token) : null;
      const compatible = verified ? isCompatibleVersion(verified.version, VERSION) : null;
      if (verified && !compatible && !flags.force) {
        const e = incompatible(name, verified.version);
        throw new CliError(`${e.message}; nothing saved (--force saves anyway)`, e.code);
      }
      // Creates the database (mode 0600) on a machine that runs no node.
      const storage = Storage.open(dbPath);
      let peer: Peer;
      try {
        storage.db.transaction(() => {
          storage.peers.upsert(name, url, flags.token);
          if (verified) storage.peers.markSeen(name, verified.version);
        });
        peer = storage.peers.get(name)!;
      } finally {
        storage.close();
      }
      if (flags.json) {
        return printJson({
          ...publicPeer(peer),
          compatible,
          verified: verified &&
            {
              version: verified.version,
              token_name: verified.token.name,
              token_scope: verified.token.scope,
            },
        });
      }
      const dflt = peer.is_default ? " (default)" : "";
      const what = verified
        ? `verified: fazt ${verified.version} answers, token '${
          visible(verified.token.name)
        }' works with scope ${visible(verified.token.scope)}`
        : `not verified (--no-verify): 'fazt remote status ${name}' checks it`;
      console.log(`added peer ${name}: ${url}${dflt}; ${what}`);
      if (verified && !compatible) {
        console.error(`warning: ${incompatible(name, verified.version).message}`);
      }
    },
  );
}

/** `fazt remote list`: the peers table, never the tokens. */
function listCommand(remote: Command): void {
  dbOption(remote.command("list").description("list peers").option("--json", "print JSON"))
    .action((flags: Flags) => {
      let peers: Peer[] = [];
      try {
        peers = withPeers(flags.db, (s) => s.peers.list());
      } catch (err) {
        if (!(err instanceof CliError && err.code === "NO_PEERS")) throw err;
      }
      if (flags.json) return printJson(peers.map(publicPeer));
      if (peers.length === 0) {
        return console.log("no peers yet: add one with 'fazt remote add NAME --url URL --token T'");
      }
      printTable(
        ["NAME", "URL", "DEFAULT", "VERSION", "LAST SEEN"],
        peers.map((p) => [
          p.name,
          p.url,
          p.is_default ? "*" : "",
          p.version,
          formatTime(p.last_seen_at),
        ]),
      );
    });
}

/** `fazt remote remove NAME`. */
function removeCommand(remote: Command): void {
  dbOption(remote.command("remove").description("forget a peer").argument("<name>"))
    .action((name: string, flags: Flags) => {
      const removed = withPeers(flags.db, (s) => s.peers.remove(name));
      if (!removed) throw new CliError(`no peer named '${name}'`, "PEER_NOT_FOUND");
      console.log(`removed peer ${name}`);
    });
}

/** `fazt remote default NAME`: the peer client commands use when no node is named. */
function defaultCommand(remote: Command): void {
  dbOption(
    remote.command("default").description("make a peer the default for client commands")
      .argument("<name>"),
  ).action((name: string, flags: Flags) => {
    const ok = withPeers(flags.db, (s) => s.peers.setDefault(name));
    if (!ok) throw new CliError(`no peer named '${name}'`, "PEER_NOT_FOUND");
    console.log(`${name} is the default peer`);
  });
}

/** `fazt remote status [NAME]`: probes one peer, or all in parallel. */
function statusCommand(remote: Command): void {
  dbOption(
    remote.command("status").description(
      "reachable, version, uptime, apps, latency (all peers in parallel without a name)",
    ).argument("[name]").option("--json", "print JSON"),
  ).action(async (name: string | undefined, flags: Flags) => {
    const peers = withPeers(flags.db, (s) => {
      if (name === undefined) return s.peers.list();
      const p = s.peers.get(name);
      if (!p) {
        throw new CliError(`no peer named '${name}': see 'fazt remote list'`, "PEER_NOT_FOUND");
      }
      return [p];
    });
    if (peers.length === 0) throw new CliError("no peers yet: see 'fazt remote add'", "NO_PEERS");
    const rows = await Promise.all(peers.map((p) => probe(p, flags.db)));
    const failed = rows.filter((r) => !r.ok);
    if (name !== undefined && failed.length) {
      // One peer asked for: its problem is the answer.
      throw new CliError(failed[0].error!.message, failed[0].error!.code);
    }
    if (flags.json) printJson(name === undefined ? rows : rows[0]);
    else {
      printTable(
        ["NAME", "STATUS", "VERSION", "UPTIME", "APPS", "MEMORY", "DATABASE", "LATENCY", "URL"],
        rows.map((r) => [
          r.name,
          r.ok ? "ok" : r.error!.code,
          r.version,
          formatUptime(r.uptime_s),
          r.apps,
          r.memory_bytes == null ? null : formatBytes(r.memory_bytes),
          r.database_bytes == null ? null : formatBytes(r.database_bytes),
          r.latency_ms == null ? null : `${r.latency_ms} ms`,
          r.url,
        ]),
      );
    }
    if (failed.length) {
      throw new CliError(
        `${failed.length} of ${rows.length} peers failed: ` +
          failed.map((r) => `${r.name} (${r.error!.code})`).join(", "),
        "PEER_FAILED",
      );
    }
  });
}

/** `fazt remote apps NAME`. */
function appsCommand(remote: Command): void {
  dbOption(
    remote.command("apps").description("list the apps of a peer").argument("<name>")
      .option("--json", "print JSON"),
  ).action(async (name: string, flags: Flags) => {
    const client = PeerClient.named(name, flags.db, { checkFirst: true });
    const apps = await client.get<Api.AppSummary[]>("/api/apps");
    if (flags.json) return printJson(apps);
    if (apps.length === 0) return console.log(`no apps on ${name} yet`);
    printTable(
      ["NAME", "LIVE", "FILES", "SIZE", "URL"],
      apps.map((a) => [a.name, a.live_version, a.files, formatBytes(a.bytes), a.url]),
    );
  });
}

/** `fazt remote deploy PATH --to NAME`: a deploy through the peer's API. */
function deployToPeerCommand(remote: Command): void {
  dbOption(
    remote.command("deploy").description("deploy a folder or .zip to a peer")
      .argument("<path>", "folder or .zip file")
      .requiredOption("--to <name>", "the peer to deploy to")
      .option("--name <app>", "app name (default: the folder's name)")
      .option("--draft", "create the version without making it live")
      .option("--spa", "serve index.html for paths with no file (a single-page app's routes)")
      .option("--force", "replace the app even if it was last deployed from another folder")
      .option("--json", "print JSON"),
  ).action((
    path: string,
    flags: Flags & { to: string; name?: string; draft?: boolean; spa?: boolean; force?: boolean },
  ) => deployPath(path, flags, () => PeerClient.named(flags.to, flags.db, { checkFirst: true })));
}

/** `fazt remote upgrade NAME`: sends a newer program, then waits for the peer to come back on it. */
function upgradeCommand(remote: Command): void {
  dbOption(
    remote.command("upgrade").description(
      "send a newer fazt to a peer, which checks it, swaps it in and restarts " +
        "(this CLI's own program unless --file); --check only reports",
    ).argument("<name>")
      .option("--check", "report versions and whether the peer can upgrade, change nothing")
      .option("--file <path>", "the program to send: a bundle (.js) or a compiled fazt")
      .option("--signature <hex>", "Ed25519 signature of the program, for a keyed peer")
      .option("--force", "also send an older or equal version")
      .option("--feed [url]", "upgrade from the peer's release feed (or this one) instead")
      .option("--version <version>", "with --feed: take exactly this version")
      .option("--json", "print JSON"),
  ).action(async (name: string, flags: Flags & UpgradeFlags) => {
    // An incompatible peer is exactly the one to upgrade, so it is not refused here.
    const client = PeerClient.named(name, flags.db, { allowIncompatible: true });
    const info = await client.check();
    if (flags.feed !== undefined) {
      const feed = typeof flags.feed === "string" ? flags.feed : undefined;
      const command = `fazt remote upgrade ${name} --feed${feed ? ` ${feed}` : ""}`;
      return await feedUpgrade(client, name, { ...flags, feed }, command);
    }
    const peer = await upgradeInfo(client, name, info.version);
    const program = await upgradeProgram(flags.file);
    const newer = program.version === undefined
      ? null
      : compareVersions(program.version, peer.version) > 0;
    if (flags.check) {
      const report = {
        peer: name,
        version: peer.version,
        form: peer.form,
        platform: `${peer.os}/${peer.arch}`,
        can_upgrade: peer.can_upgrade,
        ...(peer.reason ? { reason: peer.reason } : {}),
        candidate: program.version ?? null,
        candidate_source: program.source,
        upgrade_available: peer.can_upgrade && newer === true,
      };
      if (flags.json) return printJson(report);
      console.log(
        `${name} runs fazt ${peer.version} (${peer.form}, ${report.platform}); ` +
          `${program.source} is fazt ${program.version ?? "of unknown version"}`,
      );
      if (!peer.can_upgrade) console.log(`${name} cannot upgrade itself: ${peer.reason}`);
      else if (newer) console.log(`upgrade available: run 'fazt remote upgrade ${name}'`);
      else console.log(`${name} is up to date`);
      return;
    }
    if (!peer.can_upgrade) {
      throw new CliError(`${name} cannot upgrade itself: ${peer.reason}`, "UPGRADE_UNAVAILABLE");
    }
    if (peer.form !== program.form) {
      throw new CliError(
        `${name} runs a ${peer.form} (${peer.os}/${peer.arch}) and ${program.source} is a ` +
          `${program.form}: pass --file with a fazt ${peer.form} for it`,
        "VALIDATION_FAILED",
      );
    }
    // The pid tells a restarted node from the one that took the upload.
    // An older node may not report its pid.
    const before = await client.get<Partial<Pick<Api.System, "pid">>>("/api/system");
    const query = new URLSearchParams({ sha256: program.sha256 });
    if (flags.signature) query.set("signature", flags.signature);
    if (flags.force) query.set("force", "1");
    const sent = await client.request<Api.UpgradeStarted>(
      "POST",
      `/api/upgrade?${query}`,
      // Two minutes, plus a minute per 10 MB for slow links.
      {
        body: program.bytes,
        type: "application/octet-stream",
        timeoutMs: 120_000 + 6 * program.bytes.byteLength / 1000,
      },
    );
    if (sent.action === "already_current") {
      if (flags.json) return printJson({ peer: name, ...sent });
      return console.log(`${name} already runs fazt ${sent.to}`);
    }
    const now = await waitForVersion(client, sent.to, before.pid);
    if (now !== sent.to) {
      throw new CliError(
        `${name} did not come up on fazt ${sent.to}` +
          (now ? `: it went back to fazt ${now}` : " and does not answer"),
        "UPGRADE_FAILED",
      );
    }
    if (flags.json) return printJson({ peer: name, action: "upgraded", from: sent.from, to: now });
    console.log(`upgraded ${name} from fazt ${sent.from} to ${now}`);
  });
}

interface UpgradeFlags {
  check?: boolean;
  file?: string;
  signature?: string;
  force?: boolean;
  feed?: string | true;
  version?: string;
}

/** `GET /api/upgrade`; a node from before it existed cannot upgrade itself. */
async function upgradeInfo(
  client: ApiClient,
  name: string,
  version: string,
): Promise<Api.UpgradeInfo> {
  try {
    return await client.get<Api.UpgradeInfo>("/api/upgrade");
  } catch (err) {
    if (!(err instanceof CliError && err.code === "NOT_FOUND")) throw err;
    return {
      version,
      form: "unknown",
      os: "unknown",
      arch: "unknown",
      can_upgrade: false,
      reason:
        `fazt ${version} on ${name} has no upgrade API: install the new version there by hand`,
      signature_required: false,
    };
  }
}
