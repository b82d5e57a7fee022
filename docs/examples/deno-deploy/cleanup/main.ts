// Notes that expire, on Deno KV, with a scheduled cleanup: written as for
// Deno Deploy (`Deno.serve`, `Deno.openKv`, `Deno.cron`), deployed to fazt
// unchanged.
const kv = await Deno.openKv();

interface Note {
  text: string;
  expiresAt: number;
}

// Every minute, delete the notes past their expiry and say how many went.
Deno.cron("cleanup", "* * * * *", async () => {
  const now = Date.now();
  let removed = 0;
  for await (const entry of kv.list<Note>({ prefix: ["notes"] })) {
    if (entry.value.expiresAt <= now) {
      await kv.delete(entry.key);
      removed++;
    }
  }
  await kv.set(["cleanup", "last"], { at: now, removed });
  console.log(`cleanup: ${removed} expired note(s) removed`);
});

Deno.serve(async (req) => {
  const url = new URL(req.url);
  if (url.pathname === "/notes" && req.method === "POST") {
    const { text, ttlSeconds } = await req.json();
    if (typeof text !== "string" || typeof ttlSeconds !== "number" || ttlSeconds < 0) {
      return Response.json({ error: "text and ttlSeconds are required" }, { status: 400 });
    }
    const id = crypto.randomUUID();
    const note: Note = { text, expiresAt: Date.now() + ttlSeconds * 1000 };
    await kv.set(["notes", id], note);
    return Response.json({ id }, { status: 201 });
  }
  if (url.pathname === "/notes") {
    const texts: string[] = [];
    for await (const entry of kv.list<Note>({ prefix: ["notes"] })) texts.push(entry.value.text);
    return Response.json(texts.sort());
  }
  if (url.pathname === "/cleanup") {
    return Response.json((await kv.get(["cleanup", "last"])).value);
  }
  return new Response("Not found", { status: 404 });
});
