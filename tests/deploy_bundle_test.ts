/**
 * Real apps deployed unchanged with the real `fazt deploy` (a subprocess with
 * the `fazt` task's permissions) from project folders whose dependencies
 * were installed from npm in the test's setup: a Hono app with zod (deno.json
 * import map), an app importing a JSR package (from a JSR registry on
 * loopback: Deno's own JSR client, pointed there with JSR_URL, since jsr.io
 * is not reachable here), and an app split over several files (package.json,
 * `npm install`, node_modules). Each is bundled on the "developer's machine"
 * (the CLI); the node resolves nothing. Stack traces in the app's log name
 * the developer's files.
 */
import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import { assertOk, assertRefused, CliSandbox, type ServerProcess } from "./cli_runner.ts";
import { waitFor } from "./deadline.ts";
import { hostFetch } from "./http_client.ts";

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

/** The admin token the first run stored for the CLI (the `local` peer). */
function adminToken(sb: CliSandbox): string {
  const db = new DatabaseSync(sb.db, { readOnly: true });
  try {
    return (db.prepare("SELECT token FROM peers WHERE is_default = 1").get() as { token: string })
      .token;
  } finally {
    db.close();
  }
}

/** A request to an app (its host), or to the API with the admin token. */
function call(
  server: ServerProcess,
  host: string,
  path: string,
  init: { method?: string; json?: unknown; token?: string } = {},
): Promise<Response> {
  const headers: Record<string, string> = {};
  if (init.json !== undefined) headers["content-type"] = "application/json";
  if (init.token) headers.authorization = `Bearer ${init.token}`;
  return hostFetch(`${server.base}${path}`, {
    host,
    method: init.method ?? (init.json === undefined ? "GET" : "POST"),
    body: init.json === undefined ? undefined : JSON.stringify(init.json),
    headers,
  });
}

/** Runs a setup command (deno install, npm install) in `cwd` with the sandbox's environment. */
async function setup(sb: CliSandbox, cwd: string, cmd: string, args: string[]): Promise<void> {
  const out = await new Deno.Command(cmd, {
    args,
    cwd,
    env: sb.env({ npm_config_update_notifier: "false", npm_config_fund: "false" }),
    clearEnv: true,
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(120_000),
  }).output();
  assert.ok(out.success, `${cmd} ${args.join(" ")}: ${new TextDecoder().decode(out.stderr)}`);
}

/** The paths of the live version's files, from the API. */
async function publishedFiles(sb: CliSandbox, server: ServerProcess, app: string) {
  const res = await call(server, `localhost:${server.port}`, `/api/apps/${app}/files`, {
    token: adminToken(sb),
  });
  assert.equal(res.status, 200);
  const data = (await res.json()).data as { files: { path: string }[] };
  return data.files.map((f) => f.path).sort();
}

/** A file of the live version, through the admin API (requests to the app never reach _fazt/). */
async function versionFile(sb: CliSandbox, server: ServerProcess, app: string, path: string) {
  const res = await call(server, `localhost:${server.port}`, `/api/apps/${app}/files/${path}`, {
    token: adminToken(sb),
  });
  assert.equal(res.status, 200, `${path}: ${res.status}`);
  const data = (await res.json()).data as { encoding: string; content: string };
  assert.equal(data.encoding, "utf-8");
  return data.content;
}

/** The app's log lines, waiting until `ready` holds. */
function logs(sb: CliSandbox, app: string, ready: (text: string) => boolean): Promise<string> {
  return waitFor(async () => {
    const run = assertOk(await sb.cli(["app", "logs", app, "--json", "--limit", "100"]));
    const lines = (JSON.parse(run.stdout) as { message: string }[]).map((l) => l.message);
    const text = lines.join("\n");
    return ready(text) && text;
  }, `the log of ${app}`);
}

const HONO_APP = {
  "deno.json": JSON.stringify({
    imports: { hono: "npm:hono@4.13.19", zod: "npm:zod@4.6.7" },
  }),
  "index.html": "<h1>notes</h1>",
  "api/main.ts": [
    'import { Hono } from "hono";',
    'import { z } from "zod";',
    "",
    "const app = new Hono();",
    "const Note = z.object({ title: z.string().min(1), tags: z.array(z.string()).default([]) });",
    "",
    'app.get("/api/hello/:name", (c) => c.json({ hello: c.req.param("name") }));',
    'app.post("/api/notes", async (c) => {',
    "  const parsed = Note.safeParse(await c.req.json().catch(() => null));",
    "  if (!parsed.success) {",
    '    return c.json({ error: parsed.error.issues.map((i) => i.path.join(".")) }, 400);',
    "  }",
    "  return c.json(parsed.data, 201);",
    "});",
    'app.get("/api/boom", () => {',
    "  // Thrown on line 17, column 9 of this file.",
    '  throw new Error("boom from the app");',
    "});",
    "",
    "export default app;",
    "",
  ].join("\n"),
};

Deno.test("a Hono app with zod, from a deno.json project: routes, validation, Hono's 404, mapped stack traces", async () => {
  await withNode(async (sb, server) => {
    const dir = await sb.folder("hono-notes", HONO_APP);
    await setup(sb, dir, Deno.execPath(), ["install"]);
    const run = assertOk(await sb.cli(["deploy", dir, "--name", "notes"]));
    assert.match(run.stdout, /^deployed notes v1 /);
    assert.match(run.stderr, /bundled api\/main\.ts \(\d+ files, 2 packages\)/);
    const host = "notes.localhost";

    const hello = await call(server, host, "/api/hello/ada");
    assert.deepEqual(await hello.json(), { hello: "ada" });
    const created = await call(server, host, "/api/notes", { json: { title: "milk" } });
    assert.equal(created.status, 201);
    assert.deepEqual(await created.json(), { title: "milk", tags: [] });
    const invalid = await call(server, host, "/api/notes", { json: { title: "", tags: [1] } });
    assert.equal(invalid.status, 400);
    assert.deepEqual(await invalid.json(), { error: ["title", "tags.0"] });
    const missing = await call(server, host, "/api/nope");
    assert.equal(missing.status, 404);
    assert.equal(await missing.text(), "404 Not Found", "Hono's own 404");
    assert.equal(await (await call(server, host, "/")).text(), "<h1>notes</h1>");

    // Stack traces name the developer's file and line, and the package's.
    const boom = await call(server, host, "/api/boom");
    assert.equal(boom.status, 500);
    await boom.body?.cancel();
    const log = await logs(sb, "notes", (t) => t.includes("boom from the app"));
    assert.match(log, /\(api\/main\.ts:17:9\)/);
    assert.match(log, /\(npm:hono@4\.13\.19\/dist\/hono-base\.js:\d+:\d+\)/);
    assert.doesNotMatch(log, /fazt-app|\/\.cache\/|registry\.npmjs\.org/);

    // Only what is served was published; what was resolved is pinned.
    assert.deepEqual(await publishedFiles(sb, server, "notes"), [
      "_fazt/lock.json",
      "api/main.js",
      "index.html",
    ]);
    for (const path of ["/deno.json", "/deno.lock", "/_fazt/lock.json"]) {
      const res = await call(server, host, path);
      assert.equal(res.status, 404, path);
      await res.body?.cancel();
    }
    const lock = JSON.parse(await versionFile(sb, server, "notes", "_fazt/lock.json"));
    const denoLock = JSON.parse(await Deno.readTextFile(`${dir}/deno.lock`));
    assert.equal(lock.entry, "api/main.ts");
    assert.equal(lock.bundler, `deno ${Deno.version.deno}`);
    for (const id of ["hono@4.13.19", "zod@4.6.7"]) {
      assert.match(lock.npm[id].integrity, /^sha512-/);
      assert.equal(lock.npm[id].integrity, denoLock.npm[id].integrity, id);
    }
    const bundle = await versionFile(sb, server, "notes", "api/main.js");
    assert.doesNotMatch(bundle, new RegExp(sb.dir), "no paths of the developer's machine");
  });
});

/**
 * A JSR registry on loopback, as Deno's JSR client reads one: meta.json,
 * version meta, files. Under a path of its own: Deno's cache (shared
 * between runs) keys what it fetched by URL, and a port used by an earlier
 * run would otherwise be answered from the cache without asking.
 */
class JsrRegistry {
  readonly requests: string[] = [];
  #server: Deno.HttpServer<Deno.NetAddr>;
  #files = new Map<string, string>();
  #meta = new Map<string, unknown>();
  #base = `/${crypto.randomUUID()}`;

  constructor() {
    this.#server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, (req) => {
      const full = new URL(req.url).pathname;
      if (!full.startsWith(`${this.#base}/`)) return new Response("not found", { status: 404 });
      const path = full.slice(this.#base.length);
      this.requests.push(path);
      const meta = this.#meta.get(path);
      if (meta) return Response.json(meta);
      const file = this.#files.get(path);
      if (file !== undefined) {
        return new Response(file, { headers: { "content-type": "application/typescript" } });
      }
      return new Response("not found", { status: 404 });
    });
  }

  get url(): string {
    return `http://127.0.0.1:${this.#server.addr.port}${this.#base}/`;
  }

  /** Publishes `@scope/name` at `version` with `files` (path → source) and `exports`. */
  async publish(pkg: string, version: string, files: Record<string, string>) {
    const manifest: Record<string, { size: number; checksum: string }> = {};
    for (const [path, text] of Object.entries(files)) {
      const bytes = new TextEncoder().encode(text);
      const sum = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes)).toHex();
      manifest[`/${path}`] = { size: bytes.length, checksum: `sha256-${sum}` };
      this.#files.set(`/${pkg}/${version}/${path}`, text);
    }
    const [scope, name] = pkg.slice(1).split("/");
    const meta = (this.#meta.get(`/${pkg}/meta.json`) ?? { scope, name, versions: {} }) as {
      versions: Record<string, unknown>;
      latest?: string;
    };
    meta.versions[version] = {};
    meta.latest = version;
    this.#meta.set(`/${pkg}/meta.json`, meta);
    this.#meta.set(`/${pkg}/${version}_meta.json`, { exports: { ".": "./mod.ts" }, manifest });
  }

  close(): Promise<void> {
    return this.#server.shutdown();
  }
}

Deno.test("an app that imports a jsr: package: resolved by Deno from a JSR registry, pinned, traced", async () => {
  const registry = new JsrRegistry();
  try {
    await registry.publish("@fazt/greet", "1.0.0", {
      "mod.ts": 'export { greet } from "./greet.ts";\n',
      "greet.ts": "export function greet(name: string): string {\n  return `hi ${name}`;\n}\n",
    });
    await registry.publish("@fazt/greet", "1.2.0", {
      "mod.ts": 'export { greet } from "./greet.ts";\n',
      "greet.ts": [
        "export function greet(name: string): string {",
        '  if (!name) throw new TypeError("greet needs a name");',
        "  return `hello, ${name}`;",
        "}",
        "",
      ].join("\n"),
    });
    await withNode(async (sb, server) => {
      const dir = await sb.folder("greeter", {
        "deno.json": JSON.stringify({ imports: { "@fazt/greet": "jsr:@fazt/greet@^1.0.0" } }),
        "api/main.ts": [
          'import { greet } from "@fazt/greet";',
          "",
          "export default (req: Request): Response =>",
          '  new Response(greet(new URL(req.url).searchParams.get("name") ?? ""));',
          "",
        ].join("\n"),
      });
      const env = { JSR_URL: registry.url };
      const run = assertOk(await sb.cli(["deploy", dir], env));
      assert.match(run.stdout, /^deployed greeter v1 /);
      assert.ok(registry.requests.includes("/@fazt/greet/meta.json"), "Deno asked the registry");
      assert.ok(registry.requests.includes("/@fazt/greet/1.2.0/greet.ts"));

      const host = "greeter.localhost";
      assert.equal(await (await call(server, host, "/api/?name=ada")).text(), "hello, ada");
      const failed = await call(server, host, "/api/");
      assert.equal(failed.status, 500);
      await failed.body?.cancel();
      const log = await logs(sb, "greeter", (t) => t.includes("greet needs a name"));
      assert.match(log, /\(jsr:@fazt\/greet@1\.2\.0\/greet\.ts:2:20\)/);
      assert.match(log, /\(api\/main\.ts:4:16\)/);

      const lock = JSON.parse(await versionFile(sb, server, "greeter", "_fazt/lock.json"));
      const denoLock = JSON.parse(await Deno.readTextFile(`${dir}/deno.lock`));
      assert.deepEqual(Object.keys(lock.jsr), ["@fazt/greet@1.2.0"]);
      assert.equal(
        lock.jsr["@fazt/greet@1.2.0"].integrity,
        denoLock.jsr["@fazt/greet@1.2.0"].integrity,
      );
      assert.match(lock.jsr["@fazt/greet@1.2.0"].integrity, /^[0-9a-f]{64}$/);
    });
  } finally {
    await registry.close();
  }
});

Deno.test("an app split over several files, from a package.json project with npm install", async () => {
  await withNode(async (sb, server) => {
    const dir = await sb.folder("notebook", {
      "package.json": JSON.stringify({
        name: "notebook",
        private: true,
        type: "module",
        // safe-buffer is CommonJS and requires Node's "buffer".
        dependencies: { zod: "4.6.7", "safe-buffer": "5.2.1" },
      }),
      ".faztignore": "*.md\n",
      "README.md": "# notebook\n",
      "index.html": "<h1>notebook</h1>",
      "style.css": "h1 { color: teal }",
      "api/main.ts": [
        'import { notes } from "./routes/notes.ts";',
        'import { problem } from "./lib/respond.ts";',
        'import { base64 } from "./lib/encode.ts";',
        "",
        "export default {",
        "  fetch(req: Request, ctx: any): Promise<Response> | Response {",
        "    const url = new URL(req.url);",
        "    const path = url.pathname;",
        '    if (path === "/api/notes") return notes(req, ctx);',
        '    if (path === "/api/b64") return new Response(base64(url.searchParams.get("s") ?? ""));',
        '    return problem(404, "no such route");',
        "  },",
        "};",
        "",
      ].join("\n"),
      "api/routes/notes.ts": [
        'import { z } from "zod";',
        'import { problem } from "../lib/respond.ts";',
        "",
        "const Note = z.object({ text: z.string().min(1).max(200) });",
        "",
        "export async function notes(req: Request, ctx: any): Promise<Response> {",
        '  if (req.method === "GET") {',
        '    const page = await ctx.docs.find("notes", {});',
        "    return Response.json(page.items.map((n: { text: string }) => n.text));",
        "  }",
        "  const parsed = Note.safeParse(await req.json());",
        '  if (!parsed.success) return problem(400, "a note needs text");',
        '  await ctx.docs.insert("notes", parsed.data);',
        "  return Response.json(parsed.data, { status: 201 });",
        "}",
        "",
      ].join("\n"),
      "api/lib/encode.ts": [
        'import safe from "safe-buffer";',
        "",
        'export const base64 = (s: string): string => safe.Buffer.from(s).toString("base64");',
        "",
      ].join("\n"),
      "api/lib/respond.ts": [
        "export const problem = (status: number, message: string): Response =>",
        "  Response.json({ error: message }, { status });",
        "",
      ].join("\n"),
    });
    await setup(sb, dir, "npm", ["install", "--no-audit"]);
    assertOk(await sb.cli(["deploy", dir]));
    const host = "notebook.localhost";
    assert.equal(
      (await call(server, host, "/api/notes", { json: { text: "buy milk" } })).status,
      201,
    );
    const bad = await call(server, host, "/api/notes", { json: { text: "" } });
    assert.equal(bad.status, 400);
    assert.deepEqual(await bad.json(), { error: "a note needs text" });
    assert.deepEqual(await (await call(server, host, "/api/notes")).json(), ["buy milk"]);
    assert.equal((await call(server, host, "/api/other")).status, 404);
    assert.equal(await (await call(server, host, "/api/b64?s=fazt")).text(), "ZmF6dA==");
    assert.equal(await (await call(server, host, "/style.css")).text(), "h1 { color: teal }");

    // Sources, package files, node_modules and what .faztignore names stay home.
    assert.deepEqual(await publishedFiles(sb, server, "notebook"), [
      "_fazt/lock.json",
      "api/main.js",
      "index.html",
      "style.css",
    ]);
    const lock = JSON.parse(await versionFile(sb, server, "notebook", "_fazt/lock.json"));
    const npmLock = JSON.parse(await Deno.readTextFile(`${dir}/package-lock.json`));
    assert.deepEqual(Object.keys(lock.npm).sort(), ["safe-buffer@5.2.1", "zod@4.6.7"]);
    for (const [id, name] of [["zod@4.6.7", "zod"], ["safe-buffer@5.2.1", "safe-buffer"]]) {
      assert.equal(lock.npm[id].integrity, npmLock.packages[`node_modules/${name}`].integrity);
    }
    // CommonJS wrappers are named by package, not by a path on the developer's machine.
    const bundle = await versionFile(sb, server, "notebook", "api/main.js");
    assert.match(bundle, /"npm:safe-buffer@5\.2\.1\/index\.js"\(exports, module\)/);
    assert.doesNotMatch(bundle, /"node_modules\//);
  });
});

Deno.test("server code that does not bundle is refused on the developer's machine; nothing is sent", async () => {
  await withNode(async (sb) => {
    const dir = await sb.folder("broken", {
      "deno.json": "{}",
      "api/main.ts": 'import { missing } from "./nowhere.ts";\nexport default missing;\n',
    });
    assertRefused(
      await sb.cli(["deploy", dir]),
      /does not compile: api\/main\.ts:1:\d+: Module not found/,
    );
    const json = await sb.cli(["deploy", dir, "--json"]);
    assert.notEqual(json.code, 0);
    const error = JSON.parse(json.stdout).error;
    assert.equal(error.code, "BUNDLE_FAILED");
    assert.doesNotMatch(error.message, new RegExp(`file://${sb.dir}`));
    assert.deepEqual(JSON.parse(assertOk(await sb.cli(["app", "list", "--json"])).stdout), []);
  });
});
