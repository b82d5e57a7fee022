/**
 * Deno Deploy projects deployed unchanged with the real `fazt deploy` (a
 * subprocess with the `fazt` task's permissions) and driven over HTTP: the
 * example apps of docs/examples/deno-deploy, a link shortener on Deno KV
 * (atomic checks, sums, a queue) whose entry is its `start` task's file, and
 * a chat whose browsers follow `kv.watch` as server-sent events, whose entry
 * is its `deploy.entrypoint`; notes that expire, cleaned up by a job
 * registered with `Deno.cron`; and a bare `main.ts`.
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
    const dir = await sb.folder("shortener", {
      "deno.json": JSON.stringify({
        tasks: { start: "deno run -A --unstable-kv --watch main.ts" },
        unstable: ["kv"],
      }),
      "main.ts": example("shortener/main.ts"),
    });
    const run = assertOk(await sb.cli(["deploy", dir, "--name", "short"]));
    assert.match(run.stdout, /^deployed short v1 /);
    assert.match(
      run.stderr,
      /Deno Deploy-style app: every request goes to main\.ts \(deno\.json start task\)/,
    );
    const host = "short.localhost";

    const made = await call(server, host, "/links", { url: "https://deno.com/kv", slug: "kv" });
    assert.equal(made.status, 201);
    assert.deepEqual(await made.json(), { slug: "kv", url: "https://deno.com/kv" });
    const taken = await call(server, host, "/links", { url: "https://example.com/", slug: "kv" });
    assert.equal(taken.status, 409, "the versionstamp check refuses a slug in use");
    assert.deepEqual(await taken.json(), { error: "slug taken" });
    const bad = await call(server, host, "/links", { url: "not a url" });
    assert.equal(bad.status, 400);
    await bad.body?.cancel();
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
