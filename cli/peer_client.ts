import { isCompatibleVersion } from "../lib/compatible_version.ts";
import type { Api } from "../server/mod.ts";
import { type Peer, Storage } from "../storage/mod.ts";
import { VERSION } from "../version.ts";
import { ApiClient } from "./api_client.ts";
import { CliError } from "./cli_error.ts";
import { fileExists, resolveDbPath } from "./paths.ts";

/** What `GET /api/system` reports. */
export type SystemInfo = Api.System;

/** How long a peer may take to answer a status probe. */
export const PROBE_TIMEOUT_MS = 10_000;

/** Runs `fn` on the local database holding the peers; refuses when it does not exist. */
export function withPeers<T>(db: string | undefined, fn: (storage: Storage) => T): T {
  const path = resolveDbPath(db);
  if (!fileExists(path)) {
    throw new CliError(
      `no peers yet (${path} does not exist): add one with 'fazt remote add NAME --url URL --token T'`,
      "NO_PEERS",
    );
  }
  const storage = Storage.open(path);
  try {
    return fn(storage);
  } finally {
    storage.close();
  }
}

/** The named peer, or a clear refusal. */
export function findPeer(name: string, db?: string): Peer {
  return withPeers(db, (s) => {
    const peer = s.peers.get(name);
    if (!peer) {
      throw new CliError(`no peer named '${name}': see 'fazt remote list'`, "PEER_NOT_FOUND");
    }
    return peer;
  });
}

/**
 * A client for one peer of the `peers` table. `check()` asks the peer for
 * `/api/system`, refuses a wrong token or an incompatible version with a
 * clear message, and records when the peer was seen and its version. With
 * `checkFirst`, every other request waits for that check.
 */
export class PeerClient extends ApiClient {
  #checked?: Promise<SystemInfo>;

  constructor(
    readonly peer: Peer,
    readonly db: string | undefined,
    readonly opts: { checkFirst?: boolean; allowIncompatible?: boolean } = {},
  ) {
    super({ url: peer.url, token: peer.token, source: `peer '${peer.name}'` });
  }

  static named(
    name: string,
    db: string | undefined,
    opts?: { checkFirst?: boolean; allowIncompatible?: boolean },
  ): PeerClient {
    return new PeerClient(findPeer(name, db), db, opts);
  }

  check(): Promise<SystemInfo> {
    if (!this.#checked) {
      this.#checked = this.#check();
      // A failed check may be retried.
      this.#checked.catch(() => (this.#checked = undefined));
    }
    return this.#checked;
  }

  async #check(): Promise<SystemInfo> {
    const name = this.peer.name;
    let info: SystemInfo;
    try {
      info = await super.request<SystemInfo>("GET", "/api/system", { timeoutMs: PROBE_TIMEOUT_MS });
    } catch (err) {
      if (
        err instanceof CliError && (err.code === "INVALID_TOKEN" || err.code === "UNAUTHORIZED")
      ) {
        throw new CliError(
          `peer '${name}' (${this.peer.url}) refused its token: ${err.message}. ` +
            `Make a new one there ('fazt token create') and run 'fazt remote add ${name} --force ...'`,
          err.code,
        );
      }
      throw err;
    }
    if (typeof info?.version !== "string") {
      throw new CliError(`${this.peer.url} did not report a fazt version`, "BAD_RESPONSE");
    }
    try {
      withPeers(this.db, (s) => s.peers.markSeen(name, info.version));
    } catch {
      // Recording the visit is a convenience; the answer stands without it.
    }
    if (!this.opts.allowIncompatible && !isCompatibleVersion(info.version, VERSION)) {
      throw incompatible(name, info.version);
    }
    return info;
  }

  override async request<T = unknown>(
    method: string,
    path: string,
    init: { body?: BodyInit; type?: string; timeoutMs?: number } = {},
  ): Promise<T> {
    if (this.opts.checkFirst) await this.check();
    return super.request<T>(method, path, init);
  }
}

export function incompatible(name: string, version: string): CliError {
  return new CliError(
    `peer '${name}' runs fazt ${version}, this CLI is fazt ${VERSION}: versions must share ` +
      `major.minor. Upgrade the older one ('fazt remote upgrade ${name} --check')`,
    "INCOMPATIBLE_VERSION",
  );
}
