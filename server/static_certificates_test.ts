import assert from "node:assert/strict";
import { StaticCertificates } from "./static_certificates.ts";

const c = (n: string) => ({ cert: n, key: n });

Deno.test("names, one-label wildcards, * and the no-SNI name", () => {
  const certs = new StaticCertificates({
    "app.example.com": c("app"),
    "*.example.com": c("wild"),
    "": c("nosni"),
  });
  assert.equal(certs.lookup("app.example.com")?.cert, "app");
  assert.equal(certs.lookup("APP.example.com")?.cert, "app");
  assert.equal(certs.lookup("blog.example.com")?.cert, "wild");
  assert.equal(certs.lookup("a.b.example.com"), undefined);
  assert.equal(certs.lookup("example.com"), undefined);
  assert.equal(certs.lookup("")?.cert, "nosni");
  certs.set("*", c("any"));
  assert.equal(certs.lookup("other.test")?.cert, "any");
});

Deno.test("changes are told to every listener until it unsubscribes", () => {
  const certs = new StaticCertificates();
  const seen: string[][] = [];
  const stop = certs.onChange((names) => seen.push(names));
  certs.set("A.test", c("a"));
  certs.delete("a.test");
  certs.delete("missing.test");
  stop();
  certs.set("b.test", c("b"));
  assert.deepEqual(seen, [["a.test"], ["a.test"]]);
});
