/**
 * Deno Deploy projects deployed unchanged with the real `fazt deploy` (a
 * subprocess with the `fazt` task's permissions) and driven over HTTP: the
 * example apps of docs/examples/deno-deploy, a link shortener on Deno KV
 * (atomic checks, sums, a queue; zod from npm) whose entry is its `start` task's file, and
 * a chat whose browsers follow `kv.watch` as server-sent events, whose entry
 * is its `deploy.entrypoint`; notes that expire, cleaned up by a job
 * registered with `Deno.cron`; a bare `main.ts`; a Hono app whose packages
 * come from `deno.json` `imports`; and server files beside the entry, which
 * are never published as static files.
 */
import assert from "node:assert/strict";
import { assertOk, CliSandbox, type ServerProcess } from "./cli_runner.ts";
import { deadline, waitFor } from "./deadline.ts";
import { hostFetch } from "./http_client.ts";

const EXAMPLES = new URL("../docs/examples/deno-deploy/", import.meta.url);
const example = (path: string) => Deno.readTextFileSync(new URL(path, EXAMPLES));

async function withNode(fn: (sb: CliSandbox, server: ServerProcess) => Promise<void>) {
  const sb = await CliSandbox.create();
  try {
    const server = await sb.start({ firstRun: true });
    await fn(sb, server);
  } finally {
    for (const s of sb.servers) await s.kill();
    await Deno.remove(sb.dir, { recursive: true });
  }
}

function call(
  server: ServerProcess,
  host: string,
  path: string,
  json?: unknown,
): Promise<Response> {
  return hostFetch(`${server.base}${path}`, {
    host,
    method: json === undefined ? "GET" : "POST",
    body: json === undefined ? undefined : JSON.stringify(json),
    headers: json === undefined ? {} : { "content-type": "application/json" },
  });
}

Deno.test("a Deno Deploy link shortener on Deno KV, deployed unchanged, its entry from the start task", async () => {
  await withNode(async (sb, server) => {
    // The example's own deno.json: its start task, and zod from npm in its imports.
    const dir = await sb.folder("shortener", {
      "deno.json": example("shortener/deno.json"),
      "main.ts": example("shortener/main.ts"),
    });
    const run = assertOk(await sb.cli(["deploy", dir, "--name", "short"]));
    assert.match(run.stdout, /^deployed short v1 /);
    assert.match(
      run.stderr,
      /Deno Deploy-style app: every request goes to main\.ts \(deno\.json start task\)/,
    );
    assert.match(run.stderr, /bundled main\.ts \(\d+ files, 1 packages\)/, "zod from npm");
    const host = "short.localhost";

    const made = await call(server, host, "/links", { url: "https://deno.com/kv", slug: "kv" });
    assert.equal(made.status, 201);
    assert.deepEqual(await made.json(), { slug: "kv", url: "https://deno.com/kv" });
    const taken = await call(server, host, "/links", { url: "https://example.com/", slug: "kv" });
    assert.equal(taken.status, 409, "the versionstamp check refuses a slug in use");
    assert.deepEqual(await taken.json(), { error: "slug taken" });
    const bad = await call(server, host, "/links", { url: "not a url", slug: "a b" });
    assert.equal(bad.status, 400);
    assert.deepEqual(await bad.json(), { error: "invalid link", fields: ["url", "slug"] });
    const other = await call(server, host, "/links", { url: "https://example.com/a" });
    const { slug } = await other.json();

    // Every path reaches the handler: a slug redirects and counts the visit.
    for (let i = 0; i < 3; i++) {
      const go = await call(server, host, "/kv");
      assert.equal(go.status, 302);
      assert.equal(go.headers.get("location"), "https://deno.com/kv");
      await go.body?.cancel();
    }
    const missing = await call(server, host, "/nope");
    assert.equal(missing.status, 404);
    await missing.body?.cancel();

    const listed = await (await call(server, host, "/links")).json();
    assert.deepEqual(listed.links.map((l: { slug: string }) => l.slug).sort(), ["kv", slug].sort());
    assert.equal(listed.total, 2, "KvU64 sums");
    // The queue's listener runs after the answer; wait for its write.
    const stats = await waitFor(async () => {
      const s = await (await call(server, host, "/stats/kv")).json();
      return s.audited && s;
    }, "the queued audit of the new link");
    assert.deepEqual(stats, { url: "https://deno.com/kv", visits: 3, audited: true });
  });
});

Deno.test("a Deno Deploy chat: messages pushed to a server-sent event stream by kv.watch", async () => {
  await withNode(async (sb, server) => {
    const dir = await sb.folder("chat", {
      "deno.json": JSON.stringify({ deploy: { entrypoint: "./server.ts" } }),
      "server.ts": example("chat/server.ts"),
    });
    const run = assertOk(await sb.cli(["deploy", dir, "--name", "chat"]));
    assert.match(run.stderr, /every request goes to server\.ts \(deno\.json deploy\.entrypoint\)/);
    const client = Deno.createHttpClient({ allowHost: true });
    try {
      const events = await fetch(`${server.base}/events?room=deno`, {
        headers: { host: "chat.localhost" },
        client,
      });
      assert.equal(events.status, 200);
      assert.equal(events.headers.get("content-type"), "text/event-stream");
      const reader = events.body!.pipeThrough(new TextDecoderStream()).getReader();
      let seen = "";
      const readUntil = (pattern: RegExp) =>
        deadline(
          (async () => {
            while (!pattern.test(seen)) {
              const { value, done } = await reader.read();
              if (done) throw new Error(`the stream ended after: ${seen}`);
              seen += value;
            }
          })(),
          `the event stream to show ${pattern}`,
        );
      await readUntil(/: waiting/);
      const sent = await call(server, "chat.localhost", "/send?room=deno", {
        user: "ada",
        text: "hello",
      });
      assert.equal(sent.status, 204);
      await readUntil(/"text":"hello"/);
      await call(server, "chat.localhost", "/send?room=other", { user: "bo", text: "elsewhere" });
      await call(server, "chat.localhost", "/send?room=deno", { user: "bo", text: "again" });
      await readUntil(/"text":"again"/);
      assert.ok(!seen.includes("elsewhere"), "another room's message is not in this stream");
      await reader.cancel();
      const history = await (await call(server, "chat.localhost", "/history?room=deno")).json();
      assert.deepEqual(history.map((m: { text: string }) => m.text), ["hello", "again"]);
    } finally {
      client.close();
    }
  });
});

Deno.test("a bare main.ts with no config is a Deno Deploy-style app; an api/ folder keeps the fazt layout", async () => {
  await withNode(async (sb, server) => {
    const bare = await sb.folder("bare", {
      "main.ts": `Deno.serve((req) => new Response("bare " + new URL(req.url).pathname));`,
      "hello.txt": "a static file",
    });
    const run = assertOk(await sb.cli(["deploy", bare, "--name", "bare"]));
    assert.match(run.stderr, /every request goes to main\.ts \(main\.ts at the project's root\)/);
    assert.equal(await (await call(server, "bare.localhost", "/x/y")).text(), "bare /x/y");
    assert.equal(
      await (await call(server, "bare.localhost", "/hello.txt")).text(),
      "bare /hello.txt",
      "the handler comes before static files, as on Deno Deploy",
    );

    const classic = await sb.folder("classic", {
      "main.ts": `Deno.serve(() => new Response("not the entry"));`,
      "api/main.ts": `export default () => new Response("api");`,
      "index.html": "home",
    });
    const again = assertOk(await sb.cli(["deploy", classic, "--name", "classic"]));
    assert.doesNotMatch(again.stderr, /Deno Deploy-style/);
    assert.equal(await (await call(server, "classic.localhost", "/api/x")).text(), "api");
    assert.equal(await (await call(server, "classic.localhost", "/")).text(), "home");
  });
});

Deno.test("a Deno Deploy app with a Deno.cron cleanup: the job is listed, runs, and does its work", async () => {
  await withNode(async (sb, server) => {
    const dir = await sb.folder("notes", {
      "deno.json": JSON.stringify({ deploy: { entrypoint: "main.ts" }, unstable: ["kv", "cron"] }),
      "main.ts": example("cleanup/main.ts"),
    });
    assertOk(await sb.cli(["deploy", dir, "--name", "notes"]));
    const host = "notes.localhost";
    for (const [text, ttlSeconds] of [["gone", 0], ["kept", 3600]] as const) {
      const made = await call(server, host, "/notes", { text, ttlSeconds });
      assert.equal(made.status, 201);
      await made.body?.cancel();
    }
    assert.deepEqual(await (await call(server, host, "/notes")).json(), ["gone", "kept"]);

    // The job Deno.cron registered is known to the node, with its schedule.
    const jobs = await waitFor(async () => {
      const out = JSON.parse(
        assertOk(await sb.cli(["app", "cron", "list", "notes", "--json"])).stdout,
      );
      const list = Array.isArray(out) ? out : out.jobs;
      return list?.find((j: { name: string }) => j.name === "cleanup") ? list : undefined;
    }, "the cleanup job listed");
    const job = jobs.find((j: { name: string }) => j.name === "cleanup");
    assert.equal(job.schedule, "* * * * *");
    assert.equal(job.source, "code", "registered by Deno.cron, not the manifest");

    // Run it now, as the scheduler would: the expired note goes, the other stays.
    const run = assertOk(await sb.cli(["app", "cron", "run", "notes", "cleanup"]));
    assert.match(run.stdout, /cleanup: 1 expired note\(s\) removed/, "its log lines");
    assert.deepEqual(await (await call(server, host, "/notes")).json(), ["kept"]);
    const last = await (await call(server, host, "/cleanup")).json();
    assert.equal(last.removed, 1);
  });
});

Deno.test("a Deno Deploy Hono app, its packages from deno.json imports: bundled, then served", async () => {
  await withNode(async (sb, server) => {
    const dir = await sb.folder("hono-deploy", {
      "deno.json": JSON.stringify({ imports: { hono: "npm:hono@4.13.19" } }),
      "main.ts": [
        'import { Hono } from "hono";',
        'import { logger } from "hono/logger";',
        "",
        "const app = new Hono();",
        'app.use("*", logger());',
        'app.get("/", (c) => c.text("Hello from Hono on Deno Deploy"));',
        'app.get("/greet/:name", (c) => c.json({ hello: c.req.param("name") }));',
        "",
        "Deno.serve(app.fetch);",
        "",
      ].join("\n"),
    });
    const run = assertOk(await sb.cli(["deploy", dir, "--name", "honod"]));
    assert.match(run.stdout, /^deployed honod v1 /);
    assert.match(run.stderr, /every request goes to main\.ts \(main\.ts at the project's root\)/);
    assert.match(run.stderr, /bundled main\.ts \(\d+ files, 1 packages\)/);
    const host = "honod.localhost";
    assert.equal(await (await call(server, host, "/")).text(), "Hello from Hono on Deno Deploy");
    const greet = await call(server, host, "/greet/ada");
    assert.equal(greet.status, 200);
    assert.deepEqual(await greet.json(), { hello: "ada" });
    const missing = await call(server, host, "/nope");
    assert.equal(missing.status, 404);
    assert.equal(await missing.text(), "404 Not Found", "Hono's own 404: every path is the app's");
    for (const path of ["/main.ts", "/deno.json", "/deno.lock"]) {
      const res = await call(server, host, path);
      assert.equal(res.status, 404, path);
      assert.equal(await res.text(), "404 Not Found", `${path} reaches Hono, not a file`);
    }
  });
});

Deno.test("server files beside the entry are never static files, even with static_first", async () => {
  await withNode(async (sb, server) => {
    const SECRET = "postgres://admin:hunter2@db.internal/app";
    // No deno.json: a root main.ts with a TypeScript module and data beside it.
    const ts = await sb.folder("ts-siblings", {
      "manifest.json": JSON.stringify({ static_first: true }),
      "main.ts": [
        'import { dsn, tables } from "./db.ts";',
        'import settings from "./settings.json" with { type: "json" };',
        "Deno.serve((req) =>",
        "  new Response(`handler ${new URL(req.url).pathname} ${tables.length} ${settings.mode}`)",
        ");",
        "void dsn;",
      ].join("\n"),
      "db.ts": `export const dsn = "${SECRET}";\nexport const tables = ["links", "users"];\n`,
      "settings.json": JSON.stringify({ mode: "live", key: SECRET }),
      "scratch.ts":
        `// not imported: still server-side TypeScript\nexport const x = "${SECRET}";\n`,
      "style.css": "body { color: teal }",
    });
    const tsRun = assertOk(await sb.cli(["deploy", ts, "--name", "tssib"]));
    assert.match(
      tsRun.stderr,
      /left out 1 file of the server code from the static files: settings\.json\n/,
    );
    // And a root main.js with a .js module beside it, and a browser script that is not server code.
    const js = await sb.folder("js-siblings", {
      "manifest.json": JSON.stringify({ static_first: true }),
      "main.js": [
        'import { dsn } from "./db.js";',
        "Deno.serve((req) => new Response(`handler ${new URL(req.url).pathname} ${dsn.length}`));",
      ].join("\n"),
      "db.js": `export const dsn = "${SECRET}";\n`,
      "app.js": "document.title = 'served to browsers';",
    });
    const jsRun = assertOk(await sb.cli(["deploy", js, "--name", "jssib"]));
    assert.match(
      jsRun.stderr,
      /left out 1 file of the server code from the static files: db\.js\n/,
    );

    const get = async (host: string, path: string) => {
      const res = await call(server, host, path);
      return { status: res.status, text: await res.text() };
    };
    // static_first: files are served as they are...
    assert.deepEqual(await get("tssib.localhost", "/style.css"), {
      status: 200,
      text: "body { color: teal }",
    });
    assert.deepEqual(await get("jssib.localhost", "/app.js"), {
      status: 200,
      text: "document.title = 'served to browsers';",
    });
    // ...but the server's own files are not files: those paths reach the handler.
    for (
      const [host, path] of [
        ["tssib.localhost", "/db.ts"],
        ["tssib.localhost", "/settings.json"],
        ["tssib.localhost", "/scratch.ts"],
        ["tssib.localhost", "/main.ts"],
        ["jssib.localhost", "/db.js"],
        ["jssib.localhost", "/main.js"],
      ]
    ) {
      const { status, text } = await get(host, path);
      assert.equal(status, 200, `${host}${path}`);
      assert.ok(text.startsWith(`handler ${path} `), `${host}${path}: ${text}`);
      assert.ok(!text.includes(SECRET), `${host}${path} gave away the source`);
    }
    assert.equal((await get("tssib.localhost", "/db.ts")).text, "handler /db.ts 2 live");
  });
});
