/**
 * The dashboard's charts: Y labels never cut, a legend with values before
 * any hover, and the numbers as a table for screen readers (and everyone).
 */
import assert from "node:assert/strict";
import { makeZip } from "./helpers.ts";
import {
  browserTest,
  heading,
  holds,
  noHorizontalScroll,
  seriousAxeViolations,
  shot,
  signedIn,
} from "./browser_helpers.ts";

const DAY = 86_400_000;

/** A week of stats with views up to 4,000: the widest Y label is "4,000". */
function stats(to: number) {
  const from = to - 7 * DAY;
  const series = Array.from({ length: 7 }, (_, i) => ({
    t: from + i * DAY,
    views: [120, 4000, 2500, 0, 3100, 980, 1500][i],
    visitors: [40, 900, 700, 0, 800, 300, 410][i],
    events: 0,
  }));
  const views = series.reduce((n, p) => n + p.views, 0);
  return {
    app: null,
    from,
    to,
    interval: "day",
    totals: { views, visitors: 2_345, events: 0 },
    series,
    top: { paths: [], referrers: [], browsers: [], oses: [], devices: [], events: [], sources: [] },
    by_app: { paths: [], not_found: [] },
    not_stored: 0,
  };
}

for (const [width, height] of [[1440, 900], [390, 844]]) {
  browserTest(
    `charts (${width}px): "4,000" fully shown, a legend with totals, the numbers in a table`,
    async (node, browser) => {
      await node.deploy("site", await makeZip({ "index.html": "v1" }));
      const { ctx, page, admin } = await signedIn(node, browser, { width, height });
      try {
        await page.route(/\/api\/stats\?/, (route) =>
          route.fulfill({
            contentType: "application/json",
            body: JSON.stringify({ data: stats(Date.now()) }),
          }));
        await page.goto(admin + "/analytics");
        await heading(page, "Analytics");
        await page.locator(".uplot canvas").first().waitFor();

        // Every Y label is whole and inside the chart's box, left of the plot.
        const label = page.locator(".y-label", { hasText: /^4,000$/ });
        await label.waitFor();
        const box = (await page.locator(".chart-box").boundingBox())!;
        const plot = (await page.locator(".chart .u-over").boundingBox())!;
        for (const l of await page.locator(".y-label").all()) {
          const b = (await l.boundingBox())!;
          const text = await l.textContent();
          assert.ok(b.x >= box.x, `${text} starts at ${b.x}, left of the chart at ${box.x}`);
          assert.ok(b.x + b.width <= plot.x, `${text} runs into the plot`);
          assert.ok(b.y >= box.y - 8 && b.y + b.height <= box.y + box.height + 8, `${text}`);
          const [scroll, client] = await l.evaluate((e) => [e.scrollWidth, e.clientWidth]);
          assert.ok(scroll <= client, `${text} is clipped`);
        }
        await noHorizontalScroll(page, `analytics at ${width}px`);

        // The legend has values without a hover: the range's totals.
        await page.getByTestId("legend-views").filter({ hasText: "12,200" }).waitFor();
        await page.getByTestId("legend-visitors").filter({ hasText: "2,345" }).waitFor();
        if (width > 640) {
          // Hovering the second day shows its values instead.
          const x = plot.x + plot.width / 6;
          await page.mouse.move(x, plot.y + plot.height / 2);
          await page.getByTestId("legend-views").filter({ hasText: /^4,000$/ }).waitFor();
          await page.mouse.move(0, 0);
          await page.getByTestId("legend-views").filter({ hasText: "12,200" }).waitFor();
        }

        // The numbers as a table, reached by keyboard.
        const table = page.getByRole("table", { name: /Views and visitors/ });
        assert.equal(await table.isVisible(), false);
        await page.getByText("Show the numbers").focus();
        await page.keyboard.press("Enter");
        await table.waitFor();
        assert.equal(await table.locator("tbody tr").count(), 7);
        const second = await table.locator("tbody tr").nth(1).locator("td").allTextContents();
        assert.deepEqual(second, ["4,000", "900"]);
        await holds(page, "document.activeElement?.tagName === 'SUMMARY'");
        await shot(page, `chart-${width}`);
        for (const colorScheme of ["light", "dark"] as const) {
          await page.emulateMedia({ colorScheme });
          assert.deepEqual(await seriousAxeViolations(page), [], colorScheme);
        }
      } finally {
        await ctx.close();
      }
    },
  );
}
