/**
 * Monthly rollups: written as each calendar month ends, filled by the
 * migration from the days a database already has, and read by long ranges
 * with the same answers as the days alone.
 */
import assert from "node:assert/strict";
import { analyticsEvent as event } from "../tests/analytics_event.ts";
import { readRollups, recount } from "../tests/analytics_recount.ts";
import { copyRows } from "../tests/copy_rows.ts";
import {
  type AnalyticsEvent,
  AnalyticsStore,
  DAY_MS,
  HOUR_MS,
  MAX_TOP_VALUES,
  migrate,
  monthAfter,
  monthStart,
  openDatabase,
  OTHER,
  type Span,
} from "./mod.ts";

const DEC = Date.UTC(2025, 11, 1);
const JAN = Date.UTC(2026, 0, 1);
const FEB = Date.UTC(2026, 1, 1);
const MAR = Date.UTC(2026, 2, 1);

function setup() {
  const db = openDatabase(":memory:");
  return { db, store: new AnalyticsStore(db) };
}

/** Two apps' visits every 5 hours from mid-November to late March, across a new year. */
function traffic(): AnalyticsEvent[] {
  const events: AnalyticsEvent[] = [];
  const start = Date.UTC(2025, 10, 20, 3);
  for (let i = 0; start + i * 5 * HOUR_MS < Date.UTC(2026, 2, 25); i++) {
    events.push(event({
      at: start + i * 5 * HOUR_MS,
      app: i % 4 ? "blog" : "shop",
      path: `/p${(i * 7) % 23}`,
      referrer: i % 3 ? "" : `r${i % 5}.example`,
      visitor: `v${i % 11}`,
      name: i % 9 ? "pageview" : "signup",
      tags: i % 10 ? null : ["t"],
    }));
  }
  return events;
}

/** What the stats of `spans` read: totals, top lists of each app and every app. */
function answers(store: AnalyticsStore, spans: Span[]) {
  return {
    totals: [store.totals("blog", spans), store.totals(null, spans)],
    blog: store.top("blog", "path", spans, 100),
    all: store.top(null, "path", spans, 100),
    allFirst: store.top(null, "path", spans, 3),
    referrers: store.top(null, "referrer", spans, 100),
    tags: store.top("shop", "tag", spans, 100),
    events: store.top(null, "event", spans, 100),
    byApp: store.topByApp(null, "path", spans, 20),
  };
}

/** Mid-December (from 13:00) to mid-March (until 07:00): hours, days, weeks and months. */
const ACROSS: Span[] = [
  { grain: "hour", from: Date.UTC(2025, 11, 9, 13), to: Date.UTC(2025, 11, 10) },
  { grain: "day", from: Date.UTC(2025, 11, 10), to: Date.UTC(2026, 2, 15) },
  { grain: "hour", from: Date.UTC(2026, 2, 15), to: Date.UTC(2026, 2, 15, 7) },
];
const ALL_TIME: Span[] = [{ grain: "day", from: 0, to: 8.64e15 }];

Deno.test("months: a month's rollups are written once it ends, for each app and every app", () => {
  const { db, store } = setup();
  store.ingest(traffic());
  const spans = [ACROSS, ALL_TIME, [{ grain: "day" as const, from: JAN, to: FEB }]];
  const before = spans.map((s) => answers(store, s));
  const now = Date.UTC(2026, 2, 20); // December, January and February have ended
  // In steps: at most two apps' months a call, until none is left.
  const rows = () => db.get<{ n: number }>("SELECT COUNT(*) AS n FROM analytics_month_counts")!.n;
  let calls = 0;
  for (let more = true; more; calls++) {
    const n = rows();
    more = store.rollMonths(now, 2);
    assert.ok(rows() - n <= 2, "two apps' months a call at most");
  }
  assert.ok(calls > 2, `${calls} calls`);
  assert.equal(store.rollMonths(now), false, "nothing left, nothing done again");
  while (store.rollWeeks(now));
  const months = db.all<{ app: string; bucket: number }>(
    "SELECT app, bucket FROM analytics_month_counts ORDER BY bucket, app",
  ).map((r) => `${r.app}@${new Date(r.bucket).toISOString().slice(0, 7)}`);
  assert.deepEqual(months, [
    "@2025-11",
    "blog@2025-11",
    "shop@2025-11",
    "@2025-12",
    "blog@2025-12",
    "shop@2025-12",
    "@2026-01",
    "blog@2026-01",
    "shop@2026-01",
    "@2026-02",
    "blog@2026-02",
    "shop@2026-02",
  ]);
  assert.deepEqual(readRollups(db), recount(db));
  assert.deepEqual(spans.map((s) => answers(store, s)), before);
  // The whole months are read from their rows: without January's days of
  // every app, the answers over every app stay the same.
  db.run(
    "DELETE FROM analytics_top WHERE app = '' AND grain = 'day' AND bucket >= ? AND bucket < ?",
    JAN,
    FEB,
  );
  assert.deepEqual(store.top(null, "path", ACROSS, 100), before[0].all);
  db.close();
});

Deno.test("months: upkeep rolls a month as the first event of the next one is stored", () => {
  const { db, store } = setup();
  store.ingest([event({ at: Date.UTC(2025, 11, 31, 23, 59) })]);
  assert.equal(store.rollMonths(), false);
  assert.equal(db.get<{ n: number }>("SELECT COUNT(*) AS n FROM analytics_month_counts")!.n, 0);
  store.ingest([event({ at: JAN, path: "/new-year" })]);
  assert.equal(store.rollMonths(), false);
  assert.deepEqual(
    db.all<{ app: string; views: number }>(
      "SELECT app, views FROM analytics_month_counts WHERE bucket = ? ORDER BY app",
      DEC,
    ).map((r) => ({ ...r })),
    [{ app: "", views: 1 }, { app: "blog", views: 1 }],
  );
  // Months rolled ahead of the events (a clock ahead of them; February is
  // marked, empty): an event that then arrives in January counts in it too.
  while (store.rollMonths(MAR));
  store.ingest([event({ at: Date.UTC(2026, 0, 20), path: "/late", app: "shop" })]);
  assert.deepEqual(readRollups(db), recount(db));
  assert.deepEqual(
    store.top(null, "path", [{ grain: "month", from: JAN, to: MAR }], 10),
    [{ value: "/late", count: 1 }, { value: "/new-year", count: 1 }],
  );
  db.close();
});

Deno.test("months: month boundaries are calendar months in UTC, across years", () => {
  assert.equal(monthStart(Date.UTC(2025, 11, 31, 23, 59, 59, 999)), DEC);
  assert.equal(monthStart(JAN), JAN);
  assert.equal(monthAfter(DEC), JAN);
  assert.equal(monthAfter(Date.UTC(2024, 1, 29, 12)), Date.UTC(2024, 2, 1), "a leap February");
  assert.equal(monthAfter(FEB) - FEB, 28 * DAY_MS);
  assert.equal(monthAfter(MAR) - MAR, 31 * DAY_MS);
});

Deno.test("months: a rolled-up month keeps at most MAX_TOP_VALUES named values", () => {
  const { db, store } = setup();
  // 800 values on each of two days, 300 of them on both: 1,300 in the month.
  const day = (d: number, from: number) =>
    Array.from(
      { length: 800 },
      (_, i) => event({ at: JAN + d * DAY_MS + i, path: `/p${from + i}`, visitor: `v${i % 50}` }),
    );
  store.ingest(day(3, 0));
  store.ingest(day(20, 500));
  store.rollMonths(FEB);
  const top = store.top("blog", "path", [{ grain: "month", from: JAN, to: FEB }], 5000);
  assert.equal(top.length, MAX_TOP_VALUES + 1);
  assert.equal(top.reduce((n, t) => n + t.count, 0), 1600, "nothing lost: the rest is (other)");
  assert.equal(top.filter((t) => t.count === 2).length, 300, "values of both days kept first");
  assert.deepEqual(top.find((t) => t.value === OTHER), { value: OTHER, count: 300 });
  db.close();
});

/** A database as fazt left it before monthly rollups (schema 14), with `events` and their weeks. */
function schema14With(events: AnalyticsEvent[], now: number) {
  const fresh = setup();
  fresh.store.ingest(events);
  while (fresh.store.rollWeeks(now));
  const db = openDatabase(":memory:", { migrateTo: 14 });
  const tables = [
    "analytics_raw",
    "analytics_counts",
    "analytics_top",
    "analytics_visitors",
    "analytics_week_counts",
    "analytics_week_top",
    "analytics_quota",
  ];
  copyRows(fresh.db, db, tables);
  fresh.db.close();
  return db;
}

Deno.test("months: the migration fills every ended month from the days, as upkeep would", () => {
  const events = traffic();
  // January also gets 1,100 paths on one day and 300 on another: the cap bites.
  for (let i = 0; i < 1100; i++) events.push(event({ at: JAN + 5 * DAY_MS + i, path: `/x${i}` }));
  for (let i = 0; i < 300; i++) events.push(event({ at: JAN + 9 * DAY_MS + i, path: `/x${i}` }));
  events.sort((a, b) => a.at - b.at);
  const newest = events.at(-1)!.at;
  const db = schema14With(events, newest);
  migrate(db);
  const upkept = setup();
  upkept.store.ingest(events);
  while (upkept.store.rollWeeks(newest));
  while (upkept.store.rollMonths(newest));
  assert.deepEqual(readRollups(db), readRollups(upkept.db));
  assert.equal(
    db.get<{ n: number }>("SELECT COUNT(*) AS n FROM analytics_month_counts WHERE app = ''")!.n,
    4,
    "November to February; March is not over",
  );
  const store = new AnalyticsStore(db);
  assert.deepEqual(store.rollMonths(), false, "the migration left no ended month to roll");
  const jan = store.top("blog", "path", [{ grain: "month", from: JAN, to: FEB }], 5000);
  assert.equal(jan.filter((t) => t.value !== OTHER).length, MAX_TOP_VALUES);
  assert.deepEqual(answers(store, ACROSS), answers(upkept.store, ACROSS));
  db.close();
  upkept.db.close();
});

Deno.test("months: a late event for an app whose month is rolled, while the month is still being rolled, counts in it", () => {
  const { db, store } = setup();
  store.ingest([
    event({ at: Date.UTC(2025, 11, 5), app: "blog" }),
    event({ at: Date.UTC(2025, 11, 6), app: "shop" }),
    event({ at: Date.UTC(2025, 11, 7), app: "wiki" }),
  ]);
  // Rolled with a clock ahead of the events (late events arrive only
  // then): two apps' Decembers a call, blog and shop now, wiki and every
  // app's next.
  assert.equal(store.rollMonths(FEB), true);
  const rolled = () =>
    db.all<{ app: string }>(
      "SELECT app FROM analytics_month_counts WHERE bucket = ? ORDER BY app",
      DEC,
    ).map((r) => r.app);
  assert.deepEqual(rolled(), ["blog", "shop"]);
  store.ingest([event({ at: Date.UTC(2025, 11, 20), app: "blog", path: "/late" })]);
  while (store.rollMonths(FEB));
  assert.deepEqual(rolled(), ["", "blog", "shop", "wiki"]);
  assert.deepEqual(readRollups(db), recount(db));
  assert.deepEqual(
    store.top("blog", "path", [{ grain: "month", from: DEC, to: JAN }], 10)
      .find((t) => t.value === "/late"),
    { value: "/late", count: 1 },
  );
  db.close();
});
