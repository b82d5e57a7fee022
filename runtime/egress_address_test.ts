import assert from "node:assert/strict";
import { isAddressLiteral, isPrivateAddress } from "./egress_address.ts";

Deno.test("private, loopback, link-local, CGNAT, ULA and unspecified addresses are refused", () => {
  for (
    const a of [
      "127.0.0.1",
      "127.8.9.1",
      "10.0.0.1",
      "172.16.0.1",
      "172.31.255.255",
      "192.168.1.1",
      "169.254.169.254",
      "100.64.0.1",
      "100.127.255.255",
      "0.0.0.0",
      "224.0.0.1",
      "255.255.255.255",
      "::",
      "::1",
      "fc00::1",
      "fdab:cd::1",
      "fe80::1",
      "fe80::1%eth0",
      "::ffff:127.0.0.1",
      "::ffff:7f00:1",
      "::ffff:10.1.2.3",
      "64:ff9b::a9fe:a9fe",
      "ff02::1",
      "[::1]",
      "not an address",
    ]
  ) assert.equal(isPrivateAddress(a), true, a);
});

Deno.test("public addresses pass", () => {
  for (
    const a of [
      "93.184.216.34",
      "8.8.8.8",
      "172.32.0.1",
      "100.128.0.1",
      "169.255.0.1",
      "2606:2800:220:1:248:1893:25c8:1946",
      "2001:4860:4860::8888",
      "::ffff:8.8.8.8",
    ]
  ) assert.equal(isPrivateAddress(a), false, a);
});

Deno.test("address literals are told from names", () => {
  assert.equal(isAddressLiteral("127.0.0.1"), true);
  assert.equal(isAddressLiteral("[::1]"), true);
  assert.equal(isAddressLiteral("::1"), true);
  assert.equal(isAddressLiteral("localhost"), false);
  assert.equal(isAddressLiteral("1.2.3.4.example.com"), false);
});
