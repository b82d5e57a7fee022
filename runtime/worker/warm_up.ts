/**
 * Deno compiles its web APIs lazily, per isolate, on first use: the first
 * request in a fresh Worker paid 20–30 ms for it (more under load). A spare
 * Worker runs one of everything a request touches before any app arrives,
 * so a cold start is "load the code, answer".
 * @module
 */
import { loadModule } from "./app_module.ts";
import { encodeDown } from "./frame_meta.ts";
import { FRAME, FrameWriter, readFrames } from "./frames.ts";

export async function warmUp(): Promise<void> {
  const get = new Request("http://warm.localhost/a?b=1");
  get.headers.append("accept", "*/*");
  new URL(get.url).searchParams.get("b");
  const post = new Request("http://warm.localhost/a", {
    method: "POST",
    headers: [["content-type", "application/json"]],
    body: new TextEncoder().encode('{"a":[1]}'),
  });
  JSON.stringify(await post.json());
  const res = new Response("x", { status: 200, headers: { "content-type": "text/plain" } });
  res.headers.forEach(() => {});
  await res.arrayBuffer();
  await Response.json({ a: 1 }).text();
  await new Response(new Blob([new Uint8Array(8)]).stream()).arrayBuffer();
  // The module loader, as the app's code will be loaded.
  await loadModule("export default () => new Response('');");
  // The codec, both ways.
  const chunks: Uint8Array[] = [];
  const w = new FrameWriter({
    write: (d) => {
      chunks.push(d.slice());
      return Promise.resolve(d.byteLength);
    },
  }, () => {});
  w.frame(1, FRAME.RESULT, encodeDown(FRAME.RESULT, { value: { id: "x" } }), new Uint8Array(1));
  w.frame(2, FRAME.RESPONSE, "200\ncontent-type\ntext/plain", "ok");
  await new Promise((r) => setTimeout(r, 0));
  let i = 0;
  await readFrames(
    (b) => {
      const c = chunks[i++];
      if (!c) return Promise.resolve(null);
      b.set(c);
      return Promise.resolve(c.byteLength);
    },
    () => {},
    () => 1 << 20,
  );
}
