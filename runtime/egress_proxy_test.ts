import assert from "node:assert/strict";
import { egress } from "./egress_proxy.ts";
import { REFUSED_HEADER, TARGET_HEADER } from "./worker/egress.ts";

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
