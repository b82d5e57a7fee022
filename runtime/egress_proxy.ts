/**
 * The egress proxy: the only way out of an app's Worker. One per slot that
 * holds an app with `permissions.net`, on a Unix socket only that slot's
 * Worker may open. The Worker's `fetch` sends every request to it
 * (`runtime/worker/egress.ts`); it checks the target against the manifest's
 * `net` list, resolves the name, refuses private addresses unless the
 * manifest opts the name in (`netPrivate`) or lists the address itself,
 * connects to the very address it checked (no second lookup to rebind),
 * and relays the answer as it streams. Redirects come back to the Worker,
 * which asks again for each hop, so each hop is checked.
 * @module
 */
import { acceptLoop } from "../lib/accept_loop.ts";
import { once } from "../lib/lazy.ts";
import { serveConnection } from "../lib/serve_connection.ts";
import { isAddressLiteral, isPrivateAddress } from "./egress_address.ts";
import { ERROR_HEADER, listed, portOf, REFUSED_HEADER, TARGET_HEADER } from "./worker/egress.ts";

export interface EgressRules {
  net: readonly string[];
  /** Names (or `name:port`) allowed to resolve to private addresses. */
  netPrivate: readonly string[];
}

const HOP_BY_HOP = new Set([
  "connection",
  "keep-alive",
  "proxy-authenticate",
  "proxy-authorization",
  "proxy-connection",
  "te",
  "trailer",
  "transfer-encoding",
  "upgrade",
  "host",
  TARGET_HEADER,
]);
const IDLE_MS = 60_000;

class Refused extends Error {}

/**
 * Node's HTTP client, loaded with the first request out: it costs tens of
 * milliseconds of start-up, and most nodes have no app with `net`.
 */
const nodeClient = once(async () => {
  const [dns, http, https, stream] = await Promise.all([
    import("node:dns"),
    import("node:http"),
    import("node:https"),
    import("node:stream"),
  ]);
  return { lookup: dns.lookup, http, https, Readable: stream.Readable };
});
type NodeClient = Awaited<ReturnType<typeof nodeClient>>;

function refusal(message: string): Response {
  return new Response(message, { status: 403, headers: { [REFUSED_HEADER]: "1" } });
}

function failure(message: string): Response {
  return new Response(message, { status: 502, headers: { [ERROR_HEADER]: "1" } });
}

type LookupAnswer = { address: string; family: number }[];

/** A `lookup` for node's http that refuses private answers unless allowed. */
function checkedLookup(lookup: NodeClient["lookup"], allowPrivate: boolean) {
  return (
    host: string,
    opts: { all?: boolean },
    cb: (err: Error | null, address: string | LookupAnswer, family?: number) => void,
  ) => {
    lookup(host, { all: true }, (err, addresses: LookupAnswer) => {
      if (err) return cb(err, []);
      const bad = allowPrivate ? undefined : addresses.find((a) => isPrivateAddress(a.address));
      if (bad || addresses.length === 0) {
        return cb(
          new Refused(
            `"${host}" resolves to ${bad?.address ?? "nothing"}, a private address; ` +
              `list it in the manifest's netPrivate to allow it`,
          ),
          [],
        );
      }
      if (opts?.all) return cb(null, addresses);
      cb(null, addresses[0].address, addresses[0].family);
    });
  };
}

/** Forwards one checked request; the answer streams back. */
async function forward(req: Request, url: URL, allowPrivate: boolean): Promise<Response> {
  const { lookup, http, https, Readable } = await nodeClient();
  const headers: Record<string, string[]> = {};
  req.headers.forEach((v, k) => {
    if (!HOP_BY_HOP.has(k)) (headers[k] ??= []).push(v);
  });
  const hostname = url.hostname.startsWith("[") ? url.hostname.slice(1, -1) : url.hostname;
  const mod = url.protocol === "https:" ? https : http;
  return await new Promise((resolve) => {
    const out = mod.request({
      hostname,
      port: Number(portOf(url)),
      path: url.pathname + url.search,
      method: req.method,
      headers: { ...headers, host: url.host },
      lookup: checkedLookup(lookup, allowPrivate) as never,
      agent: false,
    }, (res) => {
      const h = new Headers();
      const raw = res.rawHeaders;
      for (let i = 0; i + 1 < raw.length; i += 2) {
        if (!HOP_BY_HOP.has(raw[i].toLowerCase())) h.append(raw[i], raw[i + 1]);
      }
      const status = res.statusCode ?? 502;
      if (status < 200 || status > 599) {
        res.destroy();
        return resolve(failure(`the server answered with status ${status}`));
      }
      const nullBody = status === 204 || status === 205 || status === 304 ||
        req.method === "HEAD";
      const body = nullBody ? null : Readable.toWeb(res) as ReadableStream<Uint8Array>;
      if (nullBody) res.resume();
      resolve(new Response(body, { status, headers: h }));
    });
    out.setTimeout(IDLE_MS, () => out.destroy(new Error("the server did not answer in time")));
    out.on("error", (err) => {
      resolve(err instanceof Refused ? refusal(err.message) : failure(err.message));
    });
    if (req.body) {
      Readable.fromWeb(req.body as never).pipe(out);
    } else out.end();
  });
}

/** The proxy's answer to one request from the Worker. */
export function egress(req: Request, rules: EgressRules): Promise<Response> | Response {
  let url: URL;
  try {
    url = new URL(req.headers.get(TARGET_HEADER) ?? "");
  } catch {
    return refusal("no target URL");
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    return refusal(`fetch of ${url.protocol} URLs is not supported`);
  }
  const port = portOf(url);
  if (!listed(rules.net, url.hostname, port)) {
    return refusal(`Requires net access to "${url.host}": not in the manifest's permissions.net`);
  }
  const allowPrivate = isAddressLiteral(url.hostname) ||
    listed(rules.netPrivate, url.hostname, port);
  return forward(req, url, allowPrivate);
}

/** One slot's proxy, listening on its socket until closed. */
export class EgressProxy {
  readonly #listener: Deno.Listener;
  readonly #servers = new Set<Deno.HttpServer>();

  constructor(readonly path: string, rules: EgressRules) {
    // Not `Deno.serve`: a failed accept() (the node out of descriptors)
    // would end the whole node.
    this.#listener = Deno.listen({ transport: "unix", path });
    acceptLoop(this.#listener, (conn) => {
      const server = serveConnection(
        conn,
        undefined,
        (req) => egress(req, rules),
        () => failure("the egress proxy failed"),
      );
      this.#servers.add(server);
      server.finished.catch(() => {}).finally(() => this.#servers.delete(server));
    });
  }

  async close(): Promise<void> {
    try {
      this.#listener.close();
    } catch {
      // Closed already.
    }
    await Promise.all([...this.#servers].map((s) => s.shutdown().catch(() => {})));
    await Deno.remove(this.path).catch(() => {});
  }
}
