import assert from "node:assert/strict";
import { denoDeployEntry, parseJsonc, taskEntry } from "./deno_deploy_entry.ts";
import { asModule } from "./deploy_package.ts";

async function project(files: Record<string, string>): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "fazt-deploy-style-" });
  for (const [path, text] of Object.entries(files)) {
    const full = `${dir}/${path}`;
    await Deno.mkdir(full.slice(0, full.lastIndexOf("/")), { recursive: true });
    await Deno.writeTextFile(full, text);
  }
  return dir;
}

async function entryOf(files: Record<string, string>) {
  const dir = await project(files);
  try {
    return denoDeployEntry(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("the start task's file is the entry", () => {
  assert.equal(taskEntry("deno run -A --watch main.ts"), "main.ts");
  assert.equal(taskEntry("deno run --allow-net=:8000 ./src/server.tsx"), "src/server.tsx");
  assert.equal(taskEntry("deno serve --port 8080 app.js"), "app.js");
  assert.equal(taskEntry("deno task build && deno run main.ts"), "main.ts");
  assert.equal(taskEntry("vite build"), undefined);
  assert.equal(taskEntry("deno run ../outside.ts"), undefined, "outside the project");
  assert.equal(taskEntry("deno run /etc/main.ts"), undefined);
});

Deno.test("deno.jsonc with comments and trailing commas is read", () => {
  assert.deepEqual(
    parseJsonc(`{
      // the app
      "deploy": { "entrypoint": "https://x/y.ts", }, /* done */
    }`),
    { deploy: { entrypoint: "https://x/y.ts" } },
  );
});

Deno.test("which folder is a Deno Deploy-style app, and its entry", async () => {
  assert.deepEqual(
    await entryOf({
      "deno.json": JSON.stringify({
        deploy: { entrypoint: "./src/app.ts" },
        tasks: { start: "deno run main.ts" },
      }),
      "src/app.ts": "",
      "main.ts": "",
    }),
    { entry: "src/app.ts", from: "deno.json deploy.entrypoint" },
  );
  assert.deepEqual(
    await entryOf({
      "deno.jsonc": `{ "tasks": { "start": { "command": "deno run -A server.ts" } } }`,
      "server.ts": "",
    }),
    { entry: "server.ts", from: "deno.jsonc start task" },
  );
  assert.deepEqual(
    await entryOf({ "main.js": "" }),
    { entry: "main.js", from: "main.js at the project's root" },
  );
  // A named entry that is not there falls back to main.ts.
  assert.deepEqual(
    await entryOf({ "deno.json": `{"deploy":{"entrypoint":"gone.ts"}}`, "main.ts": "" }),
    { entry: "main.ts", from: "main.ts at the project's root" },
  );
  assert.equal(await entryOf({ "main.ts": "", "api/main.ts": "" }), undefined, "an api/ folder");
  assert.equal(await entryOf({ "index.html": "" }), undefined, "a static site");
  assert.equal(await entryOf({ "deno.json": "{ not json", "app.ts": "" }), undefined);
});

Deno.test("a bundle with no import or export is marked as a module without moving a line", () => {
  const code = "Deno.serve(() => new Response());\n//# sourceMappingURL=data:x";
  const marked = asModule(code);
  assert.match(marked, /^export \{\};$/m);
  assert.equal(marked.split("\n")[0], code.split("\n")[0]);
  assert.ok(marked.endsWith("\n//# sourceMappingURL=data:x"));
  const withExport = "export default () => 1;\n";
  assert.equal(asModule(withExport), withExport);
});
