/**
 * Top lists read from each bucket's first values answer exactly as adding up
 * every row does (a limit of 200 or more always adds up every row).
 */
import assert from "node:assert/strict";
import { analyticsEvent as event } from "../tests/analytics_event.ts";
import {
  type AnalyticsEvent,
  AnalyticsStore,
  DAY_MS,
  type Dimension,
  HOUR_MS,
  openDatabase,
  type Span,
} from "./mod.ts";

const JAN = Date.UTC(2026, 0, 1);

/** A small seeded generator (mulberry32), so a failure can be replayed. */
function prng(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** 75 days of two apps: skewed paths, flat referrers, many tags, a few browsers. */
function traffic(seed: number): AnalyticsEvent[] {
  const r = prng(seed);
  const events: AnalyticsEvent[] = [];
  // Values whose order differs between UTF-16 units and code points.
  const odd = ["/\u{1F600}", "/\uE000", "/\uFFFD", "/z"];
  for (let i = 0; i < 12_000; i++) {
    events.push(event({
      at: JAN + Math.floor(i * (75 * DAY_MS) / 12_000),
      app: r() < 0.2 ? "shop" : "blog",
      path: r() < 0.05 ? odd[i % 4] : `/p${Math.floor(r() * r() * r() * 300)}`,
      referrer: r() < 0.5 ? "" : `r${Math.floor(r() * 40)}.example`,
      browser: ["Firefox", "Chrome", "Safari"][Math.floor(r() * 3)],
      visitor: `v${Math.floor(r() * 500)}`,
      tags: r() < 0.3 ? [`t${Math.floor(r() * 90)}`] : null,
    }));
  }
  return events;
}

Deno.test("top lists: each bucket's first values give the answer of every row", () => {
  for (const seed of [1, 2, 3]) {
    const db = openDatabase(":memory:");
    const store = new AnalyticsStore(db);
    store.ingest(traffic(seed));
    const now = JAN + 75 * DAY_MS;
    while (store.rollWeeks(now));
    while (store.rollMonths(now));
    const ranges: Span[][] = [
      [{ grain: "day", from: JAN + 3 * DAY_MS, to: JAN + 70 * DAY_MS }],
      [
        { grain: "hour", from: JAN + 9 * DAY_MS + 5 * HOUR_MS, to: JAN + 10 * DAY_MS },
        { grain: "day", from: JAN + 10 * DAY_MS, to: JAN + 60 * DAY_MS },
        { grain: "hour", from: JAN + 60 * DAY_MS, to: JAN + 60 * DAY_MS + 7 * HOUR_MS },
      ],
      [{ grain: "day", from: 0, to: 8.64e15 }],
    ];
    const dims: Dimension[] = ["path", "referrer", "tag", "browser"];
    for (const spans of ranges) {
      for (const app of ["blog", "shop", null]) {
        for (const dim of dims) {
          const every = store.top(app, dim, spans, 500);
          for (const limit of [1, 3, 10, 40]) {
            assert.deepEqual(
              store.top(app, dim, spans, limit),
              every.slice(0, limit),
              `seed ${seed}, ${app} ${dim} top ${limit} of ${JSON.stringify(spans)}`,
            );
          }
        }
      }
    }
    db.close();
  }
});

Deno.test("top lists: values about as frequent as each other still answer exactly", () => {
  const db = openDatabase(":memory:");
  const store = new AnalyticsStore(db);
  // 60 paths, each once a day for 20 days: no few values decide the first ten.
  const events = [];
  for (let d = 0; d < 20; d++) {
    for (let p = 0; p < 60; p++) {
      events.push(event({ at: JAN + d * DAY_MS + p * 1000, path: `/p${(p * 7 + d) % 60}` }));
    }
  }
  events.push(event({ at: JAN + 19 * DAY_MS + 70_000, path: "/p42" }));
  store.ingest(events);
  const spans: Span[] = [{ grain: "day", from: JAN, to: JAN + 20 * DAY_MS }];
  const top = store.top("blog", "path", spans, 10);
  assert.deepEqual(top[0], { value: "/p42", count: 21 });
  assert.deepEqual(top, store.top("blog", "path", spans, 500).slice(0, 10));
  db.close();
});

Deno.test("top lists: a value just past every bucket's first ones is still found", () => {
  const db = openDatabase(":memory:");
  const store = new AnalyticsStore(db);
  // Each day: 25 paths of its own 10 times each, and /x 9 times (26th of
  // the day), yet /x is the most frequent of the five days.
  const events = [];
  for (let d = 0; d < 5; d++) {
    let at = JAN + d * DAY_MS;
    for (let p = 0; p < 25; p++) {
      for (let n = 0; n < 10; n++) events.push(event({ at: at++, path: `/d${d}-${p}` }));
    }
    for (let n = 0; n < 9; n++) events.push(event({ at: at++, path: "/x" }));
  }
  store.ingest(events);
  const spans: Span[] = [{ grain: "day", from: JAN, to: JAN + 5 * DAY_MS }];
  assert.deepEqual(store.top("blog", "path", spans, 1), [{ value: "/x", count: 45 }]);
  assert.deepEqual(
    store.top(null, "path", spans, 3),
    store.top(null, "path", spans, 500).slice(0, 3),
  );
  db.close();
});

Deno.test("top lists: ties go by value in SQLite's order (code points, not UTF-16 units)", () => {
  const db = openDatabase(":memory:");
  const store = new AnalyticsStore(db);
  store.ingest([
    event({ path: "/\u{1F600}", at: JAN }),
    event({ path: "/\uE000", at: JAN + 1 }),
    event({ path: "/a", at: JAN + DAY_MS }),
  ]);
  const spans: Span[] = [{ grain: "day", from: JAN, to: JAN + 2 * DAY_MS }];
  const expected = [
    { value: "/a", count: 1 },
    { value: "/\uE000", count: 1 },
    { value: "/\u{1F600}", count: 1 },
  ];
  assert.deepEqual(store.top("blog", "path", spans, 10), expected);
  assert.deepEqual(store.top("blog", "path", spans, 500), expected);
  db.close();
});
