import { equal as assertEquals } from "node:assert/strict";
import { clientKey, ipv6Groups, normaliseAddress } from "./client_address.ts";

Deno.test("an IPv4 client seen through a dual-stack socket is the IPv4 client", () => {
  assertEquals(normaliseAddress("::ffff:127.0.0.1"), "127.0.0.1");
  assertEquals(normaliseAddress("::FFFF:203.0.113.9"), "203.0.113.9");
  assertEquals(normaliseAddress("203.0.113.9"), "203.0.113.9");
  assertEquals(normaliseAddress("2001:DB8::1"), "2001:db8::1");
  assertEquals(clientKey("::ffff:10.1.2.3"), "10.1.2.3");
});

Deno.test("IPv6 clients are counted by their /64", () => {
  assertEquals(clientKey("2001:db8:0:1::1"), "2001:db8:0:1::/64");
  assertEquals(clientKey("2001:db8:0:1:ffff:eeee:dddd:cccc"), "2001:db8:0:1::/64");
  assertEquals(clientKey("2001:0db8:0000:0001::abcd"), "2001:db8:0:1::/64");
  assertEquals(clientKey("2001:db8::"), "2001:db8:0:0::/64");
  assertEquals(clientKey("fe80::1%eth0"), "fe80:0:0:0::/64");
  assertEquals(clientKey("2001:db8:0:2::1") === clientKey("2001:db8:0:1::1"), false);
  assertEquals(clientKey("::1"), "::1");
  // Something that is not an address is its own key.
  assertEquals(clientKey("1:2:3"), "1:2:3");
});

Deno.test("IPv6 addresses expand to eight groups", () => {
  assertEquals(ipv6Groups("::1")?.join(":"), "0000:0000:0000:0000:0000:0000:0000:0001");
  assertEquals(
    ipv6Groups("::ffff:127.0.0.1")?.join(":"),
    "0000:0000:0000:0000:0000:ffff:7f00:0001",
  );
  assertEquals(ipv6Groups("1:2:3:4:5:6:7:8")?.length, 8);
  assertEquals(ipv6Groups("1:2:3:4:5:6:7"), undefined);
  assertEquals(ipv6Groups("1::2::3"), undefined);
  assertEquals(ipv6Groups("1:2:3:4::5:6:7:8"), undefined);
  assertEquals(ipv6Groups("::ffff:1.2.3.256"), undefined);
  assertEquals(ipv6Groups("127.0.0.1"), undefined);
});
