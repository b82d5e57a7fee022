/**
 * Adding and removing peers from the dashboard: the same `peers` table as
 * `fazt remote add|remove` (on this machine's database), never answering a
 * peer's token.
 */
import { probePeer } from "../../lib/peer_probe.ts";
import type { RouteContext } from "../context.ts";
import { HttpError } from "../http_error.ts";
import type * as Api from "../api_types.ts";
import { readJsonObject } from "../json_body.ts";
import { type Answer, json } from "../respond.ts";

/** As `fazt remote add` has it. */
const PEER_NAME = /^[a-z0-9][a-z0-9_-]{0,62}$/;
const MAX_TOKEN = 512;

/** The peer's base URL: `http(s)://host[:port]`, nothing else. */
function peerUrl(raw: unknown): string {
  let u: URL | undefined;
  try {
    u = typeof raw === "string" && raw.length <= 2048 ? new URL(raw) : undefined;
  } catch {
    // said below
  }
  if (!u || (u.protocol !== "http:" && u.protocol !== "https:")) {
    throw HttpError.validation("url", "format", "url must be http:// or https:// and a host");
  }
  if (u.username || u.password || u.search || u.hash || (u.pathname !== "/" && u.pathname !== "")) {
    throw HttpError.validation(
      "url",
      "origin",
      "url must be the node's address only (no path, query or credentials)",
    );
  }
  return u.origin;
}

const exists = (name: string) =>
  new HttpError(409, "PEER_EXISTS", `A peer named '${name}' exists: remove it first`);

function publicPeer(p: Api.PeerInfo & { token?: string }): Api.PeerInfo {
  const { token: _, ...rest } = p;
  return rest;
}

/** How long each of the peer's answers may take while it is verified. */
const PROBE_TIMEOUT_MS = 10_000;

/**
 * `POST /api/peers` `{"name", "url", "token", "verify"?}`: 201 with the peer;
 * 409 when the name is taken. Unless `verify` is false, the peer is checked
 * first as `fazt remote add` checks it, and a failure is a 422 saying why
 * (`PEER_UNREACHABLE`, `PEER_NOT_FAZT_NODE`, `PEER_REDIRECTED`,
 * `PEER_TOKEN_REFUSED`, `PEER_BAD_RESPONSE`), with nothing saved.
 */
export async function addPeer(c: RouteContext): Promise<Answer<Api.PeerInfo>> {
  const body = await readJsonObject(c.req);
  const { name, token } = body;
  if (typeof name !== "string" || !PEER_NAME.test(name)) {
    throw HttpError.validation(
      "name",
      "format",
      "name must be lowercase letters, digits, '-' and '_', at most 63",
    );
  }
  const url = peerUrl(body.url);
  if (typeof token !== "string" || token.length === 0 || token.length > MAX_TOKEN) {
    throw HttpError.validation("token", "format", "token must be an API token of that node");
  }
  if (body.verify !== undefined && typeof body.verify !== "boolean") {
    throw HttpError.validation("verify", "type", "verify must be true or false");
  }
  const { peers, db } = c.server.storage;
  // Before the peer is asked anything: a taken name needs no network.
  if (peers.get(name)) throw exists(name);
  let version: string | undefined;
  if (body.verify !== false) {
    const probe = await probePeer(url, token, PROBE_TIMEOUT_MS);
    if (probe.ok) version = probe.version;
    else {
      throw new HttpError(422, `PEER_${probe.reason}`, `${probe.message}; nothing saved`, {
        details: probe.code ? { peer_code: probe.code } : undefined,
      });
    }
  }
  const peer = db.transaction(() => {
    if (peers.get(name)) throw exists(name);
    peers.upsert(name, url, token);
    if (version) peers.markSeen(name, version);
    return peers.get(name)!;
  });
  return json(publicPeer(peer), 201);
}

/** `DELETE /api/peers/:name` */
export function removePeer(c: RouteContext): Answer<Api.PeerRemoved> {
  const name = c.params.name;
  if (!c.server.storage.peers.remove(name)) {
    throw new HttpError(404, "PEER_NOT_FOUND", `No peer named '${name.slice(0, 64)}'`);
  }
  return json({ removed: name });
}
