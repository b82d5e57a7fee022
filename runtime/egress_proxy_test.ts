import assert from "node:assert/strict";
import { egress } from "./egress_proxy.ts";
import { REFUSED_HEADER, TARGET_HEADER } from "./worker/egress.ts";
import { startStarved, STARVE } from "../tests/starved_child.ts";

/** A request as an app's Worker would send it to its proxy, bypassing the Worker's own checks. */
const asked = (target: string | null, init: RequestInit = {}) => {
  const headers = new Headers(init.headers);
  if (target !== null) headers.set(TARGET_HEADER, target);
  return new Request("http://fazt-egress.invalid/", { ...init, headers });
};

Deno.test("the proxy itself refuses what the manifest does not list, whatever the Worker sends", async () => {
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen() {} },
    (req) => new Response(`reached ${new URL(req.url).pathname} host=${req.headers.get("host")}`),
  );
  const port = server.addr.port;
  const rules = { net: [`127.0.0.1:${port}`, `localhost:${port}`], netPrivate: [] };
  try {
    for (
      const target of [
        null,
        "not a url",
        "file:///etc/passwd",
        `http://127.0.0.1:${port + 1}/`,
        "http://169.254.169.254/latest/meta-data/",
        `http://localhost:${port}/rebound`,
      ]
    ) {
      const res = await egress(asked(target), rules);
      assert.equal(res.status, 403, String(target));
      assert.equal(res.headers.get(REFUSED_HEADER), "1");
      await res.body?.cancel();
    }
    const ok = await egress(asked(`http://127.0.0.1:${port}/fine`), rules);
    assert.equal(await ok.text(), `reached /fine host=127.0.0.1:${port}`);
    const opted = await egress(asked(`http://localhost:${port}/named`), {
      ...rules,
      netPrivate: [`localhost:${port}`],
    });
    assert.equal(await opted.text(), `reached /named host=localhost:${port}`);
  } finally {
    await server.shutdown();
  }
});

Deno.test("a proxy out of descriptors fails its accepts, lives on, and answers once some free", async () => {
  const child = await startStarved(`
import { EgressProxy } from ${JSON.stringify(new URL("./egress_proxy.ts", import.meta.url).href)};
const path = (await Deno.makeTempDir()) + "/egress.sock";
const proxy = new EgressProxy(path, { net: [], netPrivate: [] });
${STARVE}
console.log(path);
const stdin = Deno.stdin.readable.getReader();
await stdin.read();
for (const f of files) f.close();
console.log("freed");
await stdin.read();
await proxy.close();
console.log("closed");
`);
  let conn: Deno.Conn | undefined;
  try {
    conn = await Deno.connect({ transport: "unix", path: await child.line() });
    await conn.write(
      new TextEncoder().encode(
        `GET / HTTP/1.1\r\nhost: fazt-egress.invalid\r\n${TARGET_HEADER}: http://10.0.0.1/\r\n\r\n`,
      ),
    );
    // accept() fails with EMFILE meanwhile; Deno.serve ended the process here.
    await new Promise((r) => setTimeout(r, 300));
    await child.say("free");
    assert.equal(await child.line(), "freed");
    const buf = new Uint8Array(4096);
    const n = await conn.read(buf);
    const head = new TextDecoder().decode(buf.subarray(0, n ?? 0));
    assert.match(head, /^HTTP\/1\.1 403/);
    assert.match(head, new RegExp(`${REFUSED_HEADER}: 1`, "i"));
    conn.close();
    conn = undefined;
    await child.say("close");
    assert.equal(await child.line(), "closed");
  } finally {
    conn?.close();
    const status = await child.close();
    assert.equal(status.code, 0);
  }
});
