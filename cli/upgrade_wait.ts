/**
 * Waiting for a node to come back after it accepted an upgrade (`fazt
 * upgrade`, `fazt remote upgrade`): it answers 202, stops, and its
 * supervisor starts the new program, or the old one again if the new one
 * does not come up healthy.
 * @module
 */
import type { ApiClient } from "./api_client.ts";
import type { SystemInfo } from "./peer_client.ts";

/**
 * Polls the peer while it restarts: the version of the first process other
 * than `oldPid` that answers (`to`, or the old one after a roll-back), or the
 * last version seen if none does in time.
 */
export async function waitForVersion(
  client: ApiClient,
  to: string,
  oldPid: number | undefined,
): Promise<string | undefined> {
  const deadline = Date.now() + 90_000;
  let last: string | undefined;
  while (Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 250));
    try {
      const info = await client.request<SystemInfo & { pid?: number }>("GET", "/api/system", {
        timeoutMs: 2000,
      });
      last = info.version;
      if (info.pid !== oldPid && (info.version === to || oldPid !== undefined)) return last;
    } catch {
      // restarting
    }
  }
  return last;
}
