import assert from "node:assert/strict";
import { waitFor } from "../tests/deadline.ts";
import { makeTestCa } from "../tests/tls_certs.ts";
import { FrontDoor } from "./front_door.ts";
import { StaticCertificates } from "./static_certificates.ts";
import { TlsFront } from "./tls_front.ts";

const LIMITS = {
  maxConnections: 100,
  maxConnectionsPerIp: 100,
  headerTimeoutMs: 5000,
  idleTimeoutMs: 5000,
  bodyStallTimeoutMs: 5000,
  maxRequestsInFlight: 100,
  overloadLagMs: 0,
};

// Tests run without --unstable-net: a swap closes the port and opens it again.
Deno.test("a port taken during a swap without reusePort is opened again once it is free", async () => {
  const ca = await makeTestCa();
  const [gen1, gen2] = [
    await ca.leaf("gen1", ["127.0.0.1"], 1),
    await ca.leaf("gen2", ["127.0.0.1"], 2),
  ];
  const certs = new StaticCertificates({ "": gen1 });
  const logs: string[] = [];
  const door = new FrontDoor({
    limits: LIMITS,
    handler: () => new Response("ok"),
    onError: () => new Response("error", { status: 500 }),
  });
  // Another process holds the port for the first three attempts to open it again.
  let opens = 0, refused = 0;
  const front = await TlsFront.open({
    door,
    hostname: "127.0.0.1",
    port: 0,
    certificates: certs,
    fallbackNames: ["fazt.test"],
    log: (m) => logs.push(m),
    listenTls: (options) => {
      if (opens++ > 0 && refused < 3) {
        refused++;
        throw new Deno.errors.AddrInUse("Address already in use (os error 98)");
      }
      return Deno.listenTls(options);
    },
  });
  // curl, so that every look is a new connection and shows the certificate.
  const subject = async () => {
    const out = await new Deno.Command("curl", {
      args: ["-sS", "-v", "--max-time", "10", "--cacert", ca.caFile, url()],
      stdout: "piped",
      stderr: "piped",
    }).output();
    const td = new TextDecoder();
    assert.equal(out.code, 0, td.decode(out.stderr));
    assert.equal(td.decode(out.stdout), "ok");
    return /O=(gen\d)/.exec(td.decode(out.stderr))?.[1];
  };
  const url = () => `https://127.0.0.1:${front.addresses[0].port}/`;
  try {
    assert.equal(await subject(), "gen1");
    certs.set("", gen2);
    await waitFor(() => front.swaps === 1, "the swap, once the port is free");
    assert.equal(refused, 3);
    assert.equal(logs.filter((l) => l.includes("cannot be opened again")).length, 1);
    assert.equal(await subject(), "gen2");
  } finally {
    front.close();
    await door.shutdown(0);
    await Deno.remove(ca.dir, { recursive: true });
  }
});
