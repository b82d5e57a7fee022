import assert from "node:assert/strict";
import { isLoopbackHost, releaseUrlProblem } from "./release_url.ts";

Deno.test("release URLs: HTTPS anywhere, plain HTTP only to this machine", () => {
  for (
    const ok of [
      "https://example.com/fazt/release.json",
      "http://127.0.0.1:8080/release.json",
      "http://127.9.9.9/x",
      "http://localhost/x",
      "http://releases.localhost:1/x",
      "http://[::1]:4000/release.json",
    ]
  ) assert.equal(releaseUrlProblem(ok), undefined, ok);
  assert.match(releaseUrlProblem("http://example.com/release.json")!, /https/);
  assert.match(releaseUrlProblem("http://10.0.0.1/release.json")!, /https/);
  assert.match(releaseUrlProblem("http://127.0.0.1.example.com/x")!, /https/);
  assert.match(releaseUrlProblem("ftp://127.0.0.1/x")!, /https/);
  assert.match(releaseUrlProblem("file:///etc/passwd")!, /https/);
  assert.match(releaseUrlProblem("https://user:pw@example.com/x")!, /credentials/);
  assert.match(releaseUrlProblem("not a url")!, /not a URL/);
  assert.equal(isLoopbackHost("LOCALHOST"), true);
  assert.equal(isLoopbackHost("localhost.example.com"), false);
});
