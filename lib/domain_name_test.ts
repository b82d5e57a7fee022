import assert from "node:assert/strict";
import { DOMAIN_NAME_PATTERN, isDomainName, parseDomainName } from "./domain_name.ts";

const OWN = "fazt.example";

Deno.test("custom domains: accepted names are stored lower-case, ASCII, without a trailing dot", () => {
  const cases: [string, string, string][] = [
    ["shop.example.com", "shop.example.com", "shop.example.com"],
    ["  Shop.Example.COM. ", "shop.example.com", "shop.example.com"],
    ["example.org", "example.org", "example.org"],
    ["Bücher.example", "xn--bcher-kva.example", "bücher.example"],
    ["xn--bcher-kva.example", "xn--bcher-kva.example", "bücher.example"],
    ["ｅｘａｍｐｌｅ.com", "example.com", "example.com"],
    ["a-b.c-d.test", "a-b.c-d.test", "a-b.c-d.test"],
    ["www.xn--p1ai", "www.xn--p1ai", "www.рф"],
    // Not under the node's domain: a parent or a sibling is someone else's name.
    ["other.example", "other.example", "other.example"],
    ["fazt.example.org", "fazt.example.org", "fazt.example.org"],
  ];
  for (const [input, name, unicode] of cases) {
    const parsed = parseDomainName(input, OWN);
    assert.ok(isDomainName(parsed), `${input}: ${JSON.stringify(parsed)}`);
    assert.equal(parsed.name, name, input);
    assert.equal(parsed.unicode, unicode, input);
  }
});

Deno.test("custom domains: every refusal names its constraint", () => {
  const long = `${"a".repeat(63)}.`.repeat(4) + "com"; // 259 characters
  const cases: [string, string][] = [
    ["", "required"],
    ["   ", "required"],
    [".", "required"],
    ["1.2.3.4", "ip_address"],
    ["127.0.0.1", "ip_address"],
    ["[::1]", "ip_address"],
    ["::1", "ip_address"],
    ["2001:db8::1", "ip_address"],
    ["0x7f.1", "labels"],
    ["a.123", "labels"],
    ["localhost", "localhost"],
    ["LocalHost.", "localhost"],
    ["app.localhost", "localhost"],
    ["com", "labels"],
    ["-a.com", "labels"],
    ["a-.com", "labels"],
    ["a..b", "labels"],
    [`${"a".repeat(64)}.com`, "labels"],
    [long, "max_length"],
    ["a".repeat(2000), "max_length"],
    ["*.example.com", "characters"],
    ["a_b.com", "characters"],
    ["http://shop.example.com", "characters"],
    ["shop.example.com:443", "characters"],
    ["shop.example.com/path", "characters"],
    ["user@shop.example.com", "characters"],
    ["ex%41.com", "characters"],
    ["exa mple.com", "characters"],
    ["xn--zz.com", "characters"],
    ["fazt.example", "own_domain"],
    ["FAZT.example.", "own_domain"],
    ["admin.fazt.example", "own_domain"],
    ["blog.fazt.example", "own_domain"],
    ["a.b.fazt.example", "own_domain"],
  ];
  for (const [input, constraint] of cases) {
    const parsed = parseDomainName(input, OWN);
    assert.ok(!isDomainName(parsed), `${input} must be refused`);
    assert.equal(parsed.constraint, constraint, `${input}: ${parsed.message}`);
    assert.ok(parsed.message.length > 0);
  }
});

Deno.test("DOMAIN_NAME_PATTERN takes what the server takes, in either script", () => {
  for (const ok of ["shop.example.com", "Bücher.example", "www.xn--p1ai", "a-b.test"]) {
    assert.match(ok, DOMAIN_NAME_PATTERN, ok);
  }
  for (
    const bad of ["com", "1.2.3.4", "a.123", "*.x.com", "a_b.com", "x.com/p", "x.com:80", "-a.com"]
  ) {
    assert.doesNotMatch(bad, DOMAIN_NAME_PATTERN, bad);
  }
});
