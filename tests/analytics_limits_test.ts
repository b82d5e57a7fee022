/**
 * What stops anyone from filling the disk through the public tracking
 * endpoints: limits on an event's properties, per-client and per-app rate
 * limits, and a cap on raw events stored per app and day whose overflow is
 * counted, not stored. Each refusal, and that nothing refused is stored.
 */
import assert from "node:assert/strict";
import { DAY_MS } from "../storage/mod.ts";
import { PROPS_LIMITS } from "../server/tracking.ts";
import { makeZip, startTestNode, type TestNode } from "./helpers.ts";

const FIREFOX = "Mozilla/5.0 (X11; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0";
const T0 = Date.UTC(2026, 2, 10, 10, 0, 0);

// deno-lint-ignore no-explicit-any -- tests read arbitrary JSON bodies
type Json = any;

interface Clock {
  now: number;
}

async function node(
  settings: Record<string, number>,
  clock: Clock = { now: T0 },
  dir?: string,
): Promise<TestNode> {
  const n = await startTestNode({
    settings,
    dir,
    analytics: {
      now: () => clock.now,
      flushIntervalMs: 3_600_000, // written when a test asks
      flushEvents: 1_000_000,
      writer: "inline",
    },
  });
  for (const app of ["blog", "shop"]) {
    const { status } = await n.deploy(app, await makeZip({ "index.html": `<h1>${app}</h1>` }));
    assert.equal(status, 201);
  }
  return n;
}

function track(
  n: TestNode,
  body: unknown,
  opts: { host?: string; ip?: string } = {},
): Promise<Response> {
  return n.fetch("/_fazt/track", {
    host: opts.host ?? "blog.localhost",
    token: null,
    method: "POST",
    body: typeof body === "string" ? body : JSON.stringify(body),
    headers: {
      "user-agent": FIREFOX,
      "content-type": "text/plain;charset=UTF-8",
      ...(opts.ip ? { "x-forwarded-for": opts.ip } : {}),
    },
  });
}

async function status(res: Response): Promise<number> {
  await res.body?.cancel();
  return res.status;
}

function page(n: TestNode, host = "blog.localhost", ip?: string): Promise<number> {
  return n.fetch("/", {
    host,
    token: null,
    headers: { "user-agent": FIREFOX, ...(ip ? { "x-forwarded-for": ip } : {}) },
  }).then(status);
}

function pixel(n: TestNode, ip?: string): Promise<Response> {
  return n.fetch("/_fazt/pixel.gif?name=seen", {
    host: "blog.localhost",
    token: null,
    headers: { "user-agent": FIREFOX, ...(ip ? { "x-forwarded-for": ip } : {}) },
  });
}

async function api(n: TestNode, path: string): Promise<Json> {
  const res = await n.fetch(path, { token: n.tokens.read });
  const body = await res.json();
  assert.equal(res.status, 200, JSON.stringify(body));
  return body.data;
}

/** Every raw event stored, after writing what waits. */
async function stored(n: TestNode): Promise<Json[]> {
  await n.server.context.analytics.sync();
  return n.storage.analytics.events(null, 0, 1e13);
}

/** A props object whose stored JSON is exactly `bytes` long (ASCII). */
function propsOfBytes(bytes: number): Record<string, string> {
  const props: Record<string, string> = {};
  let i = 0;
  while (JSON.stringify(props).length < bytes) {
    props[`k${i++}`] = "v".repeat(PROPS_LIMITS.valueLength);
  }
  const last = `k${i - 1}`;
  const over = JSON.stringify(props).length - bytes;
  props[last] = props[last].slice(0, props[last].length - over);
  assert.equal(JSON.stringify(props).length, bytes);
  return props;
}

Deno.test("props: at the limits accepted; past each one refused with its constraint, nothing stored", async () => {
  const n = await node({});
  try {
    const max = PROPS_LIMITS;
    const accepted = [
      Object.fromEntries(Array.from({ length: max.keys }, (_, i) => [`k${i}`, i])),
      { ["k".repeat(max.keyLength)]: true },
      { v: "é".repeat(max.valueLength) },
      propsOfBytes(max.bytes),
    ];
    for (const props of accepted) {
      assert.equal(await status(await track(n, { name: "ok", props })), 204);
    }
    const refused: [unknown, string][] = [
      [
        Object.fromEntries(Array.from({ length: max.keys + 1 }, (_, i) => [`k${i}`, i])),
        "max_keys",
      ],
      [{ ["k".repeat(max.keyLength + 1)]: 1 }, "key_length"],
      [{ "": 1 }, "key_length"],
      [{ v: "x".repeat(max.valueLength + 1) }, "value_length"],
      [propsOfBytes(max.bytes + 1), "max_bytes"],
      // Multi-byte characters count as bytes: 6 x 200 "é" is 2,400 bytes.
      [
        Object.fromEntries(Array.from({ length: 6 }, (_, i) => [`k${i}`, "é".repeat(200)])),
        "max_bytes",
      ],
      [{ nested: { a: 1 } }, "flat"],
      [{ list: [1, 2] }, "flat"],
    ];
    for (const [props, constraint] of refused) {
      const res = await track(n, { name: "no", props });
      const body = await res.json();
      const label = `${constraint}: ${JSON.stringify(props).slice(0, 60)}`;
      assert.equal(res.status, 400, label);
      assert.equal(body.error.code, "VALIDATION_FAILED", label);
      assert.deepEqual(body.error.details, { field: "props", constraint }, label);
    }
    // The original's /track checks its `q` the same way.
    const legacy = await n.fetch("/track", {
      method: "POST",
      token: null,
      body: JSON.stringify({ h: "blog.localhost", q: { v: "x".repeat(max.valueLength + 1) } }),
      headers: { "user-agent": FIREFOX },
    });
    assert.equal(legacy.status, 400);
    assert.deepEqual((await legacy.json()).error.details, {
      field: "q",
      constraint: "value_length",
    });
    const rows = await stored(n);
    assert.deepEqual(rows.map((r) => r.name), ["ok", "ok", "ok", "ok"], "only the accepted ones");
    assert.equal(rows[3].props.length, max.bytes);
  } finally {
    await n.close();
  }
});

Deno.test("props: the original's tags are cut to 50 characters, at most 20 of them", async () => {
  const n = await node({});
  try {
    const ok = await n.fetch("/track", {
      method: "POST",
      token: null,
      body: JSON.stringify({ h: "blog.localhost", t: ["a".repeat(80), "b"] }),
      headers: { "user-agent": FIREFOX },
    });
    assert.equal(ok.status, 204);
    const tooMany = await n.fetch("/track", {
      method: "POST",
      token: null,
      body: JSON.stringify({
        h: "blog.localhost",
        t: Array.from({ length: 21 }, (_, i) => `t${i}`),
      }),
      headers: { "user-agent": FIREFOX },
    });
    assert.equal(tooMany.status, 400);
    assert.equal((await tooMany.json()).error.details.constraint, "tags");
    assert.deepEqual((await stored(n)).map((r) => r.tags), [`${"a".repeat(50)},b`]);
  } finally {
    await n.close();
  }
});

Deno.test("rate: a client past its burst gets 429 with Retry-After; others and the pixel go on", async () => {
  const clock = { now: T0 };
  const n = await node(
    { trust_proxy: 1, analytics_client_rate: 1, analytics_client_burst: 3 },
    clock,
  );
  try {
    const a = "203.0.113.5";
    for (let i = 0; i < 3; i++) {
      assert.equal(await status(await track(n, { name: "a" }, { ip: a })), 204);
    }
    const over = await track(n, { name: "a" }, { ip: a });
    const body = await over.json();
    assert.equal(over.status, 429);
    assert.equal(over.headers.get("retry-after"), "1");
    assert.deepEqual(body.error, {
      code: "RATE_LIMITED",
      message: "Too many events from this client: try again in 1 s",
      details: { limit: "client", retry_after_s: 1 },
    });
    // The pixel always answers the pixel, and counts nothing over the limit.
    const px = await pixel(n, a);
    assert.equal(px.status, 200);
    assert.equal(px.headers.get("content-type"), "image/gif");
    await px.body?.cancel();
    // The original's endpoints share the same buckets.
    const legacy = await n.fetch("/track", {
      method: "POST",
      token: null,
      body: JSON.stringify({ h: "blog.localhost", e: "a" }),
      headers: { "user-agent": FIREFOX, "x-forwarded-for": a },
    });
    assert.equal(legacy.status, 429);
    assert.equal(legacy.headers.get("retry-after"), "1");
    await legacy.body?.cancel();
    const legacyPx = await n.fetch("/pixel.gif?domain=blog.localhost", {
      token: null,
      headers: { "user-agent": FIREFOX, "x-forwarded-for": a },
    });
    assert.equal(legacyPx.status, 200);
    assert.equal(legacyPx.headers.get("content-type"), "image/gif");
    await legacyPx.body?.cancel();
    // Another client has its own bucket; page views are never limited.
    assert.equal(await status(await track(n, { name: "b" }, { ip: "203.0.113.6" })), 204);
    assert.equal(await page(n, "blog.localhost", a), 200);
    // A second later the first has one token again.
    clock.now += 1000;
    assert.equal(await status(await track(n, { name: "a" }, { ip: a })), 204);
    assert.equal((await track(n, { name: "a" }, { ip: a })).status, 429);

    const rows = await stored(n);
    assert.deepEqual(
      rows.map((r) => r.name).sort(),
      ["a", "a", "a", "a", "b", "pageview"],
      "nothing refused is stored",
    );
    const sys = await api(n, "/api/system");
    assert.equal(sys.analytics.refused_events, 5);
    assert.equal(sys.analytics.not_stored_events, 0);
  } finally {
    await n.close();
  }
});

Deno.test("rate: an IPv6 /64 is one client", async () => {
  const n = await node({ trust_proxy: 1, analytics_client_rate: 1, analytics_client_burst: 2 });
  try {
    assert.equal(await status(await track(n, { name: "x" }, { ip: "2001:db8:1:2::1" })), 204);
    assert.equal(await status(await track(n, { name: "x" }, { ip: "2001:db8:1:2:ffff::9" })), 204);
    assert.equal(
      await status(await track(n, { name: "x" }, { ip: "2001:0db8:0001:0002::7" })),
      429,
    );
    assert.equal(await status(await track(n, { name: "x" }, { ip: "2001:db8:1:3::1" })), 204);
    assert.equal((await stored(n)).length, 3);
  } finally {
    await n.close();
  }
});

Deno.test("rate: an app past its burst gets 429 whichever client sends; other apps go on", async () => {
  const clock = { now: T0 };
  const n = await node({ trust_proxy: 1, analytics_app_rate: 1, analytics_app_burst: 2 }, clock);
  try {
    assert.equal(await status(await track(n, { name: "x" }, { ip: "203.0.113.1" })), 204);
    assert.equal(await status(await track(n, { name: "x" }, { ip: "203.0.113.2" })), 204);
    const over = await track(n, { name: "x" }, { ip: "203.0.113.3" });
    assert.equal(over.status, 429);
    assert.equal(over.headers.get("retry-after"), "1");
    assert.deepEqual((await over.json()).error.details, { limit: "app", retry_after_s: 1 });
    assert.equal(
      await status(await track(n, { name: "y" }, { host: "shop.localhost", ip: "203.0.113.3" })),
      204,
    );
    // Domains this node does not host share one bucket through the original's /track.
    const other = (d: string) =>
      n.fetch("/track", {
        method: "POST",
        token: null,
        body: JSON.stringify({ d }),
        headers: { "user-agent": FIREFOX, "x-forwarded-for": "203.0.113.9" },
      }).then(status);
    assert.deepEqual(
      [await other("a.example"), await other("b.example"), await other("c.example")],
      [204, 204, 429],
    );
    assert.equal((await stored(n)).length, 5);
  } finally {
    await n.close();
  }
});

Deno.test("rate: limits of 0 are off", async () => {
  const n = await node({
    analytics_client_rate: 0,
    analytics_app_rate: 0,
    analytics_client_burst: 1,
  });
  try {
    for (let i = 0; i < 30; i++) assert.equal(await status(await track(n, { name: "x" })), 204);
    assert.equal((await stored(n)).length, 30);
  } finally {
    await n.close();
  }
});

Deno.test("daily cap: events past it are counted in /api/stats and /api/system, never stored", async () => {
  const clock = { now: T0 };
  const n = await node({ analytics_app_daily_events: 3 }, clock);
  try {
    for (let i = 0; i < 5; i++) assert.equal(await page(n), 200);
    for (let i = 0; i < 2; i++) assert.equal(await status(await track(n, { name: "late" })), 204);
    const px = await pixel(n);
    assert.equal(px.status, 200);
    await px.body?.cancel();
    // Another app has its own cap.
    assert.equal(await page(n, "shop.localhost"), 200);

    const rows = await stored(n);
    assert.deepEqual(rows.map((r) => [r.app, r.name]), [
      ["blog", "pageview"],
      ["blog", "pageview"],
      ["blog", "pageview"],
      ["shop", "pageview"],
    ]);
    const day = `from=${T0 - DAY_MS}&to=${T0 + DAY_MS}`;
    const blog = await api(n, `/api/stats?app=blog&${day}`);
    assert.deepEqual(blog.totals, { views: 3, visitors: 1, events: 0 });
    assert.equal(blog.not_stored, 5);
    assert.equal((await api(n, `/api/stats?app=shop&${day}`)).not_stored, 0);
    assert.equal((await api(n, `/api/stats?${day}`)).not_stored, 5);
    assert.equal((await api(n, "/api/system")).analytics.not_stored_events, 5);
    assert.equal(n.count("analytics_raw"), 1, "one batch");
    assert.equal(
      n.storage.db.get<{ n: number }>("SELECT SUM(count) AS n FROM analytics_raw")!.n,
      4,
      "no raw event beyond the cap",
    );

    // The next UTC day starts again.
    clock.now = T0 + DAY_MS;
    assert.equal(await page(n), 200);
    assert.equal((await stored(n)).length, 5);
    const nextDay = await api(n, `/api/stats?app=blog&from=${T0 + DAY_MS - 3_600_000}`);
    assert.equal(nextDay.not_stored, 0, "the new day has nothing over its cap");
  } finally {
    await n.close();
  }
});

Deno.test("daily cap: missing pages never use up an app's cap; real views are still stored", async () => {
  const clock = { now: T0 };
  const n = await node({ analytics_app_daily_events: 3 }, clock);
  try {
    const { status: deployed } = await n.deploy(
      "docs",
      await makeZip({ "index.html": "<h1>docs</h1>", "404.html": "<h1>gone</h1>" }),
    );
    assert.equal(deployed, 201);
    const get = (path: string, host: string) =>
      n.fetch(path, { host, token: null, headers: { "user-agent": FIREFOX } }).then(status);
    // A walk of missing pages, past the cap, as a bot with a browser's agent does.
    for (let i = 0; i < 6; i++) {
      assert.equal(await get(`/wp-admin-${i}.php`, "blog.localhost"), 404);
    }
    for (let i = 0; i < 4; i++) assert.equal(await get(`/old-${i}`, "docs.localhost"), 404);
    await n.server.context.analytics.sync();
    assert.deepEqual(n.storage.analytics.quota("blog", T0 - (T0 % DAY_MS)), {
      stored: 0,
      overflow: 0,
    }, "the app's cap is untouched");

    // Real page views afterwards are stored, up to the app's whole cap.
    for (let i = 0; i < 4; i++) assert.equal(await page(n), 200);
    assert.equal(await page(n, "docs.localhost"), 200);
    const rows = await stored(n);
    const names = (app: string) => rows.filter((r) => r.app === app).map((r) => r.name);
    assert.deepEqual(names("blog"), ["$404", "$404", "$404", "pageview", "pageview", "pageview"]);
    assert.deepEqual(names("docs"), ["$404", "$404", "$404", "pageview"]);

    const day = `from=${T0 - DAY_MS}&to=${T0 + DAY_MS}`;
    const blog = await api(n, `/api/stats?app=blog&${day}`);
    assert.deepEqual(blog.totals, { views: 3, visitors: 1, events: 0 });
    assert.deepEqual(blog.top.paths, [{ value: "/", count: 3 }], "no view of a missing path");
    assert.deepEqual(
      blog.by_app.not_found.map((x: Json) => x.value).sort(),
      ["/wp-admin-0.php", "/wp-admin-1.php", "/wp-admin-2.php"],
      "the 404s report, under a cap of its own",
    );
    assert.equal(blog.not_stored, 4, "3 missing pages and 1 view over their caps");
    const docs = await api(n, `/api/stats?app=docs&${day}`);
    assert.deepEqual(docs.totals, { views: 1, visitors: 1, events: 0 });
    assert.deepEqual(docs.top.paths, [{ value: "/", count: 1 }], "the app's 404.html is no view");
    assert.equal(docs.not_stored, 1);
    assert.equal((await api(n, "/api/system")).analytics.not_stored_events, 5);
  } finally {
    await n.close();
  }
});

Deno.test("daily cap: a restart remembers what the day already stored", async () => {
  const clock = { now: T0 };
  const dir = await Deno.makeTempDir({ prefix: "fazt-cap-" });
  try {
    const first = await node({ analytics_app_daily_events: 3 }, clock, dir);
    for (let i = 0; i < 2; i++) assert.equal(await page(first), 200);
    await first.close(); // writes what waits
    const again = await startTestNode({
      dir,
      analytics: { now: () => clock.now, writer: "inline", flushIntervalMs: 3_600_000 },
    });
    try {
      for (let i = 0; i < 3; i++) assert.equal(await page(again), 200);
      await again.server.context.analytics.sync();
      assert.equal(again.storage.analytics.events("blog", 0, 1e13).length, 3);
      const s = await api(again, `/api/stats?app=blog&from=${T0 - DAY_MS}&to=${T0 + DAY_MS}`);
      assert.equal(s.totals.views, 3);
      assert.equal(s.not_stored, 2);
    } finally {
      await again.close();
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("daily cap: domains this node does not host share one cap", async () => {
  const n = await node({ analytics_app_daily_events: 2 });
  try {
    const send = (d: string) =>
      n.fetch("/track", {
        method: "POST",
        token: null,
        body: JSON.stringify({ d }),
        headers: { "user-agent": FIREFOX },
      }).then(status);
    for (const d of ["a.example", "b.example", "c.example", "nope.localhost"]) {
      assert.equal(await send(d), 204);
    }
    assert.equal(await send("blog.localhost"), 204, "a hosted app counts under its own cap");
    const rows = await stored(n);
    assert.deepEqual(rows.map((r) => r.app), ["a.example", "b.example", "blog"]);
    const all = await api(n, `/api/stats?from=${T0 - DAY_MS}&to=${T0 + DAY_MS}`);
    assert.equal(all.not_stored, 2);
  } finally {
    await n.close();
  }
});
