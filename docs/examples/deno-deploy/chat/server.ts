// A chat as written for Deno Deploy: messages in Deno KV, each room's
// newest message id watched with kv.watch and pushed to browsers as
// server-sent events. `fazt deploy` runs it unchanged.

interface Message {
  user: string;
  text: string;
  at: number;
}

const kv = await Deno.openKv();
const encoder = new TextEncoder();

async function send(room: string, req: Request): Promise<Response> {
  const { user, text } = await req.json();
  if (typeof user !== "string" || typeof text !== "string" || text === "") {
    return Response.json({ error: "user and text are required" }, { status: 400 });
  }
  const id = `${Date.now().toString().padStart(15, "0")}-${crypto.randomUUID().slice(0, 8)}`;
  await kv.atomic()
    .set(["messages", room, id], { user, text, at: Date.now() } satisfies Message)
    .set(["latest", room], id)
    .commit();
  return new Response(null, { status: 204 });
}

async function history(room: string): Promise<Response> {
  const messages: Message[] = [];
  for await (const e of kv.list<Message>({ prefix: ["messages", room] }, { limit: 100 })) {
    messages.push(e.value);
  }
  return Response.json(messages);
}

function events(room: string): Response {
  const changes = kv.watch<[string]>([["latest", room]]);
  const body = changes.pipeThrough(
    new TransformStream<[Deno.KvEntryMaybe<string>], Uint8Array>({
      async transform([latest], controller) {
        if (latest.value === null) {
          controller.enqueue(encoder.encode(": waiting\n\n"));
          return;
        }
        const message = await kv.get<Message>(["messages", room, latest.value]);
        controller.enqueue(encoder.encode(`data: ${JSON.stringify(message.value)}\n\n`));
      },
    }),
  );
  return new Response(body, {
    headers: { "content-type": "text/event-stream", "cache-control": "no-cache" },
  });
}

Deno.serve({
  port: 8000,
  onListen: ({ hostname, port }) => console.log(`chat listening on ${hostname}:${port}`),
}, async (req) => {
  const url = new URL(req.url);
  const room = url.searchParams.get("room") ?? "lobby";
  if (url.pathname === "/send" && req.method === "POST") return await send(room, req);
  if (url.pathname === "/history") return await history(room);
  if (url.pathname === "/events") return events(room);
  return new Response("chat: POST /send?room=, GET /events?room=, GET /history?room=");
});
