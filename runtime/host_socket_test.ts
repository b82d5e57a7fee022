import assert from "node:assert/strict";
import { startStarved, STARVE } from "../tests/starved_child.ts";
import { FRAME } from "./protocol.ts";
import { encodeUp } from "./worker/frame_meta.ts";
import { FrameWriter } from "./worker/frames.ts";

Deno.test("a host connecting while the server is out of descriptors is accepted once some free", async () => {
  const child = await startStarved(`
import { HostSocket } from ${JSON.stringify(new URL("./host_socket.ts", import.meta.url).href)};
const socket = await HostSocket.open();
socket.expect("t0ken", () => {
  console.log("attached");
  return { onFrame() {}, onClose() {}, maxFrame: () => 1024 };
});
${STARVE}
console.log(socket.path);
const stdin = Deno.stdin.readable.getReader();
await stdin.read();
for (const f of files) f.close();
console.log("freed");
await stdin.read();
socket.close();
`);
  let conn: Deno.Conn | undefined;
  try {
    conn = await Deno.connect({ transport: "unix", path: await child.line() });
    new FrameWriter(conn, () => {}).frame(
      0,
      FRAME.HELLO,
      encodeUp(FRAME.HELLO, { token: "t0ken" }),
    );
    // accept() fails with EMFILE meanwhile, again and again.
    await new Promise((r) => setTimeout(r, 300));
    await child.say("free");
    assert.equal(await child.line(), "freed");
    assert.equal(await child.lineWithin(5000, "not attached within 5 s"), "attached");
  } finally {
    conn?.close();
    await child.close();
  }
});
