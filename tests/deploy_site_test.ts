/**
 * `fazt deploy` of real sites, with the real CLI as a subprocess: the
 * manifest's build command and static root, .faztignore, the single-page
 * hint and --spa, which folder an app came from, --json errors, scheme-less
 * --url, and names that are refused without being echoed.
 */
import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import { makeZip } from "./helpers.ts";
import {
  assertOk,
  assertRefused,
  CliSandbox,
  parseJson,
  type ServerProcess,
} from "./cli_runner.ts";

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

interface Deployed {
  app: string;
  version: number;
  files: number;
}

/** A Vite-like project: package.json with a build script writing dist/, and sources. */
const VITE_PROJECT = {
  "package.json": JSON.stringify({
    name: "shop",
    private: true,
    scripts: {
      build: "mkdir -p dist/assets dist/.vite && cp src/index.html dist/ && " +
        "cp src/app.js dist/assets/index-CLDdwZDr.js && cp src/app.js dist/assets/index-CLDdwZDr.js.map && " +
        "echo '{}' > dist/.vite/manifest.json && echo built the shop",
    },
  }),
  "manifest.json": JSON.stringify({ static: "dist", build: "npm run build" }),
  ".faztignore": "*.map\n",
  "src/index.html":
    '<!doctype html><div id="root"></div><script type="module" src="/assets/index-CLDdwZDr.js"></script>',
  "src/app.js": "document.getElementById('root').textContent = 'shop';",
  "src/main.tsx": "export {};",
  "README.md": "# shop",
};

Deno.test("a built single-page app: build output shown, static root published, .faztignore, SPA hint, --spa", async () => {
  await withNode(async (sb, server) => {
    const dir = await sb.folder("shop", VITE_PROJECT);
    const first = assertOk(await sb.cli(["deploy", dir]));
    assert.match(first.stderr, /^build: npm run build$/m);
    assert.match(first.stderr, /built the shop/, "the build's own output is shown");
    assert.match(
      first.stderr,
      /looks like a single-page app \(it is a Vite build \(\.vite\/manifest\.json\) with one page\).*--spa.*"spa": true/,
    );
    const files = (server: ServerProcess, path: string) => sb.get(server, path, "shop.localhost");
    assert.equal((await files(server, "/")).status, 200);
    assert.equal((await files(server, "/assets/index-CLDdwZDr.js")).status, 200);
    for (
      const path of ["/assets/index-CLDdwZDr.js.map", "/package.json", "/src/app.js", "/README.md"]
    ) {
      assert.equal((await files(server, path)).status, 404, path);
    }
    assert.equal((await files(server, "/products/42")).status, 404, "no fallback yet");

    const second = parseJson<Deployed>(await sb.cli(["deploy", dir, "--spa", "--json"]));
    assert.equal(second.version, 2);
    assert.equal(second.files, 3, "index.html, the script and the manifest");
    const route = await files(server, "/products/42");
    assert.equal(route.status, 200);
    assert.match(route.text, /<div id="root">/);
    assert.equal((await files(server, "/assets/missing-CLDdwZDr.js")).status, 404);
  });
});

Deno.test("a failed build deploys nothing and the live version stays", async () => {
  await withNode(async (sb, server) => {
    const dir = await sb.folder("blog", {
      "manifest.json": JSON.stringify({ static: "public", build: "echo compiling >&2" }),
      "public/index.html": "<h1>v1</h1>",
    });
    assertOk(await sb.cli(["deploy", dir]));
    await Deno.writeTextFile(`${dir}/public/index.html`, "<h1>v2</h1>");
    await Deno.writeTextFile(
      `${dir}/manifest.json`,
      JSON.stringify({ static: "public", build: "echo compiling >&2; exit 3" }),
    );
    const r = await sb.cli(["deploy", dir]);
    assert.notEqual(r.code, 0);
    assert.equal(r.stdout, "");
    assert.match(r.stderr, /compiling/);
    assert.match(r.stderr, /^error: the build command failed \(exit 3\).*\(BUILD_FAILED\)$/m);
    assert.equal((await sb.get(server, "/", "blog.localhost")).text, "<h1>v1</h1>");

    await Deno.writeTextFile(`${dir}/manifest.json`, JSON.stringify({ static: "out" }));
    assertRefused(
      await sb.cli(["deploy", dir]),
      /static root "out" is not a folder.*STATIC_NOT_FOUND/,
    );
    await Deno.writeTextFile(`${dir}/manifest.json`, JSON.stringify({ static: "../etc" }));
    assertRefused(
      await sb.cli(["deploy", dir]),
      /manifest\.json: static must be a path inside the project.*MANIFEST_INVALID/,
    );
    // A static root with a file fazt would read as its manifest (a web app manifest, say).
    await Deno.writeTextFile(`${dir}/manifest.json`, JSON.stringify({ static: "public" }));
    await Deno.writeTextFile(`${dir}/public/manifest.json`, '{"name": "Blog", "icons": []}');
    assertRefused(
      await sb.cli(["deploy", dir]),
      /static root "public" has a file fazt would read as its manifest.*\(MANIFEST_CONFLICT\)$/,
    );
    await Deno.remove(`${dir}/public/manifest.json`);
    await Deno.writeTextFile(`${dir}/manifest.json`, JSON.stringify({ server: "srv/main.ts" }));
    assertRefused(
      await sb.cli(["deploy", dir]),
      /server entry "srv\/main\.ts" is not a file.*SERVER_NOT_FOUND/,
    );
    const zip = `${sb.dir}/site.zip`;
    await Deno.writeFile(zip, await makeZip({ "index.html": "<h1>zip</h1>" }));
    assertRefused(
      await sb.cli(["deploy", zip, "--name", "blog", "--spa"]),
      /--spa applies to folders.*\(VALIDATION_FAILED\)$/,
    );
    assert.equal((await sb.get(server, "/", "blog.localhost")).text, "<h1>v1</h1>");
  });
});

Deno.test("another folder under the same app name asks for --name or --force; --json errors carry their code", async () => {
  await withNode(async (sb, server) => {
    const a = await sb.folder("one/dist", { "index.html": "<h1>one</h1>" });
    const b = await sb.folder("two/dist", { "index.html": "<h1>two</h1>" });
    assertOk(await sb.cli(["deploy", a]));
    assertOk(await sb.cli(["deploy", a])); // the same folder deploys again
    assertRefused(
      await sb.cli(["deploy", b]),
      /'dist' on .* was last deployed from .*one\/dist, not from .*two\/dist: pass --name .* or --force .*\(SOURCE_CHANGED\)$/,
    );
    const json = await sb.cli(["deploy", b, "--json"]);
    assert.notEqual(json.code, 0);
    assert.equal(json.stderr, "");
    const error = JSON.parse(json.stdout).error;
    assert.equal(error.code, "SOURCE_CHANGED");
    assert.match(error.message, /--force/);
    assert.equal((await sb.get(server, "/", "dist.localhost")).text, "<h1>one</h1>");

    assertOk(await sb.cli(["deploy", b, "--name", "two"]));
    assert.equal((await sb.get(server, "/", "two.localhost")).text, "<h1>two</h1>");
    assertOk(await sb.cli(["deploy", b, "--force"]));
    assert.equal((await sb.get(server, "/", "dist.localhost")).text, "<h1>two</h1>");
    // Now remembered as coming from two/dist: one/dist is the stranger.
    assertRefused(await sb.cli(["deploy", a]), /SOURCE_CHANGED/);
    // A name given with --name is the owner's choice: no question asked.
    assertOk(await sb.cli(["deploy", a, "--name", "dist"]));
    assert.equal((await sb.get(server, "/", "dist.localhost")).text, "<h1>one</h1>");
    assertOk(await sb.cli(["deploy", a]));

    // A node's refusal keeps its code, message and details apart with --json.
    const refused = await sb.cli(["app", "info", "ghost", "--json"]);
    assert.notEqual(refused.code, 0);
    assert.deepEqual(JSON.parse(refused.stdout), {
      error: { code: "APP_NOT_FOUND", message: "App 'ghost' not found" },
    });
    const usage = await sb.cli(["deploy", a, "--bogus", "--json"]);
    assert.notEqual(usage.code, 0);
    assert.equal(JSON.parse(usage.stdout).error.code, "USAGE");
    assert.equal(usage.stderr, "");
  });
});

Deno.test("--url without a scheme reaches a node on this machine; names are refused without echo", async () => {
  await withNode(async (sb, server) => {
    const site = await sb.folder("site", { "index.html": "<h1>hi</h1>" });
    const db = new DatabaseSync(sb.db, { readOnly: true });
    const { token } = db.prepare("SELECT token FROM peers WHERE is_default = 1").get() as {
      token: string;
    };
    db.close();
    const url = ["--url", `localhost:${server.port}`, "--token", token];
    const deployed = parseJson<Deployed>(await sb.cli(["deploy", site, ...url, "--json"]));
    assert.equal(deployed.app, "site");
    assertOk(await sb.cli(["app", "list", ...url]));
    assertRefused(
      await sb.cli(["app", "list", "--url", "ftp://x", "--token", token]),
      /must use http or https \(INVALID_URL\)$/,
    );

    const evil = "\x1b[2J\x1b[31mowned";
    for (const args of [["deploy", site, "--name", evil], ["app", "info", evil]]) {
      const r = await sb.cli(args);
      assert.notEqual(r.code, 0);
      assert.ok(
        !r.stderr.includes("\x1b"),
        `no escape reaches the terminal: ${JSON.stringify(r.stderr)}`,
      );
      assert.ok(!r.stderr.includes("owned"), "the name is not echoed");
    }
    assertRefused(
      await sb.cli(["deploy", site, "--name", evil]),
      /Invalid app name: .*"constraint":"pattern".*\(VALIDATION_FAILED\)$/,
    );
    const json = await sb.cli(["deploy", site, "--name", "Bad Name", "--json"]);
    assert.deepEqual(JSON.parse(json.stdout).error.details, {
      field: "name",
      constraint: "pattern",
    });
  });
});
