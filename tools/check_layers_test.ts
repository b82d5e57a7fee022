import assert from "node:assert/strict";
import { checkGraph, findKnots, type Graph, layerOf, loadGraph } from "./check_layers.ts";

function graph(edges: Record<string, string[]>): Graph {
  const g: Graph = new Map();
  for (const [from, to] of Object.entries(edges)) {
    g.set(from, new Set(to));
    for (const t of to) if (!g.has(t)) g.set(t, new Set());
  }
  return g;
}

function problems(edges: Record<string, string[]>): string[] {
  return checkGraph(graph(edges)).map((v) => `${v.kind} ${v.path.join(" > ")}`);
}

Deno.test("layers: a module's layer is its top folder; tests, root files and other folders have none", () => {
  assert.equal(layerOf("lib/bytes.ts"), 0);
  assert.equal(layerOf("storage/mod.ts"), 1);
  assert.equal(layerOf("runtime/worker/main.ts"), 2);
  assert.equal(layerOf("server/handlers/apps.ts"), 3);
  assert.equal(layerOf("cli/commands/remote.ts"), 4);
  for (const outside of ["main.ts", "mod.ts", "version.ts", "tests/helpers.ts", "bench/main.ts"]) {
    assert.equal(layerOf(outside), undefined, outside);
  }
  assert.equal(layerOf("storage/app_kv_test.ts"), undefined);
  assert.equal(layerOf("server/router_test.tsx"), undefined);
  assert.equal(layerOf("lib"), undefined);
});

Deno.test("layers: no knots in a graph without circles", () => {
  assert.deepEqual(
    findKnots(graph({ "a.ts": ["b.ts", "c.ts"], "b.ts": ["c.ts"], "c.ts": [] })),
    [],
  );
});

Deno.test("layers: each knot is reported once, with a shortest circle and all its members", () => {
  const knots = findKnots(graph({
    "x/a.ts": ["x/b.ts"],
    "x/b.ts": ["x/c.ts"],
    "x/c.ts": ["x/d.ts", "x/a.ts"],
    "x/d.ts": ["x/a.ts"],
    "y/p.ts": ["y/q.ts", "x/a.ts"],
    "y/q.ts": ["y/p.ts"],
    "z/self.ts": ["z/self.ts"],
  }));
  assert.deepEqual(knots, [
    {
      members: ["x/a.ts", "x/b.ts", "x/c.ts", "x/d.ts"],
      circle: ["x/a.ts", "x/b.ts", "x/c.ts", "x/a.ts"],
    },
    { members: ["y/p.ts", "y/q.ts"], circle: ["y/p.ts", "y/q.ts", "y/p.ts"] },
    { members: ["z/self.ts"], circle: ["z/self.ts", "z/self.ts"] },
  ]);
});

Deno.test("layers: a circle of two modules is reported", () => {
  assert.deepEqual(
    problems({
      "storage/database.ts": ["storage/migrations.ts"],
      "storage/migrations.ts": ["storage/database.ts"],
    }),
    ["circle storage/database.ts > storage/migrations.ts > storage/database.ts"],
  );
});

Deno.test("layers: imports pointing down, within a layer, and to version.ts pass", () => {
  assert.deepEqual(
    problems({
      "cli/mod.ts": ["cli/commands/app.ts", "server/mod.ts", "storage/mod.ts", "version.ts"],
      "cli/commands/app.ts": ["lib/bytes.ts", "server/mcp/mod.ts", "runtime/mod.ts"],
      "server/server.ts": ["runtime/mod.ts", "storage/mod.ts", "lib/zip.ts", "version.ts"],
      "runtime/mod.ts": ["runtime/app_runtime.ts"],
      "runtime/app_runtime.ts": ["storage/mod.ts"],
      "storage/mod.ts": ["storage/apps.ts", "lib/secrets.ts"],
      "lib/zip.ts": ["lib/bytes.ts", "version.ts"],
    }),
    [],
  );
});

Deno.test("layers: every import that points up is refused", () => {
  assert.deepEqual(
    problems({
      "lib/bytes.ts": ["storage/mod.ts"],
      "storage/apps.ts": ["runtime/mod.ts", "server/mod.ts"],
      "runtime/bridge.ts": ["server/mod.ts"],
      "server/server.ts": ["cli/mod.ts"],
    }),
    [
      "upward lib/bytes.ts > storage/mod.ts",
      "upward runtime/bridge.ts > server/mod.ts",
      "upward server/server.ts > cli/mod.ts",
      "upward storage/apps.ts > runtime/mod.ts",
      "upward storage/apps.ts > server/mod.ts",
    ],
  );
});

Deno.test("layers: layers may not import tests, tools, bench, the admin sources or the root modules", () => {
  assert.deepEqual(
    problems({
      "server/a.ts": ["tests/helpers.ts", "admin/src/api.ts", "admin/dist/assets.ts"],
      "storage/b.ts": ["bench/lib/http.ts", "tools/check_layers.ts", "storage/c_test.ts"],
      "cli/c.ts": ["mod.ts", "main.ts", "release/build.ts"],
    }),
    [
      "outside cli/c.ts > main.ts",
      "outside cli/c.ts > mod.ts",
      "outside cli/c.ts > release/build.ts",
      "outside server/a.ts > admin/src/api.ts",
      "outside server/a.ts > tests/helpers.ts",
      "outside storage/b.ts > bench/lib/http.ts",
      "outside storage/b.ts > storage/c_test.ts",
      "outside storage/b.ts > tools/check_layers.ts",
    ],
  );
});

Deno.test("layers: tests and the folders outside the layers may import anything", () => {
  assert.deepEqual(
    problems({
      "storage/apps_test.ts": ["tests/recount.ts", "server/server.ts", "storage/apps.ts"],
      "tests/helpers.ts": ["server/server.ts", "storage/database.ts", "mod.ts"],
      "mod.ts": ["cli/api_client.ts", "runtime/app_types.ts"],
      "bench/main.ts": ["lib/bytes.ts", "server/hosts.ts"],
    }),
    [],
  );
});

Deno.test("layers: another layer's files are reached only through its mod.ts (lib has none)", () => {
  assert.deepEqual(
    problems({
      "server/a.ts": ["storage/apps.ts", "runtime/manifest.ts", "lib/bytes.ts", "storage/mod.ts"],
      "cli/b.ts": ["server/handlers/upgrade.ts", "server/mcp/mod.ts"],
    }),
    [
      "face cli/b.ts > server/handlers/upgrade.ts",
      "face server/a.ts > runtime/manifest.ts",
      "face server/a.ts > storage/apps.ts",
    ],
  );
});

Deno.test("layers: the graph comes from deno info, local modules only, type imports included", async () => {
  const dir = await Deno.makeTempDir({ prefix: "fazt-layers-" });
  try {
    await Deno.mkdir(`${dir}/storage`);
    await Deno.mkdir(`${dir}/server`);
    await Deno.writeTextFile(
      `${dir}/storage/database.ts`,
      'import { join } from "node:path";\nimport { MIGRATIONS } from "./migrations.ts";\n' +
        "export class Database { n = MIGRATIONS.length + join('a').length; }\n",
    );
    await Deno.writeTextFile(
      `${dir}/storage/migrations.ts`,
      'import type { Database } from "./database.ts";\nexport const MIGRATIONS: string[] = [];\n' +
        "export type Open = (db: Database) => void;\n",
    );
    await Deno.writeTextFile(
      `${dir}/server/server.ts`,
      'import { Database } from "../storage/database.ts";\nexport const db = new Database();\n',
    );
    const g = await loadGraph(dir, ["server/server.ts", "storage/database.ts"]);
    assert.deepEqual(
      Object.fromEntries([...g].map(([k, v]) => [k, [...v].sort()])),
      {
        "server/server.ts": ["storage/database.ts"],
        "storage/database.ts": ["storage/migrations.ts"],
        "storage/migrations.ts": ["storage/database.ts"],
      },
    );
    assert.deepEqual(checkGraph(g).map((v) => v.message), [
      "import circle: storage/database.ts → storage/migrations.ts → storage/database.ts",
      "server/server.ts imports storage/database.ts: import storage/ through its mod.ts",
    ]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
