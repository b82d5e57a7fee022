/**
 * The ceiling for this runtime: a bare `Deno.serve` that answers from memory
 * with the bytes and headers fazt sends (read from a real fazt response by the
 * static benchmark and written to a spec file). Nothing else happens per
 * request, so no server written in Deno can be much faster. Each answer is a
 * clone of a response built once: the fastest way this runtime has to send
 * the same bytes again (no body copy, no header re-validation), which fazt
 * uses too.
 *
 *   deno run --allow-net=127.0.0.1 --allow-read=DIR bench/ceiling_server.ts SPEC.json PORT
 */

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
  const [specPath, portArg] = Deno.args;
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
  Deno.serve({
    hostname: "127.0.0.1",
    port: Number(portArg),
    onListen: ({ port }) => console.log(`ceiling listening on 127.0.0.1:${port}`),
  }, (req) => {
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
  });
}
