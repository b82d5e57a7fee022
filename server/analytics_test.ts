import assert from "node:assert/strict";
import { clientKey } from "./analytics.ts";
import { referrerHost } from "./analytics_counter.ts";

Deno.test("clientKey: IPv4 as is; IPv6 by its /64, however it is written", () => {
  assert.equal(clientKey("203.0.113.7"), "203.0.113.7");
  assert.equal(clientKey("::ffff:203.0.113.7"), "::ffff:203.0.113.7", "IPv4-mapped stays whole");
  const a = clientKey("2001:db8:1:2::1");
  assert.equal(a, "2001:db8:1:2::/64");
  for (
    const same of [
      "2001:DB8:1:2:ffff:ffff:ffff:ffff",
      "2001:0db8:0001:0002::9",
      "2001:db8:1:2:0:0:0:1",
    ]
  ) {
    assert.equal(clientKey(same), a, same);
  }
  assert.notEqual(clientKey("2001:db8:1:3::1"), a);
  assert.equal(clientKey("::1"), "0:0:0:0::/64");
  assert.equal(clientKey("2001:db8::"), "2001:db8:0:0::/64");
  assert.equal(clientKey("fe80::1%eth0"), "fe80:0:0:0::/64", "the zone is not part of it");
});

Deno.test("referrerHost: the host alone, lower case, without www., port or userinfo", () => {
  assert.equal(referrerHost("https://user:pw@WWW.News.example.com:8443/x?y#z"), "news.example.com");
  assert.equal(referrerHost("news.example"), "news.example");
  assert.equal(referrerHost(""), "");
  assert.equal(referrerHost("https://exa mple.com/"), "");
});
