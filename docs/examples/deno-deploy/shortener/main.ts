// A link shortener as written for Deno Deploy: Deno.serve at the top level,
// its data in Deno KV, its input checked with zod from npm (named in
// deno.json's imports). `fazt deploy` bundles it with zod and runs it
// unchanged (see docs/apps.md, "Coming from Deno Deploy").
import { z } from "zod";

interface Link {
  url: string;
  createdAt: Date;
}

const NewLink = z.object({
  url: z.url(),
  slug: z.string().regex(/^[\w-]{1,40}$/).optional(),
});

const kv = await Deno.openKv();

// Work done after the answer: each new link is announced on the queue.
kv.listenQueue(async (msg: { type: "created"; slug: string }) => {
  if (msg.type === "created") {
    await kv.set(["audit", msg.slug], { seenAt: new Date() });
  }
});

function randomSlug(): string {
  return crypto.randomUUID().slice(0, 6);
}

async function create(req: Request): Promise<Response> {
  const input = NewLink.safeParse(await req.json().catch(() => null));
  if (!input.success) {
    const fields = input.error.issues.map((i) => i.path.join("."));
    return Response.json({ error: "invalid link", fields }, { status: 400 });
  }
  const target = new URL(input.data.url);
  const slug = input.data.slug ?? randomSlug();
  const key = ["links", slug];
  const result = await kv.atomic()
    .check({ key, versionstamp: null })
    .set(key, { url: target.href, createdAt: new Date() } satisfies Link)
    .sum(["stats", "links"], 1n)
    .enqueue({ type: "created", slug })
    .commit();
  if (!result.ok) return Response.json({ error: "slug taken" }, { status: 409 });
  return Response.json({ slug, url: target.href }, { status: 201 });
}

async function list(): Promise<Response> {
  const links = [];
  for await (const entry of kv.list<Link>({ prefix: ["links"] })) {
    links.push({ slug: entry.key[1], url: entry.value.url });
  }
  const total = await kv.get<Deno.KvU64>(["stats", "links"]);
  return Response.json({ links, total: Number(total.value?.value ?? 0n) });
}

async function stats(slug: string): Promise<Response> {
  const [link, visits, audit] = await kv.getMany<[Link, Deno.KvU64, { seenAt: Date }]>([
    ["links", slug],
    ["visits", slug],
    ["audit", slug],
  ]);
  if (!link.value) return new Response("not found", { status: 404 });
  return Response.json({
    url: link.value.url,
    visits: Number(visits.value?.value ?? 0n),
    audited: audit.value !== null,
  });
}

async function follow(slug: string): Promise<Response> {
  const link = await kv.get<Link>(["links", slug]);
  if (!link.value) return new Response("not found", { status: 404 });
  await kv.atomic().sum(["visits", slug], 1n).commit();
  return Response.redirect(link.value.url, 302);
}

Deno.serve(async (req) => {
  const { pathname } = new URL(req.url);
  if (pathname === "/links" && req.method === "POST") return await create(req);
  if (pathname === "/links") return await list();
  const statsOf = pathname.match(/^\/stats\/([\w-]+)$/);
  if (statsOf) return await stats(statsOf[1]);
  if (pathname === "/") return new Response("POST /links {url, slug?}; GET /:slug");
  return await follow(pathname.slice(1));
});
