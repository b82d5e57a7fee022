import assert from "node:assert/strict";
import { runScript, toResponse } from "./legacy_script.ts";

Deno.test("a completion value becomes JSON; respond()-like objects set status and headers", async () => {
  const plain = toResponse({ hello: "world" });
  assert.equal(plain.status, 200);
  assert.equal(plain.headers.get("content-type"), "application/json");
  assert.equal(await plain.text(), '{"hello":"world"}\n');
  const full = toResponse({ status: 201, body: "made", headers: { "x-n": 1 } });
  assert.equal(full.status, 201);
  assert.equal(full.headers.get("x-n"), "1");
  assert.equal(await full.text(), "made");
  const typed = toResponse({ body: "<p>", headers: { "content-type": "text/html" } });
  assert.equal(typed.headers.get("content-type"), "text/html");
  assert.equal(await toResponse({ status: 204 }).text(), "");
  assert.equal(await toResponse([1, 2]).text(), "[1,2]\n");
  assert.equal(toResponse(undefined).body, null);
});

Deno.test("an original script sees request, respond and require", async () => {
  const scripts = {
    "api/main.js": `
      var greet = require("./greet");
      if (request.method === "POST") respond(201, { got: request.body, q: request.query.a });
      else respond(greet(request.headers["X-Name"]));`,
    "api/greet.js": `module.exports = function (n) { return "hi " + n; };`,
  };
  const get = await runScript(
    new Request("http://app.localhost/api/x?a=1&a=2", { headers: { "x-name": "Ada" } }),
    scripts,
  );
  assert.equal(get.status, 200);
  assert.equal(await get.text(), "hi Ada", "a string body goes out as it is");
  const post = await runScript(
    new Request("http://app.localhost/api/x?a=1&a=2", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: '{"n":1}',
    }),
    scripts,
  );
  assert.equal(post.status, 201);
  assert.deepEqual(await post.json(), { got: { n: 1 }, q: "1" });
  await assert.rejects(
    () => runScript(new Request("http://a/"), { "api/main.js": 'require("./nope")' }),
    /cannot require '\.\/nope': no such file in api\//,
  );
});
