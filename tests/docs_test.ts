import assert from "node:assert/strict";
import { assertOk, CliSandbox } from "./cli_runner.ts";
import { makeZip, startTestNode } from "./helpers.ts";

const GUIDE = new URL("../docs/apps.md", import.meta.url);

function blocks(markdown: string, lang: string): string[] {
  const re = new RegExp("```" + lang + "\\n([\\s\\S]*?)```", "g");
  return [...markdown.matchAll(re)].map((m) => m[1]);
}

Deno.test("the app guide's TypeScript examples type-check", async () => {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["check", "-q", "--doc-only", GUIDE.pathname],
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
});

Deno.test("the app guide's first handler and its original-style example run as documented", async () => {
  const guide = await Deno.readTextFile(GUIDE);
  const [handler] = blocks(guide, "ts");
  const [legacy] = blocks(guide, "js");
  const node = await startTestNode();
  try {
    let r = await node.deploy("guide", await makeZip({ "api/main.ts": handler }));
    assert.equal(r.status, 201, JSON.stringify(r.body));
    const call = (app: string, path: string) =>
      node.fetch(path, { host: `${app}.localhost`, token: null });
    assert.deepEqual(await (await call("guide", "/api/hello")).json(), {
      hello: "world",
      visits: 1,
    });
    assert.deepEqual(await (await call("guide", "/api/hello")).json(), {
      hello: "world",
      visits: 2,
    });
    r = await node.deploy("old", await makeZip({ "api/main.js": legacy }));
    assert.equal(r.status, 201, JSON.stringify(r.body));
    assert.deepEqual(await (await call("old", "/api/x")).json(), { count: 1, path: "/api/x" });
  } finally {
    await node.close();
  }
});

Deno.test("the guide's Hono example deploys with fazt deploy and answers as documented", async () => {
  const guide = await Deno.readTextFile(GUIDE);
  const hono = blocks(guide, "ts").find((b) => b.includes('from "npm:hono@'));
  assert.ok(hono, "the guide has a Hono example");
  const sb = await CliSandbox.create();
  try {
    const server = await sb.start({ firstRun: true });
    const dir = await sb.folder("hono-guide", { "api/main.ts": hono });
    assertOk(await sb.cli(["deploy", dir]));
    const host = "hono-guide.localhost";
    assert.equal((await sb.get(server, "/api/hello/ann", host)).text, '{"hello":"ann"}');
    const missing = await sb.get(server, "/api/elsewhere", host);
    assert.equal(missing.status, 404);
    assert.equal(missing.text, "404 Not Found");
  } finally {
    for (const s of sb.servers) await s.kill();
    await Deno.remove(sb.dir, { recursive: true });
  }
});
