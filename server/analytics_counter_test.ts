import assert from "node:assert/strict";
import {
  DAY_MS,
  NOT_FOUND,
  notFoundQuota,
  PACKED_FIELDS,
  type PackedBatch,
  Storage,
} from "../storage/mod.ts";
import {
  AnalyticsCounter,
  CAPTURED,
  type Captured,
  REVALIDATION_WINDOW_MS,
  TRACK_FIELDS,
  VIEW_FIELDS,
} from "./analytics_counter.ts";
import { clientAddress } from "./client_address.ts";

const FIREFOX = "Mozilla/5.0 (X11; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0";
const BOT = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)";
const DAY = Date.UTC(2026, 2, 10);

interface View {
  kind?: number;
  at?: number;
  app?: string;
  path?: string;
  ua?: string;
  peer?: string;
  forwarded?: string;
  referer?: string;
  host?: string;
}

function view(v: View = {}): (string | number)[] {
  return [
    v.kind ?? CAPTURED.view,
    v.at ?? DAY + 1000,
    v.app ?? "blog",
    v.path ?? "/",
    v.ua ?? FIREFOX,
    v.peer ?? "203.0.113.7",
    v.forwarded ?? "",
    v.referer ?? "",
    v.host ?? "blog.example.com",
  ];
}

/** Records as the serving thread writes them. */
function lines(events: (string | number)[][]): string {
  return events.map((e) => `${e.join("\0")}\n`).join("");
}

function chunk(events: (string | number)[][], over: Partial<Captured> = {}): Captured {
  return {
    day: DAY,
    salt: "salt-1",
    trustProxy: false,
    dailyCap: 0,
    count: events.length,
    data: lines(events),
    write: true,
    ...over,
  };
}

function run(c: AnalyticsCounter, ch: Captured) {
  c.count(ch);
  return c.take();
}

/** The batch's events with their strings, in order. */
function events(batch: PackedBatch) {
  const out = [];
  const e = batch.events, s = batch.strings;
  for (let i = 0; i < e.length; i += PACKED_FIELDS) {
    out.push({
      at: e[i],
      app: s[e[i + 1]],
      name: s[e[i + 2]],
      source: s[e[i + 3]],
      path: s[e[i + 4]],
      referrer: s[e[i + 5]],
      visitor: s[e[i + 7]],
      tags: e[i + 8] < 0 ? null : s[e[i + 8]],
      props: e[i + 9] < 0 ? null : s[e[i + 9]],
    });
  }
  return out;
}

function withCounter(fn: (c: AnalyticsCounter, storage: Storage) => void) {
  const storage = Storage.open(":memory:");
  try {
    fn(new AnalyticsCounter(storage), storage);
  } finally {
    storage.close();
  }
}

Deno.test("counter: every kind of view is laid out as the serving thread captures it", () => {
  assert.equal(view().length, VIEW_FIELDS);
  withCounter((c) => {
    const track = [
      CAPTURED.track,
      DAY + 5,
      "blog",
      "/buy",
      FIREFOX,
      "203.0.113.7",
      "",
      "https://news.example/item",
      "blog.example.com",
      "signup",
      "track",
      "a,b",
      '{"plan":"pro"}',
      "blog",
    ];
    assert.equal(track.length, TRACK_FIELDS);
    const r = run(
      c,
      chunk([
        view({ path: "/a" }),
        view({ kind: CAPTURED.notFound, path: "/missing" }),
        track,
      ]),
    );
    assert.equal(r.recorded, 3);
    const [a, missing, signup] = events(r.batch);
    assert.deepEqual([a.name, a.source, a.path], ["pageview", "server", "/a"]);
    assert.deepEqual([missing.name, missing.path], [NOT_FOUND, "/missing"]);
    assert.deepEqual(
      [signup.name, signup.source, signup.path, signup.referrer, signup.tags, signup.props],
      ["signup", "track", "/buy", "news.example", "a,b", '{"plan":"pro"}'],
    );
    assert.equal(a.visitor, signup.visitor, "one visitor");
  });
});

Deno.test("counter: bots and a 304 of a page just counted for the same visitor are not counted", () => {
  withCounter((c) => {
    const t = DAY + 10_000;
    const r = run(
      c,
      chunk([
        view({ at: t }),
        view({ at: t + 1, ua: BOT }),
        view({ kind: CAPTURED.revalidated, at: t + 2 }),
        view({ kind: CAPTURED.revalidated, at: t + 3, path: "/other" }),
        view({ kind: CAPTURED.revalidated, at: t + 3 + REVALIDATION_WINDOW_MS, path: "/other" }),
      ]),
    );
    assert.equal(r.recorded, 3);
    assert.deepEqual(events(r.batch).map((e) => e.path), ["/", "/other", "/other"]);
  });
});

Deno.test("counter: a referrer from the page's own host is no referrer", () => {
  withCounter((c) => {
    const r = run(
      c,
      chunk([
        view({ referer: "https://www.Blog.example.com/x" }),
        view({ referer: "https://news.example/a?b" }),
      ]),
    );
    assert.deepEqual(events(r.batch).map((e) => e.referrer), ["", "news.example"]);
  });
});

Deno.test("counter: the daily cap counts events over it without storing them, across chunks", () => {
  withCounter((c, storage) => {
    const first = run(c, chunk([view(), view(), view()], { dailyCap: 2 }));
    assert.deepEqual([first.recorded, first.overCap], [2, 1]);
    assert.deepEqual(first.batch.quota, [{ app: "blog", day: DAY, stored: 2, overflow: 1 }]);
    storage.analytics.ingestPacked(first.batch);
    const second = run(c, chunk([view(), view({ app: "shop" })], { dailyCap: 2 }));
    assert.deepEqual([second.recorded, second.overCap], [1, 1]);
    assert.deepEqual(events(second.batch).map((e) => e.app), ["shop"]);
    // A new counter (the writer thread restarted) reads the day's counts back.
    const again = new AnalyticsCounter(storage);
    storage.analytics.ingestPacked(second.batch);
    assert.equal(run(again, chunk([view()], { dailyCap: 2 })).recorded, 0);
  });
});

Deno.test("counter: 404s have a daily cap of their own and never use up the app's", () => {
  withCounter((c, storage) => {
    const missing = (n: number) =>
      Array.from({ length: n }, (_, i) => view({ kind: CAPTURED.notFound, path: `/wp-${i}.php` }));
    // A bot-like walk of missing pages, past the cap, before any real view.
    const walk = run(c, chunk(missing(5), { dailyCap: 2 }));
    assert.deepEqual([walk.recorded, walk.overCap], [2, 3]);
    assert.deepEqual(events(walk.batch).map((e) => e.name), [NOT_FOUND, NOT_FOUND]);
    assert.deepEqual(walk.batch.quota, [
      { app: notFoundQuota("blog"), day: DAY, stored: 2, overflow: 3 },
    ]);
    storage.analytics.ingestPacked(walk.batch);
    assert.deepEqual(storage.analytics.quota("blog", DAY), { stored: 0, overflow: 0 });
    // The app's page views are all under its cap still.
    const views = run(
      c,
      chunk([view({ path: "/a" }), view({ path: "/b" }), ...missing(1)], {
        dailyCap: 2,
      }),
    );
    assert.deepEqual([views.recorded, views.overCap], [2, 1]);
    assert.deepEqual(events(views.batch).map((e) => [e.name, e.path]), [
      ["pageview", "/a"],
      ["pageview", "/b"],
    ]);
    storage.analytics.ingestPacked(views.batch);
    assert.deepEqual(storage.analytics.quota("blog", DAY), { stored: 2, overflow: 0 });
    // A restarted writer reads both counts back: the next of each is over.
    const again = new AnalyticsCounter(storage);
    const more = run(again, chunk([view(), ...missing(1)], { dailyCap: 2 }));
    assert.deepEqual([more.recorded, more.overCap], [0, 2]);
    storage.analytics.ingestPacked(more.batch);
    assert.equal(storage.analytics.notStored("blog", DAY, DAY + DAY_MS), 6, "views and 404s");
  });
});

Deno.test("counter: visitors are hashed per app, address, agent and day", () => {
  withCounter((c) => {
    const visitorOf = (v: View, over: Partial<Captured> = {}) =>
      events(run(c, chunk([view(v)], over)).batch)[0].visitor;
    const base = visitorOf({});
    assert.equal(visitorOf({}), base);
    assert.notEqual(visitorOf({ peer: "203.0.113.8" }), base);
    assert.notEqual(visitorOf({ app: "shop" }), base);
    assert.notEqual(visitorOf({ ua: FIREFOX.replace("125", "126") }), base);
    // Behind a trusted proxy on loopback, the address the proxy added decides.
    const proxied = { peer: "127.0.0.1", forwarded: "198.51.100.1, 203.0.113.7" };
    assert.equal(visitorOf(proxied, { trustProxy: true }), base);
    assert.notEqual(visitorOf(proxied), base, "without trust_proxy the proxy is the client");
    // A new day, a new salt: the same visitor cannot be followed across days.
    const next = { at: DAY + DAY_MS + 1000 };
    assert.notEqual(visitorOf(next, { day: DAY + DAY_MS, salt: "salt-2" }), base);
    assert.ok(!base.includes("203.0.113.7"));
  });
});

Deno.test("counter: chunks add up in one batch until it is taken", () => {
  withCounter((c) => {
    c.count(chunk([view({ path: "/a" })], { write: false }));
    c.count(chunk([view({ path: "/b" }), view({ ua: BOT })], { write: false }));
    const r = c.take();
    assert.equal(r.recorded, 2);
    assert.deepEqual(events(r.batch).map((e) => e.path), ["/a", "/b"]);
    assert.deepEqual(r.batch.quota, [{ app: "blog", day: DAY, stored: 2, overflow: 0 }]);
    const empty = c.take();
    assert.equal(empty.recorded, 0);
    assert.equal(empty.batch.events.length, 0);
  });
});

Deno.test("counter: a record that does not split into its fields is skipped, not the chunk", () => {
  withCounter((c) => {
    const broken = view({ path: "/a\0b" });
    const r = run(c, chunk([view({ path: "/x" }), broken, view({ path: "/y" })]));
    assert.equal(r.recorded, 2);
    assert.deepEqual(events(r.batch).map((e) => e.path), ["/x", "/y"]);
  });
});

Deno.test("clientAddress: the peer, or behind a trusted loopback proxy the last forwarded entry", () => {
  assert.equal(clientAddress("::ffff:203.0.113.7", null, false), "203.0.113.7");
  assert.equal(clientAddress("", null, false), "unknown");
  assert.equal(clientAddress("127.0.0.1", "198.51.100.1, 203.0.113.9 ", true), "203.0.113.9");
  assert.equal(clientAddress("::1", "203.0.113.9", true), "203.0.113.9");
  assert.equal(clientAddress("127.0.0.1", "203.0.113.9", false), "127.0.0.1");
  assert.equal(clientAddress("203.0.113.7", "198.51.100.1", true), "203.0.113.7", "not a proxy");
  assert.equal(clientAddress("127.0.0.1", " , ", true), "127.0.0.1");
});
