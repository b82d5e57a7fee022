/**
 * The rollups that keep long and all-apps queries fast: every app together
 * (app '') by day, and weeks and months rolled up once they are over. Answers through
 * /api/stats are the same whichever rows are read, and every rollup equals a
 * recount of the raw events.
 */
import assert from "node:assert/strict";
import { DAY_MS, WEEK_MS } from "../storage/mod.ts";
import { readRollups, recount } from "./analytics_recount.ts";
import { makeZip, startTestNode } from "./helpers.ts";

const FIREFOX = "Mozilla/5.0 (X11; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0";
const W0 = Date.UTC(2026, 2, 5); // a Thursday: weeks count from the epoch's

// deno-lint-ignore no-explicit-any -- tests read arbitrary JSON bodies
type Json = any;

Deno.test("weeks roll up as traffic moves on; stats read them and answer the same", async () => {
  const clock = { now: W0 + 10 * 3_600_000 };
  const n = await startTestNode({
    settings: { trust_proxy: 1, analytics_retention_days: 365 }, // raw events kept to recount
    analytics: { now: () => clock.now, writer: "inline", flushIntervalMs: 3_600_000 },
  });
  try {
    for (const app of ["blog", "shop"]) {
      const files = { "index.html": `<h1>${app}</h1>`, "a.html": "a", "b.html": "b" };
      assert.equal((await n.deploy(app, await makeZip(files))).status, 201);
    }
    const api = async (path: string): Promise<Json> => {
      const res = await n.fetch(path, { token: n.tokens.read });
      const body = await res.json();
      assert.equal(res.status, 200, JSON.stringify(body));
      return body.data;
    };
    const range = `from=${W0}&to=${W0 + 5 * WEEK_MS}&interval=day&limit=50`;
    const answers = async () => ({
      blog: await api(`/api/stats?app=blog&${range}`),
      all: await api(`/api/stats?${range}`),
    });
    // Five weeks of visits, a few a day, to both apps.
    for (let day = 0; day < 5 * 7; day++) {
      for (let i = 0; i < 3; i++) {
        clock.now = W0 + day * DAY_MS + (i + 1) * 3 * 3_600_000;
        const res = await n.fetch(["/", "/a", "/b"][(day + i) % 3], {
          host: i === 2 ? "shop.localhost" : "blog.localhost",
          token: null,
          headers: { "user-agent": FIREFOX, "x-forwarded-for": `203.0.113.${(day * i) % 7}` },
        });
        await res.body?.cancel();
        assert.equal(res.status, 200);
      }
      await n.server.context.analytics.sync(); // writes, and does the upkeep due
    }
    const weeks = n.storage.db.all<{ bucket: number }>(
      "SELECT bucket FROM analytics_week_counts WHERE app = '' ORDER BY bucket",
    ).map((r) => r.bucket);
    assert.deepEqual(weeks, [W0, W0 + WEEK_MS, W0 + 2 * WEEK_MS, W0 + 3 * WEEK_MS], "ended weeks");
    const months = n.storage.db.all<{ bucket: number }>(
      "SELECT bucket FROM analytics_month_counts WHERE app = '' ORDER BY bucket",
    ).map((r) => r.bucket);
    assert.deepEqual(months, [Date.UTC(2026, 2, 1)], "March ended: April has visits");
    assert.deepEqual(readRollups(n.storage.db), recount(n.storage.db));
    const withWeeks = await answers();
    assert.equal(withWeeks.blog.totals.views, 70);
    assert.equal(withWeeks.all.totals.views, 105);
    assert.equal(withWeeks.all.series.length, 35);
    // The same answers from days alone (as before any week or month was rolled up).
    for (const grain of ["week", "month"]) {
      n.storage.db.run(`DELETE FROM analytics_${grain}_counts`);
      n.storage.db.run(`DELETE FROM analytics_${grain}_top`);
    }
    assert.deepEqual(await answers(), withWeeks);
    assert.deepEqual(withWeeks.all.top.paths.map((p: Json) => p.count).sort(), [35, 35, 35]);
  } finally {
    await n.close();
  }
});
