/**
 * Analytics end to end: counting while serving, the tracking endpoints, the
 * privacy promises (no IP stored, daily salts), buffering, rollups, retention
 * and every stats endpoint, against a real server.
 */
import assert from "node:assert/strict";
import { DAY_MS, HOUR_MS, Storage } from "../storage/mod.ts";
import { ANALYTICS_SCRIPT } from "../server/tracking.ts";
import { readRollups, recount } from "./analytics_recount.ts";
import { assertOk, CliSandbox } from "./cli_runner.ts";
import { makeZip, startTestNode, type TestNode } from "./helpers.ts";

const FIREFOX = "Mozilla/5.0 (X11; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0";
const IPHONE =
  "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1";
const GOOGLEBOT = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)";
const T0 = Date.UTC(2026, 2, 10, 10, 0, 0); // 2026-03-10 10:00 UTC
const HOUR_LATER = 3_600_000; // a flush interval that never fires in a test

const SITE = {
  "index.html": "<!doctype html><h1>home</h1>",
  "about.html": "<h1>about</h1>",
  "style.css": "body { color: red }",
  "404.html": "<h1>not here</h1>",
  "_fazt/secret.html": "an app file under /_fazt/ must never be served",
};

// deno-lint-ignore no-explicit-any -- tests read arbitrary JSON bodies
type Json = any;

interface Clock {
  now: number;
}

async function node(
  opts: { settings?: Record<string, number>; clock?: Clock; writer?: "thread" | "inline" } = {},
): Promise<TestNode> {
  const clock = opts.clock;
  let salt = 0;
  const n = await startTestNode({
    settings: opts.settings,
    analytics: {
      now: clock ? () => clock.now : undefined,
      salt: () => `test-salt-${++salt}-${crypto.randomUUID()}`,
      flushIntervalMs: HOUR_LATER,
      flushEvents: 1_000_000, // written only when a test asks, or at shutdown
      writer: opts.writer ?? "thread",
    },
  });
  const { status } = await n.deploy("blog", await makeZip(SITE));
  assert.equal(status, 201);
  return n;
}

function get(n: TestNode, path: string, headers: Record<string, string> = {}, method = "GET") {
  return n.fetch(path, {
    host: "blog.localhost",
    token: null,
    method,
    headers: { "user-agent": FIREFOX, ...headers },
  }).then(async (res) => {
    await res.body?.cancel();
    return res;
  });
}

function track(n: TestNode, body: string | Uint8Array, headers: Record<string, string> = {}) {
  return n.fetch("/_fazt/track", {
    host: "blog.localhost",
    token: null,
    method: "POST",
    body: body as BodyInit,
    headers: { "user-agent": FIREFOX, "content-type": "text/plain;charset=UTF-8", ...headers },
  });
}

async function api(n: TestNode, path: string): Promise<Json> {
  const res = await n.fetch(path, { token: n.tokens.read });
  const body = await res.json();
  assert.equal(res.status, 200, JSON.stringify(body));
  return body.data;
}

async function stored(n: TestNode): Promise<Json[]> {
  await n.server.context.analytics.sync();
  return n.storage.analytics.events(null, 0, 1e13);
}

Deno.test("counting: HTML GETs count; HEAD, assets, bots, prefetches and 304 repeats do not; a 404 counts only as a 404", async () => {
  const clock = { now: T0 };
  const n = await node({ clock, writer: "inline" });
  try {
    assert.equal((await get(n, "/")).status, 200);
    assert.equal(
      (await get(n, "/about", { referer: "https://www.News.example.com/x?y" })).status,
      200,
    );
    assert.equal((await get(n, "/about", { referer: "http://blog.localhost:4698/" })).status, 200);
    assert.equal((await get(n, "/", { "user-agent": IPHONE })).status, 200);
    // Not counted:
    assert.equal((await get(n, "/", {}, "HEAD")).status, 200);
    assert.equal((await get(n, "/style.css")).status, 200);
    assert.equal((await get(n, "/missing")).status, 404);
    assert.equal((await get(n, "/", { "user-agent": GOOGLEBOT })).status, 200);
    assert.equal((await get(n, "/", { "user-agent": "" })).status, 200);
    assert.equal((await get(n, "/", { "sec-purpose": "prefetch" })).status, 200);
    assert.equal((await get(n, "/", { purpose: "prefetch" })).status, 200);
    assert.equal((await get(n, "/", { "sec-purpose": "prefetch;prerender" })).status, 200);
    assert.equal((await get(n, "/", { range: "bytes=0-3" })).status, 206);
    const preview = await n.fetch("/", {
      host: "blog--v1.localhost",
      token: null,
      headers: { "user-agent": FIREFOX },
    });
    assert.equal(preview.status, 200);
    await preview.body?.cancel();
    // A 304 right after the counted 200 is the same view; after the window it is a new one.
    const etag = (await get(n, "/")).headers.get("etag")!;
    assert.equal((await get(n, "/", { "if-none-match": etag })).status, 304);
    clock.now += 31_000;
    assert.equal((await get(n, "/", { "if-none-match": etag })).status, 304);
    assert.equal((await get(n, "/", { "if-none-match": etag })).status, 304);

    const rows = await stored(n);
    assert.deepEqual(
      rows.map((r) => [r.path, r.referrer, r.browser, r.os, r.device, r.source, r.name]),
      [
        ["/", "", "Firefox", "Linux", "desktop", "server", "pageview"],
        ["/about", "news.example.com", "Firefox", "Linux", "desktop", "server", "pageview"],
        ["/about", "", "Firefox", "Linux", "desktop", "server", "pageview"],
        ["/", "", "Safari", "iOS", "mobile", "server", "pageview"],
        ["/missing", "", "Firefox", "Linux", "desktop", "server", "$404"],
        ["/", "", "Firefox", "Linux", "desktop", "server", "pageview"],
        ["/", "", "Firefox", "Linux", "desktop", "server", "pageview"],
      ],
    );
    assert.ok(rows.every((r) => r.app === "blog" && /^[A-Za-z0-9_-]{16}$/.test(r.visitor)));
    assert.equal(new Set(rows.map((r) => r.visitor)).size, 2, "Firefox and iPhone visitors");
    assert.equal(rows.at(-1).at, T0 + 31_000, "the injected clock dates events");
  } finally {
    await n.close();
  }
});

Deno.test("counting: DNT and GPC are honoured when set; analytics can be switched off", async () => {
  const honour = await node({ settings: { analytics_honor_dnt: 1 }, writer: "inline" });
  const off = await node({ settings: { analytics_enabled: 0 } });
  try {
    await get(honour, "/", { dnt: "1" });
    await get(honour, "/", { "sec-gpc": "1" });
    assert.equal((await track(honour, '{"name":"x"}', { dnt: "1" })).status, 204);
    await get(honour, "/about");
    assert.deepEqual((await stored(honour)).map((r) => r.path), ["/about"]);
    await get(off, "/");
    assert.equal((await track(off, '{"name":"x"}')).status, 204);
    assert.equal((await stored(off)).length, 0);
    assert.equal(off.count("analytics_salts"), 0);
  } finally {
    await honour.close();
    await off.close();
  }
});

Deno.test("tracking: /_fazt/track, pixel, a.js and the original /track and /pixel.gif", async () => {
  const n = await node();
  try {
    const ok = await track(
      n,
      JSON.stringify({
        name: "signup",
        path: "/pricing?plan=pro",
        referrer: "https://www.google.com/search?q=fazt",
        props: { plan: "pro", seats: 3, trial: true },
      }),
    );
    assert.equal(ok.status, 204);
    assert.equal(ok.headers.get("access-control-allow-origin"), "*");
    assert.equal(
      (await track(n, JSON.stringify({ path: "/spa/route" }), {
        "content-type": "application/json",
      })).status,
      204,
    );
    const gif = await n.fetch("/_fazt/pixel.gif?path=/elsewhere&referrer=https://ref.example/", {
      host: "blog.localhost",
      token: null,
      headers: { "user-agent": FIREFOX },
    });
    assert.equal(gif.status, 200);
    assert.equal(gif.headers.get("content-type"), "image/gif");
    assert.match(gif.headers.get("cache-control")!, /no-store/);
    const bytes = new Uint8Array(await gif.arrayBuffer());
    assert.equal(new TextDecoder().decode(bytes.slice(0, 6)), "GIF89a");
    const script = await n.fetch("/_fazt/a.js", { host: "blog.localhost", token: null });
    const text = await script.text();
    assert.equal(script.status, 200);
    assert.match(script.headers.get("content-type")!, /^text\/javascript/);
    assert.equal(text, ANALYTICS_SCRIPT);
    assert.ok(new TextEncoder().encode(text).length <= 1024, `a.js is ${text.length} bytes`);
    assert.match(text, /\/_fazt\/track/);
    // The original's endpoints on the admin host.
    const legacy = await n.fetch("/track", {
      method: "POST",
      token: null,
      body: JSON.stringify({
        h: "blog.localhost",
        p: "/old",
        e: "click",
        t: ["a", "b"],
        q: { k: 1 },
      }),
      headers: { "user-agent": FIREFOX },
    });
    assert.equal(legacy.status, 204);
    const other = await n.fetch("/track", {
      method: "POST",
      token: null,
      body: JSON.stringify({ d: "Example.org", p: "/" }),
      headers: { "user-agent": FIREFOX },
    });
    assert.equal(other.status, 204);
    const px = await n.fetch("/pixel.gif?domain=blog.localhost&tags=x,y&source=open", {
      token: null,
      headers: { "user-agent": FIREFOX },
    });
    assert.equal(px.status, 200);
    assert.equal(px.headers.get("content-type"), "image/gif");
    await px.body?.cancel();

    const rows = await stored(n);
    assert.deepEqual(
      rows.map((r) => [r.app, r.name, r.source, r.path, r.referrer, r.tags, r.props]),
      [
        [
          "blog",
          "signup",
          "track",
          "/pricing",
          "google.com",
          null,
          '{"plan":"pro","seats":3,"trial":true}',
        ],
        ["blog", "pageview", "track", "/spa/route", "", null, null],
        ["blog", "pageview", "pixel", "/elsewhere", "ref.example", null, null],
        ["blog", "click", "track", "/old", "", "a,b", '{"k":1}'],
        ["example.org", "pageview", "track", "/", "", null, null],
        ["blog", "open", "pixel", "/", "", "x,y", null],
      ],
    );
  } finally {
    await n.close();
  }
});

Deno.test("tracking: oversize and malformed input is refused with a 4xx JSON error, nothing stored", async () => {
  const n = await node();
  try {
    const cases: [string | Uint8Array, number, string][] = [
      [
        JSON.stringify({ name: "x", props: { pad: "y".repeat(400) }, pad: "z".repeat(11_000) }),
        413,
        "PAYLOAD_TOO_LARGE",
      ],
      ["{not json", 400, "INVALID_JSON"],
      ["", 400, "INVALID_JSON"],
      ["[1,2]", 400, "INVALID_JSON"],
      ['"signup"', 400, "INVALID_JSON"],
      ["null", 400, "INVALID_JSON"],
      [JSON.stringify({ name: 5 }), 400, "VALIDATION_FAILED"],
      [JSON.stringify({ name: "n".repeat(101) }), 400, "VALIDATION_FAILED"],
      [JSON.stringify({ name: "a\u0000b" }), 400, "VALIDATION_FAILED"],
      [JSON.stringify({ path: "not a path" }), 400, "VALIDATION_FAILED"],
      [JSON.stringify({ props: "plan=pro" }), 400, "VALIDATION_FAILED"],
      [JSON.stringify({ props: { nested: { a: 1 } } }), 400, "VALIDATION_FAILED"],
      [
        JSON.stringify({
          props: Object.fromEntries(Array.from({ length: 31 }, (_, i) => [`k${i}`, i])),
        }),
        400,
        "VALIDATION_FAILED",
      ],
    ];
    for (const [body, status, code] of cases) {
      const res = await track(n, body);
      const label = String(body).slice(0, 60);
      assert.equal(res.status, status, label);
      assert.match(res.headers.get("content-type")!, /application\/json/, label);
      assert.equal((await res.json()).error.code, code, label);
    }
    // A body sent in chunks (no declared length) is read as bytes: refused alike.
    const chunked = (text: string) =>
      track(
        n,
        new ReadableStream({
          start(c) {
            c.enqueue(new TextEncoder().encode(text));
            c.close();
          },
        }) as unknown as Uint8Array,
      );
    const badChunked = await chunked("{not json");
    assert.equal(badChunked.status, 400);
    assert.equal((await badChunked.json()).error.code, "INVALID_JSON");
    const bigChunked = await chunked(JSON.stringify({ pad: "z".repeat(11_000) }));
    assert.equal(bigChunked.status, 413);
    assert.equal((await bigChunked.json()).error.code, "PAYLOAD_TOO_LARGE");
    const wrongMethod = await n.fetch("/_fazt/track", { host: "blog.localhost", token: null });
    assert.equal(wrongMethod.status, 405);
    assert.equal((await wrongMethod.json()).error.code, "METHOD_NOT_ALLOWED");
    const badPixel = await n.fetch(`/_fazt/pixel.gif?name=${"n".repeat(101)}`, {
      host: "blog.localhost",
      token: null,
    });
    assert.equal(badPixel.status, 400);
    await badPixel.body?.cancel();
    for (
      const body of ["{", JSON.stringify({ t: "a".repeat(11_000) }), JSON.stringify({ t: [1] })]
    ) {
      const res = await n.fetch("/track", { method: "POST", token: null, body });
      assert.ok(
        res.status === 400 || res.status === 413,
        `/track ${body.slice(0, 20)}: ${res.status}`,
      );
      assert.ok((await res.json()).error.code);
    }
    // /_fazt/ is reserved: an app's own file there is never served.
    for (
      const path of [
        "/_fazt/secret.html",
        "/%5Ffazt/secret.html",
        "/_fazt%2Fsecret.html",
        "/_fazt",
        "/_fazt/",
        "/_fazt/nope",
      ]
    ) {
      const res = await n.fetch(path, { host: "blog.localhost", token: null });
      assert.equal(res.status, 404, path);
      const text = await res.text();
      assert.ok(!text.includes("must never be served"), path);
      assert.equal(JSON.parse(text).error.code, "NOT_FOUND");
    }
    assert.equal((await stored(n)).length, 0);
  } finally {
    await n.close();
  }
});

/** Every string in every column of every table, and the raw file bytes. */
function everything(n: TestNode): string {
  const parts: string[] = [];
  const tables = n.storage.db.all<{ name: string }>(
    "SELECT name FROM sqlite_master WHERE type = 'table'",
  );
  assert.ok(tables.some((t) => t.name === "analytics_raw"));
  for (const { name } of tables) {
    for (const row of n.storage.db.all<Record<string, unknown>>(`SELECT * FROM "${name}"`)) {
      for (const v of Object.values(row)) {
        parts.push(v instanceof Uint8Array ? new TextDecoder("latin1").decode(v) : String(v));
      }
    }
  }
  for (const suffix of ["", "-wal"]) {
    try {
      parts.push(new TextDecoder("latin1").decode(Deno.readFileSync(n.dbPath + suffix)));
    } catch {
      // no WAL file
    }
  }
  return parts.join("\n");
}

Deno.test("privacy: no client IP is stored anywhere in the database", async () => {
  const n = await node({ settings: { trust_proxy: 1 } });
  try {
    const ip = "203.0.113.77";
    const xff = { "x-forwarded-for": `198.51.100.9, ${ip}` };
    await get(n, "/", xff);
    await get(n, "/about", xff);
    await get(n, "/", { "x-forwarded-for": "203.0.113.78" });
    assert.equal(
      (await track(n, JSON.stringify({ name: "signup", props: { a: "b" } }), xff)).status,
      204,
    );
    const px = await n.fetch("/_fazt/pixel.gif", {
      host: "blog.localhost",
      token: null,
      headers: { "user-agent": FIREFOX, ...xff },
    });
    await px.body?.cancel();
    const legacy = await n.fetch("/track", {
      method: "POST",
      token: null,
      body: '{"h":"blog.localhost"}',
      headers: { "user-agent": FIREFOX, ...xff },
    });
    assert.equal(legacy.status, 204);
    const rows = await stored(n);
    assert.equal(rows.length, 6);
    // The forwarded address decides the visitor (trust_proxy is on)...
    assert.equal(new Set(rows.map((r) => r.visitor)).size, 2);
    n.storage.db.exec("PRAGMA wal_checkpoint(FULL)");
    const all = everything(n);
    for (const needle of [ip, "198.51.100.9", "203.0.113.78", "127.0.0.1"]) {
      assert.ok(!all.includes(needle), `${needle} is stored somewhere`);
    }
  } finally {
    await n.close();
  }
  // ...and is ignored without trust_proxy: every request comes from 127.0.0.1.
  const plain = await node();
  try {
    await get(plain, "/", { "x-forwarded-for": "203.0.113.1" });
    await get(plain, "/", { "x-forwarded-for": "203.0.113.2" });
    assert.equal(new Set((await stored(plain)).map((r) => r.visitor)).size, 1);
  } finally {
    await plain.close();
  }
});

Deno.test("privacy: the salt rotates at midnight UTC; only today's is kept", async () => {
  const clock = { now: Date.UTC(2026, 2, 10, 23, 59, 0) };
  const n = await node({ clock });
  try {
    await get(n, "/");
    await get(n, "/about");
    const [salt1] = n.storage.db.all<{ salt: string }>("SELECT salt FROM analytics_salts");
    clock.now = Date.UTC(2026, 2, 11, 0, 1, 0);
    await get(n, "/");
    const rows = await stored(n);
    assert.equal(rows[0].visitor, rows[1].visitor, "same visitor within a day");
    assert.notEqual(rows[2].visitor, rows[0].visitor, "yesterday's hash cannot be linked");
    const salts = n.storage.db.all<{ day: number; salt: string }>(
      "SELECT day, salt FROM analytics_salts",
    );
    assert.deepEqual(salts.map((s) => s.day), [Date.UTC(2026, 2, 11)]);
    assert.notEqual(salts[0].salt, salt1.salt);
    n.storage.db.exec("PRAGMA wal_checkpoint(FULL)");
    assert.ok(!everything(n).includes(salt1.salt), "yesterday's salt is gone");
    // Daily visitors: one on each day.
    const day1 = n.storage.analytics.counts(
      "blog",
      "day",
      Date.UTC(2026, 2, 10),
      Date.UTC(2026, 2, 12),
    );
    assert.deepEqual(day1.map((d) => d.visitors), [1, 1]);
  } finally {
    await n.close();
  }
});

Deno.test("buffer: a full buffer drops events and counts them in /api/system", async () => {
  const n = await node({ settings: { analytics_buffer_events: 10 } });
  try {
    for (let i = 0; i < 15; i++) await get(n, "/");
    const sys = await api(n, "/api/system");
    assert.equal(sys.dropped_events, 5);
    assert.equal(sys.analytics.buffered_events, 10);
    assert.equal(n.count("analytics_raw"), 0, "nothing written yet");
    assert.equal((await stored(n)).length, 10);
    for (let i = 0; i < 3; i++) await get(n, "/");
    assert.equal((await api(n, "/api/system")).dropped_events, 5, "room again after a write");
  } finally {
    await n.close();
  }
});

Deno.test("buffer: captured views go to the writer thread in chunks, written only as one batch", async () => {
  const n = await node();
  try {
    const views = 100; // more than a chunk (64)
    for (let i = 0; i < views; i++) await get(n, "/", { "x-forwarded-for": `198.51.100.${i % 3}` });
    const sys = await api(n, "/api/system");
    assert.ok(sys.analytics.buffered_events < views, "a chunk has left the serving thread");
    assert.equal(n.count("analytics_raw"), 0, "but nothing is written before the batch is due");
    const rows = await stored(n);
    assert.equal(rows.length, views);
    assert.equal(n.count("analytics_raw"), 1, "one batch");
    assert.equal((await api(n, "/api/system")).analytics.written_events, views);
  } finally {
    await n.close();
  }
});

Deno.test("shutdown: closing the server writes the buffered events", async () => {
  const n = await node();
  for (let i = 0; i < 7; i++) await get(n, i % 2 ? "/" : "/about");
  assert.equal((await track(n, '{"name":"bye"}')).status, 204);
  assert.equal(n.count("analytics_raw"), 0, "still in memory");
  const dir = n.dir;
  const db = n.dbPath;
  const keep = `${dir}-kept.db`;
  await n.server.close();
  Deno.copyFileSync(db, keep);
  await Deno.remove(dir, { recursive: true });
  const storage = Storage.open(keep);
  try {
    const n2 = storage.db.get<{ n: number }>("SELECT SUM(count) AS n FROM analytics_raw")!.n;
    assert.equal(n2, 8);
    assert.deepEqual(readRollups(storage.db), recount(storage.db));
  } finally {
    storage.close();
    await Deno.remove(keep);
  }
});

Deno.test("rollups equal a recount of the raw events after mixed traffic", async () => {
  const clock = { now: T0 - 3 * DAY_MS };
  const n = await node({ clock, settings: { trust_proxy: 1 }, writer: "inline" });
  try {
    const deployed = await n.deploy("shop", await makeZip({ "index.html": "<h1>shop</h1>" }));
    assert.equal(deployed.status, 201);
    const agents = [FIREFOX, IPHONE];
    for (let i = 0; i < 120; i++) {
      clock.now += 37 * 60_000; // across hours and days
      const headers = {
        "user-agent": agents[i % 2],
        "x-forwarded-for": `203.0.113.${i % 9}`,
        ...(i % 4 === 0 ? { referer: `https://site${i % 3}.example/` } : {}),
      };
      if (i % 5 === 0) {
        await n.fetch("/", { host: "shop.localhost", token: null, headers }).then((r) =>
          r.body?.cancel()
        );
      } else if (i % 7 === 0) {
        await track(n, JSON.stringify({ name: `e${i % 2}`, props: { i } }), headers);
      } else if (i % 11 === 0) {
        assert.equal((await get(n, `/gone/${i % 2}`, headers)).status, 404);
      } else {
        await get(n, i % 3 ? "/" : "/about", headers);
      }
      if (i % 25 === 0) n.server.context.analytics.flush(); // several batches
    }
    assert.equal((await stored(n)).length, 120);
    assert.deepEqual(readRollups(n.storage.db), recount(n.storage.db));
  } finally {
    await n.close();
  }
});

Deno.test("retention: raw events older than analytics_retention_days are pruned, rollups stay", async () => {
  const clock = { now: T0 };
  const n = await node({ clock, settings: { analytics_retention_days: 30 }, writer: "inline" });
  try {
    for (let i = 0; i < 5; i++) await get(n, "/");
    await track(n, '{"name":"signup"}');
    const before = await api(n, `/api/stats?app=blog&from=${T0 - DAY_MS}&to=${T0 + DAY_MS}`);
    assert.equal(before.totals.views, 5);
    clock.now = T0 + 29 * DAY_MS;
    await get(n, "/about");
    await n.server.context.analytics.sync();
    // Ended weeks and months are rolled a few apps an upkeep: all of them
    // now, so what upkeep does from here can only prune.
    while (n.storage.analytics.rollWeeks());
    while (n.storage.analytics.rollMonths());
    clock.now = T0 + 31 * DAY_MS;
    const rollups = readRollups(n.storage.db);
    const after = await api(n, `/api/stats?app=blog&from=${T0 - DAY_MS}&to=${T0 + DAY_MS}`);
    assert.deepEqual(after.totals, before.totals, "rollups answer for pruned days");
    assert.deepEqual(
      (await stored(n)).map((r) => r.path),
      ["/about"],
      "only the recent raw event is left",
    );
    assert.deepEqual(readRollups(n.storage.db), rollups);
    const events = await api(n, "/api/stats/events?app=blog&name=signup&from=" + (T0 - DAY_MS));
    assert.equal(events.total, 1);
    assert.deepEqual(events.recent, [], "its raw row is gone");
  } finally {
    await n.close();
  }
});

Deno.test("404s report: paths that answered 404, per app, never views; bots and $404 from pages are not counted", async () => {
  const clock = { now: T0 };
  const n = await node({ clock, settings: { trust_proxy: 1 }, writer: "inline" });
  try {
    await n.deploy("shop", await makeZip({ "index.html": "<h1>shop</h1>" }));
    const shop = (path: string, ip: string) =>
      n.fetch(path, {
        host: "shop.localhost",
        token: null,
        headers: { "user-agent": FIREFOX, "x-forwarded-for": ip },
      }).then(async (r) => {
        await r.body?.cancel();
        return r.status;
      });
    // blog has its own 404.html; shop gets fazt's 404 page: both are counted.
    assert.equal((await get(n, "/old-post", { "x-forwarded-for": "203.0.113.1" })).status, 404);
    assert.equal((await get(n, "/old-post", { "x-forwarded-for": "203.0.113.2" })).status, 404);
    assert.equal((await get(n, "/", { "x-forwarded-for": "203.0.113.1" })).status, 200);
    assert.equal(await shop("/old-post", "203.0.113.3"), 404);
    assert.equal(await shop("/", "203.0.113.3"), 200);
    // Not counted: a bot's probe, a HEAD, an asset that exists.
    assert.equal((await get(n, "/wp-login.php", { "user-agent": GOOGLEBOT })).status, 404);
    assert.equal((await get(n, "/nope", {}, "HEAD")).status, 404);
    // A page cannot send fazt's own name.
    const forged = await track(n, JSON.stringify({ name: "$404", path: "/forged" }));
    assert.equal(forged.status, 400);
    assert.equal((await forged.json()).error.details.field, "name");

    const blog = await api(n, "/api/stats?app=blog");
    assert.deepEqual(blog.by_app.not_found, [{ app: "blog", value: "/old-post", count: 2 }]);
    assert.deepEqual(blog.totals, { views: 1, visitors: 1, events: 0 }, "404s are no views");
    assert.deepEqual(blog.top.events, []);
    assert.deepEqual(blog.by_app.paths, [{ app: "blog", value: "/", count: 1 }]);
    const events = await api(n, "/api/stats/events?app=blog");
    assert.deepEqual(events.recent, [], "404s are not events");
    // Every app: the same path of two apps stays two entries.
    const all = await api(n, "/api/stats");
    assert.deepEqual(all.by_app.not_found, [
      { app: "blog", value: "/old-post", count: 2 },
      { app: "shop", value: "/old-post", count: 1 },
    ]);
    assert.deepEqual(all.by_app.paths, [
      { app: "blog", value: "/", count: 1 },
      { app: "shop", value: "/", count: 1 },
    ]);
    assert.deepEqual(all.top.paths, [{ value: "/", count: 2 }], "the merged list, as before");
    // By hour too (hourly rollups are kept per app only).
    const hourly = await api(n, `/api/stats?from=${T0 - HOUR_MS}&to=${T0 + HOUR_MS}&interval=hour`);
    assert.deepEqual(hourly.by_app.not_found.map((x: Json) => [x.app, x.count]), [
      ["blog", 2],
      ["shop", 1],
    ]);
    assert.deepEqual(readRollups(n.storage.db), recount(n.storage.db));
  } finally {
    await n.close();
  }
});

Deno.test("stats endpoints: /api/stats, /api/stats/realtime, /api/stats/events", async () => {
  const clock = { now: T0 };
  const n = await node({ clock, settings: { trust_proxy: 1 } });
  try {
    const visit = (path: string, ip: string, extra: Record<string, string> = {}) =>
      get(n, path, { "x-forwarded-for": ip, ...extra });
    await visit("/", "203.0.113.1", { referer: "https://news.example/" });
    await visit("/about", "203.0.113.1");
    await visit("/", "203.0.113.2", { "user-agent": IPHONE });
    await track(n, JSON.stringify({ name: "signup", props: { plan: "pro" } }), {
      "x-forwarded-for": "203.0.113.2",
      "user-agent": IPHONE,
    });
    clock.now = T0 + 2 * HOUR_MS + 60_000;
    await visit("/about", "203.0.113.3");
    await track(n, JSON.stringify({ name: "signup", props: { plan: "free" } }), {
      "x-forwarded-for": "203.0.113.3",
    });
    await track(n, JSON.stringify({ name: "share" }), { "x-forwarded-for": "203.0.113.3" });

    const hourly = await api(
      n,
      `/api/stats?app=blog&from=${T0 - HOUR_MS}&to=${T0 + 3 * HOUR_MS}&interval=hour`,
    );
    assert.equal(hourly.app, "blog");
    assert.equal(hourly.interval, "hour");
    assert.equal(hourly.from, T0 - HOUR_MS);
    assert.equal(hourly.to, T0 + 3 * HOUR_MS);
    assert.deepEqual(
      hourly.series.map((x: Json) => [x.t, x.views, x.visitors, x.events]),
      [
        [T0 - HOUR_MS, 0, 0, 0],
        [T0, 3, 2, 1],
        [T0 + HOUR_MS, 0, 0, 0],
        [T0 + 2 * HOUR_MS, 1, 1, 2],
      ],
    );
    assert.deepEqual(hourly.totals, { views: 4, visitors: 3, events: 3 });
    assert.deepEqual(hourly.top.paths, [{ value: "/", count: 2 }, { value: "/about", count: 2 }]);
    assert.deepEqual(hourly.top.referrers, [{ value: "news.example", count: 1 }]);
    assert.deepEqual(hourly.top.browsers, [{ value: "Firefox", count: 3 }, {
      value: "Safari",
      count: 1,
    }]);
    assert.deepEqual(hourly.top.devices, [{ value: "desktop", count: 3 }, {
      value: "mobile",
      count: 1,
    }]);
    assert.deepEqual(hourly.top.events, [{ value: "signup", count: 2 }, {
      value: "share",
      count: 1,
    }]);

    // Defaults: the last 30 days by day, the current day included.
    const daily = await api(n, "/api/stats?app=blog");
    assert.equal(daily.interval, "day");
    assert.equal(daily.series.length, 31);
    assert.deepEqual(daily.series.at(-1), {
      t: Date.UTC(2026, 2, 10),
      views: 4,
      visitors: 3,
      events: 3,
    });
    // The original's fields.
    assert.equal(daily.total_events_today, 7);
    assert.equal(daily.total_events_week, 7);
    assert.equal(daily.total_events_month, 7);
    assert.equal(daily.total_events_all_time, 7);
    assert.deepEqual(daily.events_by_source_type, { server: 4, track: 3 });
    assert.deepEqual(daily.top_domains, [{ domain: "blog", count: 7 }]);
    assert.equal(daily.events_timeline.length, 24);
    assert.deepEqual(daily.events_timeline.at(-1), { timestamp: "2026-03-10 12:00", count: 3 });
    assert.equal(daily.events_timeline.at(-3).count, 4);
    assert.equal(daily.total_unique_domains, 1);
    // Every app, and relative times.
    const all = await api(n, "/api/stats?from=2d&limit=1");
    assert.equal(all.app, null);
    assert.equal(all.interval, "hour");
    assert.deepEqual(all.totals, { views: 4, visitors: 3, events: 3 });
    assert.equal(all.top.paths.length, 1);

    const rt = await api(n, "/api/stats/realtime?app=blog");
    assert.deepEqual(rt, {
      app: "blog",
      since: clock.now - 5 * 60_000,
      visitors: 1,
      pages: [{ path: "/about", visitors: 1 }],
    });
    clock.now += 10 * 60_000;
    assert.equal((await api(n, "/api/stats/realtime")).visitors, 0);

    const ev = await api(
      n,
      `/api/stats/events?app=blog&name=signup&from=${T0}&to=${T0 + 3 * HOUR_MS}`,
    );
    assert.equal(ev.total, 2);
    assert.equal(ev.interval, "hour");
    assert.deepEqual(ev.series.map((x: Json) => x.count), [1, 0, 1]);
    assert.deepEqual(ev.names, [{ name: "signup", count: 2 }, { name: "share", count: 1 }]);
    assert.deepEqual(ev.recent.map((e: Json) => e.props), [{ plan: "free" }, { plan: "pro" }]);
    const allEvents = await api(n, `/api/stats/events?app=blog&from=${T0}&to=${T0 + 3 * HOUR_MS}`);
    assert.equal(allEvents.total, 3);
    assert.equal(allEvents.recent.length, 3);

    const refused: [string, string][] = [
      ["/api/stats?interval=week", "interval"],
      ["/api/stats?from=yesterday", "from"],
      [`/api/stats?from=${T0}&to=${T0 - 1}`, "from"],
      ["/api/stats?from=0&interval=hour", "interval"],
      ["/api/stats?limit=0", "limit"],
      ["/api/stats/events?name=" + "x".repeat(101), "name"],
      ["/api/stats/realtime?app=" + "a".repeat(300), "app"],
    ];
    for (const [path, field] of refused) {
      const res = await n.fetch(path, { token: n.tokens.read });
      const body = await res.json();
      assert.equal(res.status, 400, path);
      assert.equal(body.error.code, "VALIDATION_FAILED", path);
      assert.equal(body.error.details.field, field, path);
    }
  } finally {
    await n.close();
  }
});

Deno.test("cli: fazt stats prints a table with a sparkline, or JSON", async () => {
  const n = await node();
  const sandbox = await CliSandbox.create();
  try {
    for (let i = 0; i < 3; i++) await get(n, i ? "/" : "/about");
    await n.server.context.analytics.sync();
    // The real CLI, with the `fazt` task's flags (tests/cli_runner.ts).
    const run = async (...args: string[]) =>
      assertOk(await sandbox.cli(["stats", ...args, "--url", n.base, "--token", n.tokens.read]))
        .stdout;
    const [table, raw] = await Promise.all([run("blog", "--from", "7d"), run("blog", "--json")]);
    assert.match(table, /^blog {2}\d{4}-\d\d-\d\d \.\. \d{4}-\d\d-\d\d UTC, by day/);
    assert.match(table, /views 3 {2}visitors 1 {2}events 0/);
    assert.match(table, /[▁▂▃▄▅▆▇█]{8}/);
    assert.match(table, /PAGE +VIEWS +REFERRER +VIEWS\n\/ +2/);
    const json = JSON.parse(raw);
    assert.equal(json.totals.views, 3);
    assert.equal(json.series.length, 31);
  } finally {
    await n.close();
    await sandbox.remove();
  }
});
