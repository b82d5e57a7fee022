/**
 * The MCP server with the SDK's own `Client`: over Streamable HTTP at `/mcp`
 * on a real node, and over stdio by spawning `deno task fazt mcp` (the task's
 * exact permission flags) against two real nodes.
 */
import assert from "node:assert/strict";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import type {
  CallToolResult,
  ListResourcesResult,
  ListResourceTemplatesResult,
  Tool,
} from "@modelcontextprotocol/sdk/types.js";
import { ROUTES } from "../server/mod.ts";
import { Storage } from "../storage/mod.ts";
import { VERSION } from "../version.ts";
import { assertRefused, CliSandbox, ROOT_PATH } from "./cli_runner.ts";
import { makeZip, startTestNode, type TestNode } from "./helpers.ts";
import { adminOrigin, login, setOwner } from "./admin_helpers.ts";

// deno-lint-ignore no-explicit-any -- structured content is arbitrary JSON
type Json = any;

const ALL_TOOLS = [
  "fazt_app_cron_run",
  "fazt_app_crons",
  "fazt_app_delete",
  "fazt_app_domain",
  "fazt_app_domains",
  "fazt_app_info",
  "fazt_app_logs",
  "fazt_app_promote",
  "fazt_app_rollback",
  "fazt_apps_list",
  "fazt_deploy",
  "fazt_servers_list",
  "fazt_stats",
  "fazt_system_status",
];
const READ_TOOLS = [
  "fazt_app_crons",
  "fazt_app_domains",
  "fazt_app_info",
  "fazt_app_logs",
  "fazt_apps_list",
  "fazt_servers_list",
  "fazt_stats",
  "fazt_system_status",
];
const HAS_STATS = ROUTES.some((r) => r.method === "GET" && r.path === "/api/stats");

async function httpClient(node: TestNode, token: string): Promise<Client> {
  const client = new Client({ name: "fazt-test", version: "1.0.0" });
  await client.connect(
    new StreamableHTTPClientTransport(new URL(`${node.base}/mcp`), {
      requestInit: { headers: { authorization: `Bearer ${token}` } },
    }),
  );
  return client;
}

async function listTools(client: Client): Promise<Tool[]> {
  return (await client.listTools()).tools as Tool[];
}

async function call(client: Client, name: string, args: Record<string, unknown> = {}) {
  const r = await client.callTool({ name, arguments: args }) as CallToolResult;
  return r;
}

/** A successful call's structured content (and its text is the same JSON). */
async function ok(client: Client, name: string, args: Record<string, unknown> = {}): Promise<Json> {
  const r = await call(client, name, args);
  assert.ok(!r.isError, `${name} failed: ${JSON.stringify(r.content)}`);
  assert.equal(r.content[0].type, "text");
  assert.deepEqual(JSON.parse((r.content[0] as { text: string }).text), r.structuredContent);
  return r.structuredContent;
}

/** A failed call: `isError` with the API's error envelope as text. */
async function failed(
  client: Client,
  name: string,
  args: Record<string, unknown>,
): Promise<{ code: string; message: string }> {
  const r = await call(client, name, args);
  assert.equal(r.isError, true, `${name} should fail: ${JSON.stringify(r)}`);
  assert.equal(r.structuredContent, undefined);
  const text = (r.content[0] as { text: string }).text;
  return text.startsWith("{") ? JSON.parse(text).error : { code: "", message: text };
}

async function checkStats(client: Client, extra: Record<string, unknown> = {}): Promise<void> {
  if (HAS_STATS) {
    const s = await ok(client, "fazt_stats", {
      app: "site",
      from: "7d",
      interval: "day",
      ...extra,
    });
    assert.deepEqual(s.query, { app: "site", from: "7d", interval: "day" });
    assert.equal(s.stats.app, "site");
    assert.equal(s.stats.interval, "day");
    assert.ok(Array.isArray(s.stats.series));
    const all = await ok(client, "fazt_stats", extra);
    assert.deepEqual(all.query, {});
    const bad = await failed(client, "fazt_stats", { from: "someday", ...extra });
    assert.equal(bad.code, "VALIDATION_FAILED");
  } else {
    // GET /api/stats (issue 5) is not on this node yet: a clean tool error.
    const e = await failed(client, "fazt_stats", { app: "site", ...extra });
    assert.equal(e.code, "NOT_FOUND");
  }
}

Deno.test("MCP over Streamable HTTP: tools, draft deploy → promote, resources, errors", async () => {
  const node = await startTestNode();
  const port = node.server.port;
  const client = await httpClient(node, node.tokens.admin);
  try {
    assert.equal(client.getServerVersion()?.name, "fazt");
    assert.equal(client.getServerVersion()?.version, VERSION);

    const tools = await listTools(client);
    assert.deepEqual(tools.map((t) => t.name).sort(), ALL_TOOLS);
    for (const t of tools) {
      assert.equal(t.inputSchema.type, "object", t.name);
      assert.equal(t.outputSchema?.type, "object", t.name);
      assert.equal(typeof t.annotations?.readOnlyHint, "boolean", t.name);
      assert.equal(typeof t.annotations?.destructiveHint, "boolean", t.name);
      assert.equal(typeof t.annotations?.idempotentHint, "boolean", t.name);
      assert.ok(!("server" in (t.inputSchema.properties ?? {})), "HTTP acts on this node only");
    }
    const byName = new Map(tools.map((t) => [t.name, t]));
    assert.equal(byName.get("fazt_app_delete")!.annotations!.destructiveHint, true);
    assert.deepEqual(byName.get("fazt_deploy")!.inputSchema.required?.sort(), [
      "app_name",
      "files",
    ]);
    assert.ok(
      !("path" in byName.get("fazt_deploy")!.inputSchema.properties!),
      "no folders over HTTP",
    );

    const servers = await ok(client, "fazt_servers_list");
    assert.equal(servers.count, 1);
    assert.equal(servers.servers[0].name, "local");
    const status = await ok(client, "fazt_system_status");
    assert.equal(status.healthy, true);
    assert.equal(status.version, VERSION);
    assert.equal(status.compatible, true);
    assert.equal(status.apps, 0);
    assert.deepEqual(await ok(client, "fazt_apps_list"), { server: "local", apps: [], count: 0 });

    // A draft deploy (text and base64), previewed, then promoted.
    const dot = new Uint8Array([0, 1, 2, 250, 255]);
    const draft = await ok(client, "fazt_deploy", {
      app_name: "site",
      files: {
        "index.html": "<h1>draft</h1>",
        "img/dot.bin": { base64: dot.toBase64() },
      },
    });
    assert.equal(draft.live, false);
    assert.equal(draft.version, 1);
    assert.equal(draft.files, 2);
    assert.equal(draft.preview_url, `http://site--v1.localhost:${port}`);
    const live = () => node.fetch("/", { host: "site.localhost", token: null });
    const preview = await node.fetch("/", { host: "site--v1.localhost", token: null });
    assert.equal(await preview.text(), "<h1>draft</h1>");
    assert.equal((await live()).status, 404, "a draft is not live");
    const bin = await node.fetch("/img/dot.bin", { host: "site--v1.localhost", token: null });
    assert.deepEqual(new Uint8Array(await bin.arrayBuffer()), dot);

    const promoted = await ok(client, "fazt_app_promote", { app_name: "site", version: 1 });
    assert.deepEqual([promoted.live_version, promoted.previous_version], [1, null]);
    assert.equal(await (await live()).text(), "<h1>draft</h1>");

    const v2 = await ok(client, "fazt_deploy", {
      app_name: "site",
      files: { "index.html": "<h1>two</h1>" },
      promote: true,
    });
    assert.equal(v2.live, true);
    assert.equal(await (await live()).text(), "<h1>two</h1>");
    const info = await ok(client, "fazt_app_info", { app_name: "site" });
    assert.equal(info.server, "local");
    assert.equal(info.app.live_version, 2);
    assert.deepEqual(info.app.versions.map((v: Json) => v.number), [2, 1]);
    const back = await ok(client, "fazt_app_rollback", { app_name: "site" });
    assert.deepEqual([back.live_version, back.previous_version], [1, 2]);
    const logs = await ok(client, "fazt_app_logs", { app_name: "site", limit: 5 });
    assert.deepEqual([logs.app, logs.count, logs.logs], ["site", 0, []]);
    assert.equal((await ok(client, "fazt_apps_list")).count, 1);
    await checkStats(client);

    // Resources: the file list, a text file, a binary file, the logs.
    const templates = await client.listResourceTemplates() as ListResourceTemplatesResult;
    assert.deepEqual(
      templates.resourceTemplates.map((t: { uriTemplate: string }) => t.uriTemplate).sort(),
      ["fazt://apps/{name}/files", "fazt://apps/{name}/files/{+path}", "fazt://apps/{name}/logs"],
    );
    const listed = await client.listResources() as ListResourcesResult;
    assert.deepEqual(
      listed.resources.map((r: { uri: string }) => r.uri).sort(),
      ["fazt://apps/site/files", "fazt://apps/site/logs"],
    );
    const files = await client.readResource({ uri: "fazt://apps/site/files" });
    const fileList = JSON.parse((files.contents[0] as { text: string }).text);
    assert.deepEqual(fileList.files.map((f: Json) => f.path), ["img/dot.bin", "index.html"]);
    const index = await client.readResource({ uri: "fazt://apps/site/files/index.html" });
    assert.deepEqual(index.contents[0], {
      uri: "fazt://apps/site/files/index.html",
      mimeType: "text/html",
      text: "<h1>draft</h1>",
    });
    const blob = await client.readResource({ uri: "fazt://apps/site/files/img/dot.bin" });
    const b64 = (blob.contents[0] as { blob: string }).blob;
    assert.deepEqual(Uint8Array.fromBase64(b64), dot);
    const logRes = await client.readResource({ uri: "fazt://apps/site/logs" });
    assert.deepEqual(JSON.parse((logRes.contents[0] as { text: string }).text), []);
    await assert.rejects(
      client.readResource({ uri: "fazt://apps/ghost/files" }),
      /APP_NOT_FOUND/,
    );

    // Failures are tool results with isError and the API's code.
    assert.equal(
      (await failed(client, "fazt_app_info", { app_name: "ghost" })).code,
      "APP_NOT_FOUND",
    );
    assert.equal(
      (await failed(client, "fazt_app_delete", { app_name: "ghost" })).code,
      "APP_NOT_FOUND",
    );
    assert.equal(
      (await failed(client, "fazt_app_promote", { app_name: "site", version: 9 })).code,
      "VERSION_NOT_FOUND",
    );
    const badPath = await failed(client, "fazt_deploy", { app_name: "x", files: { "../up": "x" } });
    assert.equal(badPath.code, "VALIDATION_FAILED");
    const badName = await failed(client, "fazt_deploy", {
      app_name: "Bad_Name",
      files: { a: "b" },
    });
    assert.equal(badName.code, "VALIDATION_FAILED");
    const bad64 = await failed(client, "fazt_deploy", {
      app_name: "x",
      files: { a: { base64: "%%%" } },
    });
    assert.equal(bad64.code, "VALIDATION_FAILED");
    // Schema violations and unknown tools are tool errors too, not protocol errors.
    assert.match((await failed(client, "fazt_app_info", {})).message, /app_name/);
    assert.match((await failed(client, "fazt_nope", {})).message, /not found/);

    const deleted = await ok(client, "fazt_app_delete", { app_name: "site" });
    assert.deepEqual(deleted, { server: "local", app: "site", deleted: true });
    assert.equal(node.count("apps"), 0);
  } finally {
    await client.close();
    await node.close();
  }
});

Deno.test("MCP over HTTP: token, scope, Origin, protocol version, discovery", async () => {
  const node = await startTestNode();
  try {
    const init = {
      jsonrpc: "2.0",
      id: 1,
      method: "initialize",
      params: {
        protocolVersion: "2025-06-18",
        capabilities: {},
        clientInfo: { name: "raw", version: "1" },
      },
    };
    const post = (body: unknown, headers: Record<string, string>, token: string | null) =>
      node.fetch("/mcp", {
        method: "POST",
        body: JSON.stringify(body),
        token,
        headers: {
          "content-type": "application/json",
          accept: "application/json, text/event-stream",
          ...headers,
        },
      });

    // No token, a bad token: refused before any MCP happens.
    const none = await post(init, {}, null);
    assert.equal(none.status, 401);
    assert.match(none.headers.get("www-authenticate") ?? "", /^Bearer/);
    assert.equal((await none.json()).error.code, "UNAUTHORIZED");
    const bad = await post(init, {}, "fazt_1_" + "A".repeat(43));
    assert.equal(bad.status, 401);
    assert.equal((await bad.json()).error.code, "INVALID_TOKEN");

    // A foreign Origin is refused; the node's own origin is fine.
    const evil = await post(init, { origin: "http://evil.example" }, node.tokens.admin);
    assert.equal(evil.status, 403);
    assert.equal((await evil.json()).error.code, "FORBIDDEN_ORIGIN");
    const junk = await post(init, { origin: "null" }, node.tokens.admin);
    assert.equal(junk.status, 403);
    await junk.body?.cancel();
    const own = await post(
      init,
      { origin: `http://localhost:${node.server.port}` },
      node.tokens.admin,
    );
    assert.equal(own.status, 200);
    assert.equal((await own.json()).result.serverInfo.name, "fazt");

    // MCP-Protocol-Version: a supported one is honoured, an unknown one refused.
    const list = { jsonrpc: "2.0", id: 2, method: "tools/list", params: {} };
    const good = await post(list, { "mcp-protocol-version": "2025-06-18" }, node.tokens.read);
    assert.equal(good.status, 200);
    assert.ok((await good.json()).result.tools.length > 0);
    const unknown = await post(list, { "mcp-protocol-version": "1999-01-01" }, node.tokens.read);
    assert.equal(unknown.status, 400);
    assert.match(await unknown.text(), /Unsupported protocol version/);
    const get = await node.fetch("/mcp", { headers: { accept: "text/event-stream" } });
    assert.equal(get.status, 405, "no server-initiated stream in stateless mode");
    await get.body?.cancel();

    // A read token sees no tool that changes anything; deploy sees all but delete.
    const reader = await httpClient(node, node.tokens.read);
    try {
      const tools = await listTools(reader);
      assert.deepEqual(tools.map((t) => t.name).sort(), READ_TOOLS);
      for (const t of tools) {
        assert.equal(t.annotations?.readOnlyHint, true, t.name);
        assert.equal(t.annotations?.destructiveHint, false, t.name);
      }
      assert.match(
        (await failed(reader, "fazt_deploy", { app_name: "x", files: { a: "b" } })).message,
        /not found/,
      );
      assert.equal((await ok(reader, "fazt_apps_list")).count, 0);
    } finally {
      await reader.close();
    }
    const deployer = await httpClient(node, node.tokens.deploy);
    try {
      const names = (await listTools(deployer)).map((t) => t.name);
      assert.deepEqual(
        names.sort(),
        ALL_TOOLS.filter((n) => n !== "fazt_app_delete" && n !== "fazt_app_domain"),
      );
      const d = await ok(deployer, "fazt_deploy", { app_name: "mine", files: { "a.txt": "a" } });
      assert.equal(d.live, false);
      const info = await (await node.fetch("/api/apps/mine")).json();
      assert.equal(info.data.versions[0].deployed_by, "deployer", "the caller's token acted");
    } finally {
      await deployer.close();
    }

    // Discovery for agents.
    const wk = await node.fetch("/.well-known/mcp.json", { token: null });
    assert.equal(wk.status, 200);
    const doc = await wk.json();
    assert.equal(doc.transport.url, `http://localhost:${node.server.port}/mcp`);
    assert.deepEqual(doc.tools.map((t: Json) => t.name).sort(), ALL_TOOLS);
    const llms = await node.fetch("/llms.txt", { token: null });
    assert.match(llms.headers.get("content-type") ?? "", /^text\/plain/);
    const text = await llms.text();
    assert.match(text, /^# fazt /);
    for (const name of ALL_TOOLS) assert.ok(text.includes(name), name);
    assert.match(text, /^- POST \/api\/apps\/:name\/promote \(deploy\): /m);
  } finally {
    await node.close();
  }
});

Deno.test("MCP over stdio: `deno task fazt mcp` on two peers, folder deploys, --peer", async () => {
  const a = await startTestNode();
  const b = await startTestNode();
  const sb = await CliSandbox.create();
  // The peers the CLI knows, in its own database (a is the default: added first).
  await Deno.mkdir(`${sb.dir}/cli`);
  const setup = Storage.open(sb.db);
  setup.peers.upsert("a", a.base, a.tokens.admin);
  setup.peers.upsert("b", b.base, b.tokens.deploy);
  setup.close();

  const errors: Error[] = [];
  const td = new TextDecoder();
  let stderr = "";
  const spawn = async (args: string[] = []) => {
    const client = new Client({ name: "fazt-test", version: "1.0.0" });
    client.onerror = (e: Error) => errors.push(e);
    const transport = new StdioClientTransport({
      command: Deno.execPath(),
      args: ["task", "--quiet", "fazt", "mcp", ...args],
      cwd: ROOT_PATH,
      env: sb.env(),
      stderr: "pipe",
    });
    transport.stderr!.on("data", (chunk: Uint8Array) => (stderr += td.decode(chunk)));
    await client.connect(transport);
    return client;
  };
  const client = await spawn();
  try {
    const tools = await listTools(client);
    assert.deepEqual(tools.map((t) => t.name).sort(), ALL_TOOLS, "stdio lists every tool");
    const deploy = tools.find((t) => t.name === "fazt_deploy")!;
    for (const p of ["app_name", "files", "path", "promote", "server"]) {
      assert.ok(p in deploy.inputSchema.properties!, `fazt_deploy takes ${p} over stdio`);
    }

    const servers = await ok(client, "fazt_servers_list");
    assert.deepEqual(
      servers.servers.map((s: Json) => [s.name, s.url, s.is_default]),
      [["a", a.base, true], ["b", b.base, false]],
    );
    assert.ok(!JSON.stringify(servers).includes(a.tokens.admin), "never tokens");

    // A folder, deployed as a draft to the default peer, then promoted.
    const site = await sb.folder("site", { "index.html": "folder draft", ".env": "SECRET" });
    const draft = await ok(client, "fazt_deploy", { app_name: "site", path: site });
    assert.deepEqual([draft.server, draft.version, draft.files, draft.live], ["a", 1, 1, false]);
    assert.equal(
      await (await a.fetch("/", { host: "site--v1.localhost", token: null })).text(),
      "folder draft",
    );
    assert.equal((await a.fetch("/", { host: "site.localhost", token: null })).status, 404);
    await ok(client, "fazt_app_promote", { app_name: "site", version: 1 });
    assert.equal(
      await (await a.fetch("/", { host: "site.localhost", token: null })).text(),
      "folder draft",
    );
    await ok(client, "fazt_deploy", {
      app_name: "site",
      files: { "index.html": "v2" },
      promote: true,
    });
    const info = await ok(client, "fazt_app_info", { app_name: "site" });
    assert.deepEqual([info.server, info.app.live_version, info.app.versions.length], ["a", 2, 2]);
    const back = await ok(client, "fazt_app_rollback", { app_name: "site", version: 1 });
    assert.deepEqual([back.live_version, back.previous_version], [1, 2]);
    assert.equal((await ok(client, "fazt_app_logs", { app_name: "site" })).count, 0);
    const st = await ok(client, "fazt_system_status");
    assert.deepEqual([st.server, st.url, st.healthy, st.version], ["a", a.base, true, VERSION]);
    await checkStats(client);

    // Another peer by name.
    const onB = await ok(client, "fazt_deploy", {
      server: "b",
      app_name: "other",
      files: { "index.html": "on b" },
      promote: true,
    });
    assert.equal(onB.server, "b");
    assert.equal(
      await (await b.fetch("/", { host: "other.localhost", token: null })).text(),
      "on b",
    );
    const bApps = await ok(client, "fazt_apps_list", { server: "b" });
    assert.deepEqual(bApps.apps.map((x: Json) => x.name), ["other"]);
    assert.equal((await ok(client, "fazt_system_status", { server: "b" })).apps, 1);

    // Failures: a missing app, an unknown peer, a missing folder, b's scope.
    assert.equal(
      (await failed(client, "fazt_app_info", { app_name: "ghost" })).code,
      "APP_NOT_FOUND",
    );
    assert.equal(
      (await failed(client, "fazt_apps_list", { server: "zzz" })).code,
      "PEER_NOT_FOUND",
    );
    const noDir = await failed(client, "fazt_deploy", { app_name: "x", path: `${sb.dir}/missing` });
    assert.equal(noDir.code, "NOT_FOUND");
    const both = await failed(client, "fazt_deploy", {
      app_name: "x",
      path: site,
      files: { a: "b" },
    });
    assert.equal(both.code, "VALIDATION_FAILED");
    const forbidden = await failed(client, "fazt_app_delete", { server: "b", app_name: "other" });
    assert.equal(forbidden.code, "FORBIDDEN");

    // Resources act on the default peer.
    const idx = await client.readResource({ uri: "fazt://apps/site/files/index.html" });
    assert.equal((idx.contents[0] as { text: string }).text, "folder draft");

    const del = await ok(client, "fazt_app_delete", { app_name: "site" });
    assert.deepEqual(del, { server: "a", app: "site", deleted: true });
    assert.equal(a.count("apps"), 0);
  } finally {
    await client.close();
  }
  // --peer b: the same tools, acting on b by default.
  const onB = await spawn(["--peer", "b"]);
  try {
    const apps = await ok(onB, "fazt_apps_list");
    assert.deepEqual([apps.server, apps.count], ["b", 1]);
  } finally {
    await onB.close();
    await a.close();
    await b.close();
    await sb.remove();
  }
  assert.deepEqual(errors, [], "stdout carried only MCP messages");
  assert.match(stderr, /fazt mcp: serving MCP on stdio/, "logs go to stderr");
  assert.doesNotMatch(stderr, /Uncaught|NotCapable/, stderr);
});

Deno.test("MCP under the tasks' permissions: `server start` serves /mcp, `fazt mcp` reaches it", async () => {
  const sb = await CliSandbox.create();
  let server: Awaited<ReturnType<CliSandbox["startServer"]>> | undefined;
  try {
    server = await sb.startServer();
    // The first run made the `local` peer with an admin token.
    const storage = Storage.open(sb.db);
    const token = storage.peers.get("local")!.token;
    storage.close();
    const http = new Client({ name: "fazt-test", version: "1.0.0" });
    await http.connect(
      new StreamableHTTPClientTransport(new URL(`${server.base}/mcp`), {
        requestInit: { headers: { authorization: `Bearer ${token}` } },
      }),
    );
    try {
      assert.deepEqual((await listTools(http)).map((t) => t.name).sort(), ALL_TOOLS);
      const d = await ok(http, "fazt_deploy", {
        app_name: "perm",
        files: { "index.html": "ok" },
        promote: true,
      });
      assert.equal(d.live, true);
      assert.equal((await ok(http, "fazt_system_status")).version, VERSION);
    } finally {
      await http.close();
    }
    const stdio = new Client({ name: "fazt-test", version: "1.0.0" });
    await stdio.connect(
      new StdioClientTransport({
        command: Deno.execPath(),
        args: ["task", "--quiet", "fazt", "mcp"],
        cwd: ROOT_PATH,
        env: sb.env(),
        stderr: "pipe",
      }),
    );
    try {
      const apps = await ok(stdio, "fazt_apps_list");
      assert.deepEqual([apps.server, apps.apps.map((a: Json) => a.name)], ["local", ["perm"]]);
    } finally {
      await stdio.close();
    }
  } finally {
    await server?.stop();
    await sb.remove();
  }
  assert.doesNotMatch(server.err, /Uncaught|NotCapable|PermissionDenied/, server.err);
});

/** A failed call's whole error envelope (`code`, `message`, `details`). */
async function failure(
  client: Client,
  name: string,
  args: Record<string, unknown>,
): Promise<{ code: string; message: string; details?: Json }> {
  const r = await call(client, name, args);
  assert.equal(r.isError, true, `${name} should fail: ${JSON.stringify(r)}`);
  return JSON.parse((r.content[0] as { text: string }).text).error;
}

/** A resource read that must fail: its JSON-RPC error code, message and data. */
async function readFails(client: Client, uri: string): Promise<{ code: number; data?: Json }> {
  try {
    await client.readResource({ uri });
  } catch (err) {
    return err as { code: number; data?: Json };
  }
  throw new Error(`reading ${uri} should fail`);
}

const APP_NAME_TOOLS = [
  "fazt_app_info",
  "fazt_app_logs",
  "fazt_deploy",
  "fazt_app_promote",
  "fazt_app_rollback",
  "fazt_app_delete",
  "fazt_app_domains",
  "fazt_app_domain",
  "fazt_app_crons",
  "fazt_app_cron_run",
];

/** Arguments that would be valid for each tool if its app name were. */
function argsFor(tool: string, appName: string): Record<string, unknown> {
  switch (tool) {
    case "fazt_deploy":
      return { app_name: appName, files: { "index.html": "x" }, promote: true };
    case "fazt_app_promote":
      return { app_name: appName, version: 1 };
    case "fazt_app_domain":
      return { app_name: appName, action: "add", domain: "shop.example.com" };
    case "fazt_app_cron_run":
      return { app_name: appName, job: "cleanup" };
    default:
      return { app_name: appName };
  }
}

/** What every transport must hold: app-name patterns, -32002, no listChanged. */
async function checkHardening(client: Client, tools: Tool[]): Promise<void> {
  const caps = client.getServerCapabilities()!;
  assert.equal(caps.tools?.listChanged, false, "no tools/list_changed is ever sent");
  assert.equal(caps.resources?.listChanged, false, "no resources/list_changed is ever sent");

  for (const name of APP_NAME_TOOLS) {
    const schema = tools.find((t) => t.name === name)!.inputSchema as Json;
    const pattern = new RegExp(schema.properties.app_name.pattern);
    for (const bad of [".", "..", "../x", "a/b", "Logs", "a--b", "%2e"]) {
      assert.ok(!pattern.test(bad), `${name}: the schema's pattern refuses ${bad}`);
      // Refused by the schema (before any request), as fazt's envelope.
      const e = await failure(client, name, argsFor(name, bad));
      assert.equal(e.code, "VALIDATION_FAILED", `${name} with ${bad}: ${e.message}`);
      assert.deepEqual(e.details, { field: "app_name", constraint: "pattern" }, `${name} ${bad}`);
      assert.match(e.message, /^app_name: must be lower-case/);
    }
    assert.ok(pattern.test("logs"));
  }
  // An app called 'logs' exists: '.' would have reached /api/apps/logs without the pattern.
  const apps = await ok(client, "fazt_apps_list");
  assert.deepEqual(apps.apps.map((a: Json) => a.name), ["logs"]);

  // Reading what is not there: -32002 with fazt's code in the data.
  const ghost = await readFails(client, "fazt://apps/ghost/files");
  assert.equal(ghost.code, -32002);
  assert.equal(ghost.data.code, "APP_NOT_FOUND");
  const noFile = await readFails(client, "fazt://apps/logs/files/nope.txt");
  assert.equal(noFile.code, -32002);
  assert.equal(noFile.data.code, "FILE_NOT_FOUND");
  for (
    const uri of [
      "fazt://apps/./logs",
      "fazt://apps/../files",
      "fazt://apps/%2E%2E/files",
      "fazt://apps/logs/files/../../../tokens",
      "fazt://apps/logs/files/a//b",
      "fazt://apps/logs/nothing",
      "fazt://elsewhere",
    ]
  ) {
    const e = await readFails(client, uri);
    assert.equal(e.code, -32002, uri);
  }
  const index = await client.readResource({ uri: "fazt://apps/logs/files/index.html" });
  assert.equal((index.contents[0] as { text: string }).text, "x");
}

Deno.test("MCP over HTTP: app names by pattern, -32002 for missing resources, no listChanged", async () => {
  const node = await startTestNode();
  const client = await httpClient(node, node.tokens.admin);
  try {
    await ok(client, "fazt_deploy", argsFor("fazt_deploy", "logs"));
    await checkHardening(client, await listTools(client));
  } finally {
    await client.close();
    await node.close();
  }
});

Deno.test("MCP: an app's custom domains, added, listed and removed; bad names refused", async () => {
  const node = await startTestNode();
  const client = await httpClient(node, node.tokens.admin);
  try {
    await ok(client, "fazt_deploy", argsFor("fazt_deploy", "shop"));
    const tools = await listTools(client);
    const schema = tools.find((t) => t.name === "fazt_app_domain")!.inputSchema as Json;
    const pattern = new RegExp(schema.properties.domain.pattern);
    for (const bad of ["localhost", "1.2.3.4", "*.example.com", "x.com/p", "x.com:80", "com"]) {
      assert.ok(!pattern.test(bad), `the schema refuses ${bad}`);
      const e = await failure(client, "fazt_app_domain", {
        app_name: "shop",
        action: "add",
        domain: bad,
      });
      assert.equal(e.code, "VALIDATION_FAILED", bad);
    }
    assert.deepEqual(schema.properties.action.enum, ["add", "remove"]);
    // The schema lets this through; the node refuses it with its rule's name.
    assert.ok(pattern.test("app.localhost"));
    const local = await failure(client, "fazt_app_domain", {
      app_name: "shop",
      action: "add",
      domain: "app.localhost",
    });
    assert.equal(local.code, "VALIDATION_FAILED");
    assert.deepEqual(local.details, { field: "name", constraint: "localhost" });

    const added = await ok(client, "fazt_app_domain", argsFor("fazt_app_domain", "shop"));
    assert.deepEqual(
      [added.app, added.action, added.domain, added.changed, added.certificate.status],
      ["shop", "add", "shop.example.com", true, "pending"],
    );
    const listed = await ok(client, "fazt_app_domains", { app_name: "shop" });
    assert.equal(listed.count, 1);
    assert.equal(listed.domains[0].name, "shop.example.com");
    const page = await node.fetch("/", { host: "shop.example.com", token: null });
    assert.equal(await page.text(), "x", "served on the domain");

    const taken = await ok(client, "fazt_deploy", argsFor("fazt_deploy", "other"));
    assert.equal(taken.app, "other");
    const conflict = await failure(client, "fazt_app_domain", {
      ...argsFor("fazt_app_domain", "other"),
    });
    assert.equal(conflict.code, "DOMAIN_TAKEN");

    const removed = await ok(client, "fazt_app_domain", {
      app_name: "shop",
      action: "remove",
      domain: "shop.example.com",
    });
    assert.equal(removed.changed, true);
    const gone = await failure(client, "fazt_app_domain", {
      app_name: "shop",
      action: "remove",
      domain: "shop.example.com",
    });
    assert.equal(gone.code, "DOMAIN_NOT_FOUND");
    assert.equal((await ok(client, "fazt_app_domains", { app_name: "shop" })).count, 0);
  } finally {
    await client.close();
    await node.close();
  }
});

Deno.test("MCP: an app's scheduled jobs listed, one run now; unknown jobs refused", async () => {
  const node = await startTestNode();
  const client = await httpClient(node, node.tokens.deploy);
  try {
    const r = await node.deploy(
      "jobs",
      await makeZip({
        "manifest.json": JSON.stringify({ crons: [{ name: "cleanup", schedule: "0 3 * * *" }] }),
        "api/main.ts": `export default {
          fetch: () => new Response("ok"),
          scheduled() { console.log("swept"); },
        };`,
      }),
    );
    assert.equal(r.status, 201);
    const listed = await ok(client, "fazt_app_crons", { app_name: "jobs" });
    assert.deepEqual(listed.jobs.map((j: Json) => [j.name, j.schedule, j.source]), [
      ["cleanup", "0 3 * * *", "manifest"],
    ]);
    assert.deepEqual(listed.runs, []);
    const ran = await ok(client, "fazt_app_cron_run", argsFor("fazt_app_cron_run", "jobs"));
    assert.equal(ran.run.outcome, "ok");
    assert.equal(ran.run.trigger, "manual");
    assert.ok(ran.run.logs.some((l: Json) => l.message === "swept"));
    assert.equal((await ok(client, "fazt_app_crons", { app_name: "jobs" })).runs.length, 1);
    const unknown = await failure(client, "fazt_app_cron_run", { app_name: "jobs", job: "nope" });
    assert.equal(unknown.code, "CRON_NOT_FOUND");
  } finally {
    await client.close();
    await node.close();
  }
});

Deno.test("MCP over HTTP refuses a dashboard session cookie: /mcp is for tokens", async () => {
  const node = await startTestNode();
  try {
    await setOwner(node);
    const { cookie } = await login(node);
    const messages = [
      {
        jsonrpc: "2.0",
        id: 1,
        method: "initialize",
        params: {
          protocolVersion: "2025-06-18",
          capabilities: {},
          clientInfo: { name: "raw", version: "1" },
        },
      },
      { jsonrpc: "2.0", id: 2, method: "tools/list", params: {} },
      {
        jsonrpc: "2.0",
        id: 3,
        method: "tools/call",
        params: { name: "fazt_apps_list", arguments: {} },
      },
    ];
    for (const message of messages) {
      const res = await node.fetch("/mcp", {
        method: "POST",
        token: null,
        headers: {
          cookie: cookie!,
          origin: adminOrigin(node),
          "content-type": "application/json",
          accept: "application/json, text/event-stream",
        },
        body: JSON.stringify(message),
      });
      assert.equal(res.status, 401, message.method);
      assert.match(res.headers.get("www-authenticate") ?? "", /^Bearer/);
      const body = await res.json();
      assert.equal(body.error.code, "TOKEN_REQUIRED", message.method);
    }
    // The SDK's client with the cookie cannot connect either.
    const client = new Client({ name: "fazt-test", version: "1.0.0" });
    await assert.rejects(
      client.connect(
        new StreamableHTTPClientTransport(new URL(`${node.base}/mcp`), {
          requestInit: { headers: { cookie: cookie!, origin: adminOrigin(node) } },
        }),
      ),
    );
    // The same cookie still works for the dashboard's API; a token still works on /mcp.
    const me = await node.fetch("/api/auth/me", { token: null, headers: { cookie: cookie! } });
    assert.equal((await me.json()).data.kind, "session");
    const withToken = await httpClient(node, node.tokens.read);
    assert.equal((await ok(withToken, "fazt_apps_list")).count, 0);
    await withToken.close();
  } finally {
    await node.close();
  }
});

Deno.test("MCP over stdio: `fazt @NAME mcp` is `fazt mcp --peer NAME`; errors keep their details", async () => {
  const a = await startTestNode();
  const b = await startTestNode();
  const sb = await CliSandbox.create();
  await Deno.mkdir(`${sb.dir}/cli`);
  const setup = Storage.open(sb.db);
  setup.peers.upsert("a", a.base, a.tokens.admin); // the default
  setup.peers.upsert("b", b.base, b.tokens.admin);
  setup.peers.upsert("b-deployer", b.base, b.tokens.deploy);
  setup.close();
  const spawn = async (args: string[]) => {
    const client = new Client({ name: "fazt-test", version: "1.0.0" });
    await client.connect(
      new StdioClientTransport({
        command: Deno.execPath(),
        args: ["task", "--quiet", "fazt", ...args],
        cwd: ROOT_PATH,
        env: sb.env(),
        stderr: "pipe",
      }),
    );
    return client;
  };
  const clients: Client[] = [];
  try {
    const logs = await b.deploy("logs", await makeZip({ "index.html": "x" }));
    assert.equal(logs.status, 201);
    const shorthand = await spawn(["@b", "mcp"]);
    clients.push(shorthand);
    const flag = await spawn(["mcp", "--peer", "b"]);
    clients.push(flag);
    for (const client of [shorthand, flag]) {
      const servers = await ok(client, "fazt_servers_list");
      assert.deepEqual(
        servers.servers.map((s: Json) => [s.name, s.is_default]),
        [["a", false], ["b", true], ["b-deployer", false]],
        "the default it reports is the one it acts on",
      );
      const apps = await ok(client, "fazt_apps_list");
      assert.deepEqual([apps.server, apps.apps.map((x: Json) => x.name)], ["b", ["logs"]]);
      assert.equal((await ok(client, "fazt_system_status")).url, b.base);
    }

    // A refusal over stdio carries the node's code and details, as over HTTP.
    const http = await httpClient(b, b.tokens.admin);
    clients.push(http);
    const bad = { from: "someday" };
    const overHttp = await failure(http, "fazt_stats", bad);
    const overStdio = await failure(shorthand, "fazt_stats", bad);
    assert.equal(overStdio.code, "VALIDATION_FAILED");
    assert.equal(overHttp.details.field, "from", "the node gives details");
    assert.deepEqual(overStdio, overHttp, "the same code, message and details");
    const forbidden = await failure(shorthand, "fazt_app_delete", {
      server: "b-deployer",
      app_name: "logs",
    });
    assert.deepEqual(forbidden, {
      code: "FORBIDDEN",
      message: "This needs a token with scope 'admin'",
      details: { required: "admin", scope: "deploy" },
    });
    const missing = await failure(shorthand, "fazt_app_promote", { app_name: "logs", version: 9 });
    assert.equal(missing.code, "VERSION_NOT_FOUND");

    await checkHardening(shorthand, await listTools(shorthand));

    // @NAME with a different --peer, or with --url/--token, is refused before serving.
    assertRefused(await sb.cli(["@b", "mcp", "--peer", "a"]), /name different peers/);
    assertRefused(
      await sb.cli(["@b", "mcp", "--url", b.base, "--token", b.tokens.admin]),
      /either @NAME or --url\/--token/,
    );
  } finally {
    for (const c of clients) await c.close();
    await a.close();
    await b.close();
    await sb.remove();
  }
});
