/**
 * The JS each dashboard page loads, measured in a browser: opened fresh (no
 * cache), every script the page fetches is counted at its gzipped size as the
 * node serves it. Each page stays within 60 KB: the bundle is split per page.
 */
import assert from "node:assert/strict";
import { gzipSync } from "node:zlib";
import { ADMIN_ASSETS } from "../admin/dist/assets.ts";
import { makeZip } from "./helpers.ts";
import { browserTest, heading, signedIn } from "./browser_helpers.ts";

const BUDGET = 60 * 1024;

const PAGES: [path: string, title: string][] = [
  ["/", "Overview"],
  ["/apps", "Apps"],
  ["/apps/site", "site"],
  ["/apps/site?tab=files", "site"],
  ["/apps/site?tab=analytics", "site"],
  ["/analytics", "Analytics"],
  ["/storage?app=site", "Storage"],
  ["/peers", "Peers"],
  ["/tokens", "API tokens"],
  ["/settings", "Settings"],
];

browserTest("each page loads at most 60 KB of JS, gzipped", async (node, browser) => {
  await node.deploy("site", await makeZip({ "index.html": "<h1>hi</h1>" }));
  const { ctx, admin } = await signedIn(node, browser);
  const session = await ctx.storageState();
  await ctx.close();
  const gzipped = new Map(
    Object.entries(ADMIN_ASSETS.js).map((
      [name, code],
    ) => [name, gzipSync(code, { level: 9 }).length]),
  );
  const report: string[] = [];
  let overview = 0;
  for (const [path, title] of PAGES) {
    // A fresh context each time: nothing comes from the cache.
    const fresh = await browser.newContext({ storageState: session });
    try {
      const page = await fresh.newPage();
      const scripts = new Set<string>();
      page.on("request", (r) => {
        if (r.resourceType() === "script") scripts.add(new URL(r.url()).pathname);
      });
      await page.goto(admin + path);
      await heading(page, title);
      await page.waitForLoadState("networkidle");
      let total = 0;
      for (const script of scripts) {
        const size = gzipped.get(script.slice(script.lastIndexOf("/") + 1));
        assert.ok(size !== undefined, `${script} is one of the bundle's files`);
        total += size;
      }
      assert.ok(scripts.size > 1, `${path}: the entry and its chunks`);
      report.push(`${path}: ${total} bytes in ${scripts.size} files`);
      assert.ok(total <= BUDGET, `${path} loads ${total} bytes of JS gzipped (budget ${BUDGET})`);
      if (path === "/") overview = total;
    } finally {
      await fresh.close();
    }
  }
  // A page loads part of the bundle, not all of it.
  const whole = [...gzipped.values()].reduce((a, b) => a + b, 0);
  assert.ok(overview < whole, report.join("\n"));
  console.log(report.join("\n"));
});
