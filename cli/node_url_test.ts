import assert from "node:assert/strict";
import { CliError } from "./cli_error.ts";
import { nodeUrl } from "./node_url.ts";

Deno.test("a node URL without a scheme: http for loopback names, https for the rest", () => {
  for (
    const [raw, url] of [
      ["localhost:4698", "http://localhost:4698"],
      ["LOCALHOST:4698", "http://localhost:4698"],
      ["admin.localhost:4698", "http://admin.localhost:4698"],
      ["127.0.0.1:4698", "http://127.0.0.1:4698"],
      ["[::1]:4698", "http://[::1]:4698"],
      ["fazt.example.com", "https://fazt.example.com"],
      ["192.168.1.9:4698", "https://192.168.1.9:4698"],
      ["localhost.example.com", "https://localhost.example.com"],
      [" http://10.0.0.5:4698/ ", "http://10.0.0.5:4698"],
      ["https://fazt.example.com/base/", "https://fazt.example.com/base"],
    ]
  ) assert.equal(nodeUrl(raw), url, raw);
});

Deno.test("what cannot be a node URL is refused with INVALID_URL", () => {
  for (
    const raw of [
      "",
      "ftp://x.example",
      "https://u:p@x.example",
      "https://x.example/?a=1",
      "http://",
    ]
  ) {
    assert.throws(
      () => nodeUrl(raw),
      (e) => e instanceof CliError && e.code === "INVALID_URL",
      raw,
    );
  }
});
