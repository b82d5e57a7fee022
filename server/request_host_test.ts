import assert from "node:assert/strict";
import { requestHost } from "./request_host.ts";

Deno.test("the Host header wins", () => {
  const req = new Request("http://a.test/x", { headers: { host: "b.test:8080" } });
  assert.equal(requestHost(req), "b.test:8080");
});

Deno.test("without Host, the authority (HTTP/2's :authority) is the host", () => {
  assert.equal(requestHost(new Request("https://app.fazt.test:8401/p?q")), "app.fazt.test:8401");
  assert.equal(requestHost(new Request("https://[::1]:8401/")), "[::1]:8401");
  assert.equal(requestHost(new Request("https://fazt.test")), "fazt.test");
});

Deno.test("Deno's fallback authority for a request with no host is no host", () => {
  assert.equal(requestHost(new Request("https://localhost/x")), "");
  assert.equal(requestHost(new Request("http://localhost:4698/x")), "");
});
