import assert from "node:assert/strict";
import { analyticsEvent, EVENT_T0 } from "../tests/analytics_event.ts";
import { readRollups, recount } from "../tests/analytics_recount.ts";
import { copyRows } from "../tests/copy_rows.ts";
import {
  type AnalyticsEvent,
  AnalyticsStore,
  DAY_MS,
  HOUR_MS,
  MAX_TOP_VALUES,
  migrate,
  openDatabase,
  OTHER,
  packEvents,
  WEEK_MS,
} from "./mod.ts";

const T0 = EVENT_T0;
const event = analyticsEvent;

function setup() {
  const db = openDatabase(":memory:");
  return { db, store: new AnalyticsStore(db) };
}

Deno.test("analytics store: rollups equal a recount of the raw events, batch after batch", () => {
  const { db, store } = setup();
  const paths = ["/", "/a", "/b"];
  let n = 0;
  for (let batch = 0; batch < 5; batch++) {
    const events: AnalyticsEvent[] = [];
    for (let i = 0; i < 200; i++, n++) {
      events.push(event({
        at: T0 + n * 7 * 60_000, // spans several hours and a day boundary
        app: n % 5 === 0 ? "shop" : "blog",
        name: n % 7 === 0 ? "signup" : "pageview",
        source: n % 3 === 0 ? "track" : "server",
        path: paths[n % 3],
        referrer: n % 4 === 0 ? "news.example" : "",
        browser: n % 2 ? "Chrome" : "Firefox",
        visitor: `v${n % 13}`,
        tags: n % 6 === 0 ? ["a", "b"] : null,
      }));
    }
    store.ingest(events);
  }
  assert.deepEqual(readRollups(db), recount(db));
  assert.equal(
    db.get<{ n: number }>("SELECT COALESCE(SUM(count), 0) AS n FROM analytics_raw")!.n,
    1000,
  );
  assert.equal(store.events(null, 0, T0 + 30 * DAY_MS).length, 1000);
  // The same visitor in two batches of one hour is one visitor.
  const fresh = setup();
  fresh.store.ingest([event({ visitor: "x" })]);
  fresh.store.ingest([event({ visitor: "x", at: T0 + 60_000 })]);
  fresh.store.ingest([event({ visitor: "x", at: T0 + HOUR_MS })]);
  const rows = fresh.store.counts("blog", "hour", T0, T0 + DAY_MS);
  assert.deepEqual(rows.map((r) => [r.views, r.visitors]), [[2, 1], [1, 1]]);
  assert.deepEqual(fresh.store.counts("blog", "day", T0, T0 + DAY_MS)[0].visitors, 1);
  // A new store over the same file (a restart) still knows who was counted.
  const again = new AnalyticsStore(fresh.db);
  again.ingest([event({ visitor: "x", at: T0 + 2 * 60_000 })]);
  assert.equal(again.counts("blog", "day", T0, T0 + DAY_MS)[0].visitors, 1);
  assert.deepEqual(readRollups(fresh.db), recount(fresh.db));
  db.close();
  fresh.db.close();
});

Deno.test("analytics store: totals, top lists over spans, value series, all apps", () => {
  const { db, store } = setup();
  store.ingest([
    event({ path: "/a" }),
    event({ path: "/a", visitor: "v2", at: T0 + HOUR_MS }),
    event({ path: "/b", at: T0 + DAY_MS + 5 }),
    event({ app: "shop", path: "/cart" }),
    event({ name: "signup", props: '{"plan":"pro"}', at: T0 + 10 }),
  ]);
  const day = { grain: "day" as const, from: T0, to: T0 + 2 * DAY_MS };
  assert.deepEqual(store.totals("blog", [day]), { views: 3, visitors: 3, events: 1 });
  assert.deepEqual(store.totals(null, [day]), { views: 4, visitors: 4, events: 1 });
  const firstHours = { grain: "hour" as const, from: T0 + HOUR_MS, to: T0 + DAY_MS };
  assert.deepEqual(store.top("blog", "path", [firstHours], 10), [{ value: "/a", count: 1 }]);
  assert.deepEqual(store.top("blog", "path", [day], 10), [
    { value: "/a", count: 2 },
    { value: "/b", count: 1 },
  ]);
  assert.deepEqual(store.top(null, "path", [day], 1), [{ value: "/a", count: 2 }]);
  assert.deepEqual(store.top("blog", "event", [day], 10), [{ value: "signup", count: 1 }]);
  assert.deepEqual(store.valueSeries("blog", "event", "signup", "hour", T0, T0 + DAY_MS), [
    { bucket: T0, count: 1 },
  ]);
  const recent = store.recentEvents("blog", "signup", 10);
  assert.equal(recent.length, 1);
  assert.equal(recent[0].props, '{"plan":"pro"}');
  assert.equal(recent[0].at, T0 + 10);
  assert.deepEqual(store.apps().map((a) => a.app), ["blog", "shop"]);
  db.close();
});

Deno.test("analytics store: each bucket keeps at most MAX_TOP_VALUES named values", () => {
  const { db, store } = setup();
  const events = Array.from(
    { length: MAX_TOP_VALUES + 50 },
    (_, i) => event({ path: `/p${i}`, at: T0 + i }),
  );
  store.ingest(events.slice(0, 600));
  store.ingest(events.slice(600));
  store.ingest([event({ path: "/p1", at: T0 + 5 }), event({ path: "/new", at: T0 + 6 })]);
  const top = store.top("blog", "path", [{ grain: "day", from: T0, to: T0 + DAY_MS }], 5000);
  assert.equal(top.length, MAX_TOP_VALUES + 1);
  assert.deepEqual(top.find((t) => t.value === OTHER), { value: OTHER, count: 51 });
  assert.deepEqual(top.find((t) => t.value === "/p1"), { value: "/p1", count: 2 });
  db.close();
});

Deno.test("analytics store: one salt a day; other days' salts are deleted", () => {
  const { db, store } = setup();
  let made = 0;
  const make = () => `salt-${++made}`;
  assert.equal(store.salt(T0, make), "salt-1");
  assert.equal(store.salt(T0, make), "salt-1", "the same day keeps its salt");
  assert.equal(store.salt(T0 + DAY_MS, make), "salt-2");
  const rows = db.all<{ day: number; salt: string }>("SELECT day, salt FROM analytics_salts");
  assert.deepEqual(rows.map((r) => [r.day, r.salt]), [[T0 + DAY_MS, "salt-2"]]);
  db.close();
});

Deno.test("analytics store: prune removes old raw events in steps and keeps rollups", () => {
  const { db, store } = setup();
  for (let b = 0; b < 3; b++) {
    store.ingest(
      Array.from({ length: 10 }, (_, i) => event({ at: T0 + b * 10 + i, visitor: `v${i}` })),
    );
  }
  // A batch that straddles the cut is kept until its newest event is old.
  store.ingest([event({ at: T0 + DAY_MS - 1 }), event({ at: T0 + DAY_MS + 1 })]);
  store.ingest([event({ at: T0 + 3 * DAY_MS })]);
  const rollups = readRollups(db);
  assert.equal(store.prune(T0 + DAY_MS, 2), 20, "two batches a step");
  assert.equal(store.prune(T0 + DAY_MS, 2), 10);
  assert.equal(store.prune(T0 + DAY_MS, 2), 0);
  assert.equal(
    db.get<{ n: number }>("SELECT COALESCE(SUM(count), 0) AS n FROM analytics_raw")!.n,
    3,
  );
  assert.equal(store.prune(T0 + 2 * DAY_MS, 2), 2);
  const visitors = () => db.get<{ n: number }>("SELECT COUNT(*) AS n FROM analytics_visitors")!.n;
  const before = visitors();
  // The visitor rows of old days go in steps too.
  assert.equal(store.pruneVisitors(T0 + 3 * DAY_MS, 2), 2);
  assert.equal(visitors(), before - 2);
  while (store.pruneVisitors(T0 + 3 * DAY_MS, 2) > 0);
  assert.equal(visitors(), 1, "the newest day's visitor is kept");
  assert.deepEqual(readRollups(db), rollups, "rollups are kept");
  assert.equal(store.totals("blog", [{ grain: "day", from: T0, to: T0 + 4 * DAY_MS }]).views, 33);
  db.close();
});

Deno.test("analytics store: realtime is each recent visitor's last page", () => {
  const { db, store } = setup();
  store.ingest([
    event({ visitor: "a", path: "/one", at: T0 }),
    event({ visitor: "a", path: "/two", at: T0 + 1000 }),
    event({ visitor: "b", path: "/two", at: T0 + 2000 }),
    event({ visitor: "c", path: "/old", at: T0 - 10 * 60_000 }),
    event({ visitor: "d", path: "/x", app: "shop", at: T0 }),
    event({ visitor: "e", name: "signup", at: T0 }),
  ]);
  assert.deepEqual(store.realtime("blog", T0 - 5 * 60_000), {
    visitors: 2,
    pages: [{ value: "/two", count: 2 }],
  });
  assert.equal(store.realtime(null, T0 - 5 * 60_000).visitors, 3);
  db.close();
});

Deno.test("analytics store: a failed batch writes nothing and leaves counts right", () => {
  const { db, store } = setup();
  store.ingest([event({ visitor: "a" })]);
  assert.throws(() => store.ingest([event({ visitor: "b" }), event({ app: null as never })]));
  assert.equal(
    db.get<{ n: number }>("SELECT COALESCE(SUM(count), 0) AS n FROM analytics_raw")!.n,
    1,
  );
  store.ingest([event({ visitor: "b" })]);
  assert.equal(store.counts("blog", "day", T0, T0 + DAY_MS)[0].visitors, 2);
  assert.deepEqual(readRollups(db), recount(db));
  db.close();
});

Deno.test("analytics store: daily counts of stored and over-cap events, per app and day", () => {
  const { store } = setup();
  const D2 = T0 + DAY_MS;
  store.ingestPacked({
    ...packEvents([event(), event({ at: T0 + 1 })]),
    quota: [{ app: "blog", day: T0, stored: 2, overflow: 0 }],
  });
  // A batch of nothing but counts: events over the cap are never stored.
  store.ingestPacked({
    strings: [],
    events: new Float64Array(),
    quota: [
      { app: "blog", day: T0, stored: 0, overflow: 5 },
      { app: "*", day: T0, stored: 0, overflow: 1 },
      { app: "blog", day: D2, stored: 0, overflow: 7 },
    ],
  });
  assert.deepEqual(store.quota("blog", T0), { stored: 2, overflow: 5 });
  assert.deepEqual(store.quota("shop", T0), { stored: 0, overflow: 0 });
  assert.equal(store.events(null, 0, 1e13).length, 2);
  assert.equal(store.notStored("blog", T0, T0 + HOUR_MS), 5, "the whole day of a range's hours");
  assert.equal(store.notStored("blog", T0 + 5 * HOUR_MS, D2 + DAY_MS), 12);
  assert.equal(store.notStored(null, T0, D2), 6, "every app and *");
  assert.equal(store.notStored("shop", T0, D2 + DAY_MS), 0);
});

/** A database at schema 6 holding what that schema's program stored for `events` (no '' rows). */
function schema6With(events: AnalyticsEvent[]) {
  const fresh = setup();
  fresh.store.ingest(events);
  const db = openDatabase(":memory:", { migrateTo: 6 });
  copyRows(
    fresh.db,
    db,
    ["analytics_raw", "analytics_counts", "analytics_top", "analytics_visitors"],
    (row) => row.app !== "",
  );
  fresh.db.close();
  return db;
}

Deno.test("analytics store: migration 8 starts each day's stored count from its rollups", () => {
  const db = schema6With([event(), event({ app: "shop" }), event({ name: "signup" })]);
  migrate(db);
  assert.deepEqual(new AnalyticsStore(db).quota("blog", T0), { stored: 2, overflow: 0 });
  assert.deepEqual(new AnalyticsStore(db).quota("shop", T0), { stored: 1, overflow: 0 });
  db.close();
});

Deno.test("analytics store: migration 8 adds every app's days under '' from the apps' days", () => {
  const events = [];
  for (let i = 0; i < 60; i++) {
    events.push(event({
      at: T0 + i * 5 * HOUR_MS,
      app: i % 3 ? "blog" : "shop",
      path: `/p${i % 4}`,
      visitor: `v${i % 7}`,
      name: i % 5 ? "pageview" : "signup",
    }));
  }
  const db = schema6With(events);
  assert.equal(
    db.get<{ n: number }>("SELECT COUNT(*) AS n FROM analytics_counts WHERE app = ''")!.n,
    0,
  );
  migrate(db);
  assert.deepEqual(readRollups(db), recount(db));
  db.close();
});

Deno.test("analytics store: ended weeks are rolled up, and long ranges read them alike", () => {
  const { db, store } = setup();
  const W0 = T0 - (T0 % WEEK_MS); // a week's start (weeks count from the epoch)
  const events = [];
  for (let i = 0; i < 400; i++) {
    events.push(event({
      at: W0 + 2 * DAY_MS + i * HOUR_MS, // over 17 days, into a third week
      app: i % 4 ? "blog" : "shop",
      path: `/p${(i * 7) % 13}`,
      referrer: i % 3 ? "" : `r${i % 5}.example`,
      visitor: `v${i % 11}`,
      name: i % 9 ? "pageview" : "signup",
      tags: i % 10 ? null : ["t"],
    }));
  }
  store.ingest(events.slice(0, 200));
  store.ingest(events.slice(200));
  const range = [{ grain: "day" as const, from: W0, to: W0 + 4 * WEEK_MS }];
  const allTime = [{ grain: "day" as const, from: 0, to: 8.64e15 }];
  const before = {
    blog: store.top("blog", "path", range, 100),
    all: store.top(null, "path", range, 100),
    referrers: store.top(null, "referrer", allTime, 100),
    tags: store.top("blog", "tag", allTime, 100),
  };
  const now = W0 + 2 * WEEK_MS + 3 * DAY_MS; // the first two weeks have ended
  // In steps: at most two apps' weeks a call (every app's last), until none is left.
  const rows = () => db.get<{ n: number }>("SELECT COUNT(*) AS n FROM analytics_week_counts")!.n;
  let calls = 0;
  for (let more = true; more; calls++) {
    const n = rows();
    more = store.rollWeeks(now, 1);
    assert.ok(rows() - n <= 2, "two apps' weeks a call at most");
  }
  assert.equal(calls, 4, "two weeks of blog, shop and every app, two a call");
  assert.equal(store.rollWeeks(now), false, "nothing left, nothing done again");
  const weekRows = db.get<{ n: number }>(
    "SELECT COUNT(*) AS n FROM analytics_week_counts",
  )!.n;
  assert.equal(weekRows, 6, "two weeks, each for blog, shop and every app");
  assert.deepEqual(store.top("blog", "path", range, 100), before.blog);
  assert.deepEqual(store.top(null, "path", range, 100), before.all);
  assert.deepEqual(store.top(null, "referrer", allTime, 100), before.referrers);
  assert.deepEqual(store.top("blog", "tag", allTime, 100), before.tags);
  assert.deepEqual(readRollups(db), recount(db));
  // An event that arrives late for a rolled-up week counts in that week too.
  store.ingest([event({ at: W0 + 17 * DAY_MS, path: "/late" })]);
  while (store.rollWeeks(W0 + 10 * WEEK_MS)); // weeks without events are marked, empty
  store.ingest([event({ at: W0 + 5 * WEEK_MS, path: "/later" })]);
  assert.deepEqual(readRollups(db), recount(db));
  assert.deepEqual(
    store.top("blog", "path", [{ grain: "day", from: W0, to: W0 + 10 * WEEK_MS }], 1000)
      .filter((t) => t.value.startsWith("/la")),
    [{ value: "/late", count: 1 }, { value: "/later", count: 1 }],
  );
  db.close();
});

Deno.test("analytics store: a rolled-up week keeps at most MAX_TOP_VALUES named values", () => {
  const { db, store } = setup();
  const W0 = T0 - (T0 % WEEK_MS);
  // 800 values on each of two days, 300 of them on both: 1,300 in the week.
  const day = (d: number, from: number) =>
    Array.from(
      { length: 800 },
      (_, i) => event({ at: W0 + d * DAY_MS + i, path: `/p${from + i}`, visitor: `v${i % 50}` }),
    );
  store.ingest(day(0, 0));
  store.ingest(day(1, 500));
  store.rollWeeks(W0 + WEEK_MS);
  const week = [{ grain: "week" as const, from: W0, to: W0 + WEEK_MS }];
  const top = store.top("blog", "path", week, 5000);
  assert.equal(top.length, MAX_TOP_VALUES + 1);
  assert.equal(top.reduce((n, t) => n + t.count, 0), 1600, "nothing lost: the rest is (other)");
  assert.equal(
    top.filter((t) => t.count === 2).length,
    300,
    "the values seen on both days are kept first",
  );
  assert.deepEqual(top.find((t) => t.value === OTHER), { value: OTHER, count: 300 });
  db.close();
});

Deno.test("analytics store: top values by app over every app are each app's top lists merged", () => {
  const { db, store } = setup();
  store.ingest([
    event({ path: "/a" }),
    event({ path: "/a", visitor: "v2", at: T0 + HOUR_MS }),
    event({ app: "shop", path: "/cart" }),
    event({ app: "shop", path: "/a", at: T0 + DAY_MS }),
  ]);
  const spans = [
    { grain: "day" as const, from: T0, to: T0 + DAY_MS },
    { grain: "hour" as const, from: T0 + DAY_MS, to: T0 + DAY_MS + HOUR_MS },
  ];
  assert.deepEqual(store.topByApp(null, "path", spans, 10), [
    { app: "blog", value: "/a", count: 2 },
    { app: "shop", value: "/a", count: 1 },
    { app: "shop", value: "/cart", count: 1 },
  ]);
  assert.deepEqual(store.topByApp("shop", "path", spans, 10), [
    { app: "shop", value: "/a", count: 1 },
    { app: "shop", value: "/cart", count: 1 },
  ]);
  // The first two overall: a tie on count goes by app, then value.
  assert.deepEqual(store.topByApp(null, "path", spans, 2), [
    { app: "blog", value: "/a", count: 2 },
    { app: "shop", value: "/a", count: 1 },
  ]);
  db.close();
});
