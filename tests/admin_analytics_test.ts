/**
 * The Analytics page: every app without merging their paths, the 404s
 * report, events with their properties, a custom range kept in the URL,
 * and an export of what is shown.
 */
import assert from "node:assert/strict";
import type { Page } from "playwright-core";
import { makeZip, type TestNode } from "./helpers.ts";
import {
  browserTest,
  heading,
  noHorizontalScroll,
  seriousAxeViolations,
  shot,
  signedIn,
} from "./browser_helpers.ts";

const FIREFOX = "Mozilla/5.0 (X11; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0";

/** Two apps with a page each at `/`, a broken link each, and a tracked event with properties. */
async function traffic(node: TestNode): Promise<void> {
  await node.deploy("blog", await makeZip({ "index.html": "<h1>blog</h1>" }));
  await node.deploy("shop", await makeZip({ "index.html": "<h1>shop</h1>" }));
  const hit = async (app: string, path: string, init: RequestInit = {}) => {
    const res = await node.fetch(path, {
      ...init,
      host: `${app}.localhost`,
      token: null,
      headers: { "user-agent": FIREFOX, ...(init.headers ?? {}) },
    });
    await res.body?.cancel();
    return res.status;
  };
  assert.equal(await hit("blog", "/"), 200);
  assert.equal(await hit("blog", "/"), 200);
  assert.equal(await hit("shop", "/"), 200);
  assert.equal(await hit("blog", "/old-post"), 404);
  assert.equal(await hit("shop", "/cart/old"), 404);
  assert.equal(
    await hit("shop", "/_fazt/track", {
      method: "POST",
      body: JSON.stringify({ name: "signup", path: "/", props: { plan: "pro", seats: 3 } }),
    }),
    204,
  );
}

async function downloaded(page: Page, click: () => Promise<void>) {
  const [download] = await Promise.all([page.waitForEvent("download"), click()]);
  return {
    name: download.suggestedFilename(),
    text: await Deno.readTextFile(await download.path()),
  };
}

browserTest(
  "analytics: apps kept apart, 404s, events with properties, a custom range, exports",
  async (node, browser) => {
    await traffic(node);
    const { ctx, page, admin } = await signedIn(node, browser);
    try {
      await page.goto(admin + "/analytics");
      await heading(page, "Analytics");
      const card = (title: string) =>
        page.locator(".card").filter({ has: page.getByRole("heading", { name: title }) });

      // "/" of blog and "/" of shop are two rows, each with its app.
      const pages = card("Top pages").locator("ol.bars li");
      await pages.nth(1).waitFor();
      const shown = (await pages.allInnerTexts()).map((t) => t.replace(/\s+/g, " "));
      assert.deepEqual(shown, ["blog / 2", "shop / 1"]);
      // The 404s report.
      const missing = card("Not found (404)").locator("ol.bars li");
      await missing.nth(1).waitFor();
      const notFound = (await missing.allInnerTexts()).map((t) => t.replace(/\s+/g, " "));
      assert.deepEqual(notFound, ["blog /old-post 1", "shop /cart/old 1"]);
      // The recent events, with their properties.
      const recent = card("Recent events");
      await recent.getByRole("cell", { name: "signup" }).waitFor();
      await recent.getByText("plan: pro").waitFor();
      await recent.getByText("seats: 3").waitFor();
      await shot(page, "analytics-all-apps");

      // A custom range: in the URL, kept by a reload.
      await page.getByRole("radio", { name: "Custom" }).click();
      const today = new Date().toISOString().slice(0, 10);
      const weekAgo = new Date(Date.now() - 6 * 86_400_000).toISOString().slice(0, 10);
      await page.getByLabel("From").fill(weekAgo);
      await page.getByLabel("To (included)").fill(today);
      await page.getByRole("button", { name: "Apply" }).click();
      await page.waitForURL(new RegExp(`range=custom&from=${weekAgo}&to=${today}`));
      await page.getByText(/^Views, /).waitFor();
      await page.reload();
      await heading(page, "Analytics");
      await page.getByRole("radio", { name: "Custom", checked: true }).waitFor();
      assert.equal(await page.getByLabel("From").inputValue(), weekAgo);
      await pages.nth(1).waitFor();
      // A range backwards is refused on the page.
      await page.getByLabel("From").fill(today);
      await page.getByLabel("To (included)").fill(weekAgo);
      await page.getByRole("button", { name: "Apply" }).click();
      await page.getByRole("alert").filter({ hasText: "must not be after" }).waitFor();
      assert.match(page.url(), new RegExp(`from=${weekAgo}`));

      // Export what is shown.
      const json = await downloaded(
        page,
        () => page.getByRole("button", { name: "Export JSON" }).click(),
      );
      assert.equal(json.name, `analytics-all-apps-${weekAgo}-${today}.json`);
      const data = JSON.parse(json.text)[0];
      assert.deepEqual(data.top_pages, [
        { app: "blog", value: "/", count: 2 },
        { app: "shop", value: "/", count: 1 },
      ]);
      assert.equal(data.not_found.length, 2);
      assert.deepEqual(data.recent_events[0].props, { plan: "pro", seats: 3 });
      assert.equal(data.series.length, 7);
      const csv = await downloaded(
        page,
        () => page.getByRole("button", { name: "Export CSV" }).click(),
      );
      const lines = csv.text.trimEnd().split("\r\n");
      assert.equal(lines[0], "section,app,value,count");
      assert.ok(lines.includes("top pages,shop,/,1"), csv.text);
      assert.ok(lines.includes("not found,blog,/old-post,1"), csv.text);
      assert.ok(lines.includes("event names,,signup,1"), csv.text);

      // Back to a preset: the custom days leave the URL.
      await page.getByRole("radio", { name: /30d/ }).click();
      await page.waitForURL(/\/analytics\?range=30d$/);

      // One app: its own paths, no app tags.
      await page.getByRole("combobox", { name: "App" }).selectOption("shop");
      await page.waitForURL(/app=shop/);
      await card("Not found (404)").getByText("/cart/old").waitFor();
      assert.equal(await card("Top pages").locator(".app-tag").count(), 0);
    } finally {
      await ctx.close();
    }
  },
);

for (const [width, height] of [[1440, 900], [390, 844]]) {
  browserTest(`analytics (${width}px): axe-core clean in both themes`, async (node, browser) => {
    await traffic(node);
    const failures: string[] = [];
    for (const dark of [false, true]) {
      const { ctx, page, admin } = await signedIn(node, browser, { width, height, dark });
      try {
        await page.goto(admin + "/analytics?range=custom&from=2026-01-01&to=2026-01-02");
        await heading(page, "Analytics");
        await page.getByLabel("From").waitFor();
        await page.locator(".card").filter({ hasText: "Recent events" }).waitFor();
        await page.goto(admin + "/analytics");
        await page.getByRole("cell", { name: "signup" }).waitFor();
        await page.getByRole("radio", { name: "Custom" }).click();
        await page.getByLabel("From").waitFor();
        for (const v of await seriousAxeViolations(page)) failures.push(`${dark}: ${v}`);
        if (width < 640) {
          await noHorizontalScroll(page, `analytics ${dark}`).catch((e) =>
            failures.push(e.message)
          );
          await shot(page, `phone-${dark ? "dark" : "light"}-analytics-custom`);
        }
      } finally {
        await ctx.close();
      }
    }
    assert.deepEqual(failures, [], failures.join("\n"));
  });
}
