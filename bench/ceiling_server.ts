/**
 * The ceiling for this runtime: a bare `Deno.serve` that answers from memory
 * with the bytes and headers fazt sends (read from a real fazt response by the
 * static benchmark and written to a spec file). Nothing else happens per
 * request, so no server written in Deno can be much faster. Each answer is a
 * clone of a response built once: the fastest way this runtime has to send
 * the same bytes again (no body copy, no header re-validation), which fazt
 * uses too.
 *
 *   deno run --allow-net=127.0.0.1 --allow-read=DIR bench/ceiling_server.ts SPEC.json PORT [door]
 *
 * With `door`, the same handler is served through fazt's front door
 * (server/front_door.ts: its own accept loop, caps, timeouts, tracking)
 * instead of `Deno.serve`: the difference is what the door costs.
 */
import { FrontDoor } from "../server/front_door.ts";

export interface CeilingVariant {
  /** Response headers other than `date` and `content-length` (Deno.serve adds those). */
  headers: [string, string][];
  /** File holding the body bytes. */
  file: string;
}

export interface CeilingSpec {
  /** Path → encoding (`identity`, `gzip`) → variant. */
  routes: Record<string, Record<string, CeilingVariant>>;
}

if (import.meta.main) {
  const [specPath, portArg, mode] = Deno.args;
  const spec: CeilingSpec = JSON.parse(await Deno.readTextFile(specPath));
  const routes = new Map<string, { identity: Response; gzip?: Response }>();
  for (const [path, variants] of Object.entries(spec.routes)) {
    const load = async (v: CeilingVariant) =>
      new Response(await Deno.readFile(v.file), { headers: v.headers });
    routes.set(path, {
      identity: await load(variants.identity),
      gzip: variants.gzip ? await load(variants.gzip) : undefined,
    });
  }
  const notFound = () => new Response("not found\n", { status: 404 });
  const handler = (req: Request) => {
    // The path, without parsing a URL object.
    const url = req.url;
    const start = url.indexOf("/", url.indexOf("//") + 2);
    const q = url.indexOf("?", start);
    const route = routes.get(q < 0 ? url.slice(start) : url.slice(start, q));
    if (!route) return notFound();
    const v = route.gzip && req.headers.get("accept-encoding")?.includes("gzip")
      ? route.gzip
      : route.identity;
    return v.clone();
  };
  if (mode === "door") {
    const listener = Deno.listen({ hostname: "127.0.0.1", port: Number(portArg) });
    // fazt's defaults (storage/settings.ts), but wrk's connections all come
    // from one address: no cap per address (as the door and https benchmarks
    // set for fazt).
    new FrontDoor({
      limits: {
        maxConnections: 4096,
        maxConnectionsPerIp: 1_000_000,
        headerTimeoutMs: 10_000,
        idleTimeoutMs: 60_000,
        bodyStallTimeoutMs: 30_000,
        maxRequestsInFlight: 1024,
        overloadLagMs: 500,
      },
      handler,
      onError: () => new Response("error", { status: 500 }),
    }).listen(listener);
    console.log(`ceiling (door) listening on 127.0.0.1:${listener.addr.port}`);
  } else {
    Deno.serve({
      hostname: "127.0.0.1",
      port: Number(portArg),
      onListen: ({ port }) => console.log(`ceiling listening on 127.0.0.1:${port}`),
    }, handler);
  }
}
