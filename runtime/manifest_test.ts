import assert from "node:assert/strict";
import { type Manifest, ManifestError, parseManifest, routeMatches } from "./manifest.ts";

const EMPTY: Manifest = {
  net: [],
  netPrivate: [],
  routes: [],
  staticFirst: true,
  indexes: {},
  spa: false,
  crons: [],
};

function refused(text: string, constraint: string, message?: RegExp): void {
  assert.throws(() => parseManifest(text), (err: unknown) => {
    assert.ok(err instanceof ManifestError, `${text}: ${err}`);
    assert.equal(err.constraint, constraint, text);
    if (message) assert.match(err.message, message, text);
    return true;
  });
}

Deno.test("no manifest, or an empty one, is the empty manifest", () => {
  assert.deepEqual(parseManifest(undefined), EMPTY);
  assert.deepEqual(parseManifest("{}"), {
    ...EMPTY,
    timeoutMs: undefined,
    memoryMb: undefined,
    static: undefined,
    server: undefined,
    build: undefined,
  });
});

Deno.test("every field is read, hosts lower-cased and trimmed", () => {
  const m = parseManifest(JSON.stringify({
    permissions: { net: [" API.Example.com ", "*.cdn.example.org", "127.0.0.1:8080", "[::1]:9"] },
    netPrivate: ["api.example.com"],
    routes: ["/feed.xml", "/hooks/*"],
    static_first: false,
    timeout_ms: 5000,
    memory_mb: 64,
    indexes: { users: ["email", "profile.city"], "log-2": [] },
    spa: true,
    static: "./dist/",
    server: "server/main.ts",
    build: "npm run build",
  }));
  assert.deepEqual(m, {
    net: ["api.example.com", "*.cdn.example.org", "127.0.0.1:8080", "[::1]:9"],
    netPrivate: ["api.example.com"],
    routes: ["/feed.xml", "/hooks/*"],
    staticFirst: false,
    timeoutMs: 5000,
    memoryMb: 64,
    indexes: { users: ["email", "profile.city"], "log-2": [] },
    spa: true,
    static: "dist",
    server: "server/main.ts",
    build: "npm run build",
    crons: [],
  });
  assert.equal(parseManifest('{"static_first": true}').staticFirst, true);
});

Deno.test("what is not JSON, not an object or of the wrong type is refused", () => {
  refused("{", "json");
  refused("", "json");
  for (const text of ["[]", "null", "3", '"x"']) refused(text, "type");
  refused('{"permissions": []}', "type", /permissions must be an object/);
  refused('{"permissions": {"net": "example.com"}}', "type", /permissions\.net/);
  refused('{"permissions": {"net": [1]}}', "type");
  refused('{"routes": "/x"}', "type", /routes/);
  refused('{"indexes": []}', "type");
  refused('{"indexes": {"users": "email"}}', "type", /indexes\.users/);
  refused('{"static_first": "no"}', "type", /static_first/);
  refused('{"spa": "yes"}', "type", /spa/);
  refused('{"static": 1}', "type", /static/);
  refused('{"build": ""}', "type", /build/);
  refused('{"build": ["npm", "run"]}', "type", /build/);
});

Deno.test("static and server are paths inside the project", () => {
  for (
    const bad of ["../site", "/srv/www", "a/../../b", "C:/x", "a\\b", "", "a//b", "x\u001b[0m"]
  ) {
    refused(JSON.stringify({ static: bad }), "static", /inside the project/);
    refused(JSON.stringify({ server: bad }), "server");
  }
  refused('{"server": "api/main.py"}', "server", /\.ts/);
  assert.equal(parseManifest('{"static": "public/site"}').static, "public/site");
  assert.equal(parseManifest('{"server": "./src/server.tsx"}').server, "src/server.tsx");
});

Deno.test("only the net permission exists, for host names", () => {
  for (const key of ["read", "write", "env", "run", "ffi", "sys", "all"]) {
    refused(JSON.stringify({ permissions: { [key]: true } }), "permissions", new RegExp(key));
  }
  for (
    const host of [
      "http://example.com",
      "example.com/path",
      "exa mple.com",
      "-bad.example",
      "bad-.example",
      "*.*.example.com",
      "example.com:123456",
      "",
      "[::1",
      "user@example.com",
    ]
  ) {
    refused(JSON.stringify({ permissions: { net: [host] } }), "net");
  }
});

Deno.test("routes are paths; index names are collections and field paths", () => {
  for (const route of ["feed.xml", "", "/a/../b", "/.."]) {
    refused(JSON.stringify({ routes: [route] }), "routes");
  }
  for (const name of ["", "a b", "a/b", "x".repeat(65)]) {
    refused(JSON.stringify({ indexes: { [name]: [] } }), "indexes");
  }
  assert.deepEqual(parseManifest(JSON.stringify({ indexes: { ["x".repeat(64)]: [] } })).indexes, {
    ["x".repeat(64)]: [],
  });
  for (const field of ["", "1a", "a..b", "a.", "a-b", "$where"]) {
    refused(JSON.stringify({ indexes: { users: [field] } }), "indexes");
  }
});

Deno.test("timeout_ms and memory_mb are whole numbers within their range", () => {
  assert.equal(parseManifest('{"timeout_ms": 1}').timeoutMs, 1);
  assert.equal(parseManifest('{"timeout_ms": 3600000}').timeoutMs, 3_600_000);
  assert.equal(parseManifest('{"memory_mb": 65536}').memoryMb, 65_536);
  for (const v of [0, -1, 3_600_001, 1.5, '"10"', "null", "true"]) {
    refused(`{"timeout_ms": ${v}}`, "range", /timeout_ms/);
  }
  for (const v of [0, 65_537, 2.5]) refused(`{"memory_mb": ${v}}`, "range", /memory_mb/);
});

Deno.test("routeMatches: exact paths, and /* for a folder and everything under it", () => {
  const routes = ["/feed.xml", "/hooks/*"];
  for (const path of ["/feed.xml", "/hooks", "/hooks/", "/hooks/a", "/hooks/a/b"]) {
    assert.ok(routeMatches(routes, path), path);
  }
  for (const path of ["/feed.xml/", "/feed", "/hooksx", "/hook", "/", "/other/hooks/a"]) {
    assert.ok(!routeMatches(routes, path), path);
  }
  assert.ok(!routeMatches([], "/anything"));
});

Deno.test("netPrivate names only hosts that permissions.net lists", () => {
  const ok = parseManifest(JSON.stringify({
    permissions: { net: ["nas.lan", "db.lan:5432"] },
    netPrivate: ["NAS.lan", "db.lan:5432"],
  }));
  assert.deepEqual(ok.netPrivate, ["nas.lan", "db.lan:5432"]);
  refused('{"permissions": {"net": ["a.example"]}, "netPrivate": ["b.example"]}', "netPrivate");
  refused('{"netPrivate": "nas.lan"}', "type", /netPrivate/);
});

Deno.test("crons: checked, unique, at most MAX_CRONS; refusals carry the crons constraint", () => {
  const m = parseManifest(
    JSON.stringify({ crons: [{ name: "cleanup", schedule: "*/5  * * * *", tz: "Europe/Oslo" }] }),
  );
  assert.deepEqual(m.crons, [{ name: "cleanup", schedule: "*/5 * * * *", tz: "Europe/Oslo" }]);
  refused(`{"crons": {}}`, "crons");
  refused(`{"crons": [1]}`, "crons");
  refused(`{"crons": [{"name": "x", "schedule": "* * *"}]}`, "crons", /five fields/);
  refused(`{"crons": [{"name": "x", "schedule": "* * * * *", "tz": "Nowhere/X"}]}`, "crons");
  refused(
    `{"crons": [{"name": "x", "schedule": "* * * * *"}, {"name": "x", "schedule": "0 * * * *"}]}`,
    "crons",
    /twice/,
  );
  const many = Array.from({ length: 21 }, (_, i) => ({ name: `j${i}`, schedule: "* * * * *" }));
  refused(JSON.stringify({ crons: many }), "crons", /at most 20/);
});
