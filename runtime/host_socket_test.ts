import assert from "node:assert/strict";
import { FRAME } from "./protocol.ts";
import { encodeUp } from "./worker/frame_meta.ts";
import { FrameWriter } from "./worker/frames.ts";

/**
 * The socket's side, in a process of its own under a descriptor limit: it
 * opens the socket, fills every descriptor it has left, says "full", frees
 * them when told, and says "attached" when a host's HELLO binds.
 */
const CHILD = `
import { HostSocket } from ${JSON.stringify(new URL("./host_socket.ts", import.meta.url).href)};
const socket = await HostSocket.open();
socket.expect("t0ken", () => {
  console.log("attached");
  return { onFrame() {}, onClose() {}, maxFrame: () => 1024 };
});
const files = [];
try {
  for (;;) files.push(Deno.openSync("/dev/null"));
} catch {
  // EMFILE: every descriptor is taken.
}
console.log("full " + socket.path);
const stdin = Deno.stdin.readable.getReader();
await stdin.read();
for (const f of files) f.close();
console.log("freed");
await stdin.read();
socket.close();
`;

Deno.test("a host connecting while the server is out of descriptors is accepted once some free", async () => {
  const dir = await Deno.makeTempDir();
  const script = `${dir}/child.ts`;
  await Deno.writeTextFile(script, CHILD);
  const child = new Deno.Command("prlimit", {
    args: ["--nofile=256:256", Deno.execPath(), "run", "-A", "--quiet", script],
    stdin: "piped",
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const lines = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let buffered = "";
  const nextLine = async (): Promise<string> => {
    while (!buffered.includes("\n")) {
      const { value, done } = await lines.read();
      if (done) throw new Error(`the child ended; it said: ${buffered}`);
      buffered += value;
    }
    const i = buffered.indexOf("\n");
    const line = buffered.slice(0, i);
    buffered = buffered.slice(i + 1);
    return line;
  };
  const stdin = child.stdin.getWriter();
  let conn: Deno.Conn | undefined;
  try {
    const full = await nextLine();
    assert.match(full, /^full /);
    conn = await Deno.connect({ transport: "unix", path: full.slice(5) });
    const out = new FrameWriter(conn, () => {});
    out.frame(0, FRAME.HELLO, encodeUp(FRAME.HELLO, { token: "t0ken" }));
    // accept() fails with EMFILE meanwhile, again and again.
    await new Promise((r) => setTimeout(r, 300));
    await stdin.write(new TextEncoder().encode("free\n"));
    assert.equal(await nextLine(), "freed");
    const attached = await Promise.race([
      nextLine(),
      new Promise<string>((r) => setTimeout(() => r("not attached within 5 s"), 5000)),
    ]);
    assert.equal(attached, "attached");
  } finally {
    conn?.close();
    await stdin.write(new TextEncoder().encode("end\n")).catch(() => {});
    await stdin.close().catch(() => {});
    await lines.cancel().catch(() => {});
    await child.status;
    await Deno.remove(dir, { recursive: true });
  }
});
