import { generatePassword, hashPassword } from "../lib/password.ts";
import type { Storage } from "../storage/mod.ts";

export interface FirstRun {
  username: string;
  password: string;
}

/**
 * On a database with no owner: creates one with a generated password and a
 * `local` peer holding a new admin token, so the CLI on this machine works at
 * once. Returns the credentials to show once, or `undefined` if an owner exists.
 */
export async function ensureOwner(
  storage: Storage,
  localUrl: string,
): Promise<FirstRun | undefined> {
  if (storage.owner.get()) return undefined;
  const username = "admin";
  const password = generatePassword();
  const hash = await hashPassword(password);
  storage.db.transaction(() => {
    storage.owner.set(username, hash);
    ensureLocalPeer(storage, localUrl);
  });
  return { username, password };
}

/** Gives the CLI on this machine a token for this node, once; keeps its URL current. */
export function ensureLocalPeer(storage: Storage, localUrl: string): void {
  const peer = storage.peers.get("local");
  if (peer) {
    if (peer.url !== localUrl) storage.peers.upsert("local", localUrl, peer.token);
    return;
  }
  const { token } = storage.tokens.create("local", "admin");
  storage.peers.upsert("local", localUrl, token);
}
