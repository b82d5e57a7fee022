/**
 * What `fazt remote add` checks before it saves a peer (`lib/peer_probe.ts`,
 * which the dashboard's `POST /api/peers` shares), as the CLI's errors.
 * @module
 */
import { probePeer } from "../lib/peer_probe.ts";
import { CliError } from "./cli_error.ts";
import { PROBE_TIMEOUT_MS } from "./peer_client.ts";

/** What was checked: the node's version, and the token's name and scope there. */
export interface VerifiedPeer {
  version: string;
  token: { name: string; scope: string };
}

/**
 * Checks `url` and `token` against the node: `UNREACHABLE`,
 * `NOT_FAZT_NODE`, `REDIRECTED`, the node's own code when it refused the
 * token (`INVALID_TOKEN`) or failed, or `BAD_RESPONSE`; each message ends
 * "nothing saved".
 */
export async function verifyPeer(url: string, token: string): Promise<VerifiedPeer> {
  const probe = await probePeer(url, token, PROBE_TIMEOUT_MS);
  if (probe.ok) return { version: probe.version, token: probe.token };
  throw new CliError(`${probe.message}; nothing saved`, probe.code ?? probe.reason);
}
