import { Storage } from "../storage/mod.ts";
import { ApiClient } from "./api_client.ts";
import { CliError } from "./cli_error.ts";
import { nodeUrl } from "./node_url.ts";
import { PeerClient } from "./peer_client.ts";
import { fileExists, resolveDbPath } from "./paths.ts";
import { peerInUse } from "./peer_shorthand.ts";

export interface ConnectionFlags {
  url?: string;
  token?: string;
  db?: string;
}

/**
 * Which node a client command talks to: `fazt @NAME`, else `--url/--token`,
 * else `FAZT_URL/FAZT_TOKEN`, else the default entry of the `peers` table in
 * the local database. There is no client config file.
 */
export function connect(flags: ConnectionFlags): ApiClient {
  const peer = peerInUse();
  if (peer !== undefined) {
    if (flags.url || flags.token) {
      throw new CliError("use either @NAME or --url/--token, not both", "VALIDATION_FAILED");
    }
    return PeerClient.named(peer, flags.db, { checkFirst: true });
  }
  const url = flags.url ?? Deno.env.get("FAZT_URL");
  const token = flags.token ?? Deno.env.get("FAZT_TOKEN");
  if (url || token) {
    if (!url) {
      throw new CliError(
        "a token was given without a server: add --url or set FAZT_URL",
        "VALIDATION_FAILED",
      );
    }
    if (!token) {
      throw new CliError(
        "a server was given without a token: add --token or set FAZT_TOKEN",
        "VALIDATION_FAILED",
      );
    }
    return new ApiClient({ url: nodeUrl(url), token, source: flags.url ? "--url" : "FAZT_URL" });
  }
  const dbPath = resolveDbPath(flags.db);
  const hint =
    "pass --url and --token, set FAZT_URL and FAZT_TOKEN, or run 'fazt server start' on this machine once";
  if (!fileExists(dbPath)) throw new CliError(`no server configured: ${hint}`, "NO_SERVER");
  const storage = Storage.open(dbPath);
  try {
    const peer = storage.peers.getDefault();
    if (!peer) throw new CliError(`no default peer in ${dbPath}: ${hint}`, "NO_SERVER");
    return new ApiClient({ url: peer.url, token: peer.token, source: `peer '${peer.name}'` });
  } finally {
    storage.close();
  }
}
