import assert from "node:assert/strict";
import { classifyHost, hostname } from "./hosts.ts";

Deno.test("hostname strips port, brackets, case and a trailing dot", () => {
  assert.equal(hostname("Blog.Example.com:8080"), "blog.example.com");
  assert.equal(hostname("[::1]:4698"), "::1");
  assert.equal(hostname("example.com."), "example.com");
  assert.equal(hostname(null), "");
});

Deno.test("hosts route to the admin host, apps, previews or nothing", () => {
  const d = "example.com";
  assert.deepEqual(classifyHost("admin.example.com", d), { kind: "admin" });
  assert.deepEqual(classifyHost("localhost:4698", d), { kind: "admin" });
  assert.deepEqual(classifyHost("127.0.0.1", d), { kind: "admin" });
  assert.deepEqual(classifyHost("example.com", d), { kind: "app", name: "root" });
  assert.deepEqual(classifyHost("root.example.com", d), { kind: "app", name: "root" });
  assert.deepEqual(classifyHost("blog.example.com", d), { kind: "app", name: "blog" });
  assert.deepEqual(classifyHost("blog.localhost", d), { kind: "app", name: "blog" });
  assert.deepEqual(classifyHost("blog--v3.example.com", d), {
    kind: "app",
    name: "blog",
    version: 3,
  });
  assert.deepEqual(classifyHost("a.b.example.com", d), {
    kind: "unknown",
    host: "a.b.example.com",
  });
  assert.deepEqual(classifyHost("other.org", d), { kind: "unknown", host: "other.org" });
  assert.deepEqual(classifyHost("localhost", "localhost"), { kind: "admin" });
  assert.deepEqual(classifyHost("root.localhost", "localhost"), { kind: "app", name: "root" });
});
