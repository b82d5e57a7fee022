/**
 * The dashboard as an operations console: settings with labels, units and a
 * pending-restart marker; errors that stay until dismissed; the analytics
 * range in the URL.
 */
import assert from "node:assert/strict";
import { makeZip } from "./helpers.ts";
import { browserTest, heading, holds, shot, signedIn } from "./browser_helpers.ts";

browserTest(
  "settings: labels, units, switches, and what waits for a restart",
  async (node, browser) => {
    const { ctx, page, admin } = await signedIn(node, browser);
    try {
      await page.goto(admin + "/settings");
      await heading(page, "Settings");
      const row = (label: string) =>
        page.locator("li.setting").filter({ has: page.getByText(label, { exact: true }) });
      // Sizes in binary units, durations in seconds, switches on/off; the key beside each.
      await row("Upload size").getByText("100 MiB", { exact: true }).waitFor();
      await row("Upload size").locator("code", { hasText: "max_upload_bytes" }).waitFor();
      await row("Request time limit").getByText("10 s", { exact: true }).waitFor();
      await row("Count visits").getByText("on", { exact: true }).waitFor();
      assert.equal(await page.getByText("pending restart").count(), 0);
      // The test node's port comes from its command line, not the database.
      await row("HTTP port").getByText("set by a flag").waitFor();
      await row("HTTP port").getByText(/this run uses [\d,]+ \(a command-line flag\)/).waitFor();

      // A change is saved, marked as pending, and focus returns to its Change button.
      await page.getByRole("button", { name: "Change Versions kept per app" }).click();
      await page.getByRole("spinbutton", { name: "Versions kept per app" }).fill("25");
      await page.getByRole("button", { name: "Save" }).click();
      await row("Versions kept per app").getByText("pending restart").waitFor();
      await row("Versions kept per app").getByText("this run uses 10 until the node restarts")
        .waitFor();
      assert.equal(node.storage.settings.load().max_versions, 25);
      await holds(
        page,
        "document.activeElement?.getAttribute('aria-label') === 'Change Versions kept per app'",
      );

      // A switch is a choice, not a number: flipped and saved with one press.
      await page.getByRole("switch", { name: "Count visits", checked: true }).click();
      await row("Count visits").getByText("pending restart").waitFor();
      await page.getByRole("switch", { name: "Count visits", checked: false }).waitFor();
      assert.equal(node.storage.settings.load().analytics_enabled, 0);
      await shot(page, "settings-pending");

      // A refused value is explained, and nothing is stored.
      const before = node.storage.settings.load().backup_interval;
      await page.getByRole("button", { name: "Change Backup every" }).click();
      await page.getByRole("textbox", { name: "Backup every" }).fill("whenever");
      await page.getByRole("button", { name: "Save" }).click();
      await row("Backup every").getByRole("alert").waitFor();
      assert.equal(node.storage.settings.load().backup_interval, before);
    } finally {
      await ctx.close();
    }
  },
);

browserTest("an error stays on screen until dismissed; a success fades", async (node, browser) => {
  await node.deploy("site", await makeZip({ "index.html": "v1" }));
  const { ctx, page, admin } = await signedIn(node, browser);
  try {
    const added = await node.fetch("/api/apps/site/domains", {
      method: "POST",
      body: JSON.stringify({ name: "x.example" }),
    });
    assert.equal(added.status, 201, await added.text());
    // Timers under the test's control, from before the page runs any.
    await page.clock.install();
    // Removing the domain fails on the node's side.
    await page.route("**/api/apps/site/domains/*", (route) =>
      route.fulfill({
        status: 500,
        contentType: "application/json",
        body: JSON.stringify({ error: { code: "INTERNAL_ERROR", message: "the disk is full" } }),
      }));
    await page.goto(admin + "/apps/site?tab=domains");
    await page.getByRole("button", { name: "Remove x.example" }).click();
    const alert = page.getByRole("alert").filter({ hasText: "the disk is full" });
    await alert.waitFor();
    // Still there long after a success note would have faded.
    await page.clock.runFor(10_000);
    assert.equal(await alert.isVisible(), true);
    await alert.getByRole("button", { name: "Dismiss" }).click();
    await alert.waitFor({ state: "detached" });
  } finally {
    await ctx.close();
  }
});

browserTest("the analytics range is kept in the URL", async (node, browser) => {
  await node.deploy("site", await makeZip({ "index.html": "v1" }));
  const { ctx, page, admin } = await signedIn(node, browser);
  try {
    await page.goto(admin + "/analytics");
    await heading(page, "Analytics");
    await page.getByRole("radio", { name: /24h/ }).click();
    await page.waitForURL(/\/analytics\?range=24h$/);
    await page.getByRole("combobox", { name: "App" }).selectOption("site");
    await page.waitForURL(/\/analytics\?range=24h&app=site$/);
    // A reload (or a shared link) opens the same view.
    await page.reload();
    await page.getByRole("radio", { name: /24h/, checked: true }).waitFor();
    assert.equal(await page.getByRole("combobox", { name: "App" }).inputValue(), "site");
    await page.goto(admin + "/apps/site?tab=analytics&range=30d");
    await page.getByRole("radio", { name: /30d/, checked: true }).waitFor();
    await page.getByRole("radio", { name: /90d/ }).click();
    await page.waitForURL(/\/apps\/site\?tab=analytics&range=90d$/);
  } finally {
    await ctx.close();
  }
});

browserTest(
  "the overview's cards load on their own; errors are counted by the node",
  async (node, browser) => {
    await node.deploy("site", await makeZip({ "index.html": "v1" }));
    node.storage.logs.append(node.storage.apps.get("site")!.id, "error", "boom");
    const { ctx, page, admin } = await signedIn(node, browser);
    try {
      // The request-rate call never answers: the rest of the page does not wait for it.
      await page.route("**/api/system/requests", () => {});
      const logReads: string[] = [];
      page.on("request", (r) => {
        if (/\/logs(\?|$)/.test(new URL(r.url()).pathname + new URL(r.url()).search)) {
          logReads.push(r.url());
        }
      });
      await page.goto(admin + "/");
      await heading(page, "Overview");
      await page.getByText("App 'site' logged 1 error in the last hour.").waitFor();
      await page.getByRole("link", { name: "site" }).first().waitFor();
      await page.getByText("Uptime").waitFor();
      assert.equal(await page.getByText("Requests / min").count(), 0, "still loading");
      assert.deepEqual(logReads, [], "no log lines are fetched to count errors");
    } finally {
      await ctx.close();
    }
  },
);

browserTest(
  "storage: 1,000 documents as a table, sorted, searched, opened beside the list",
  async (node, browser) => {
    await node.deploy("shop", await makeZip({ "index.html": "shop" }));
    const id = node.storage.apps.get("shop")!.id;
    node.storage.db.transaction(() => {
      for (let i = 1; i <= 1000; i++) {
        node.storage.docs.insert(id, "orders", {
          id: `order${i}`,
          total: (i * 37) % 1000,
          status: i % 3 === 0 ? "open" : "paid",
          customer: { name: `Customer ${i}` },
        });
      }
    });
    const { ctx, page, admin } = await signedIn(node, browser);
    try {
      await page.goto(admin + "/storage?app=shop");
      await heading(page, "Storage");
      await page.getByRole("tab", { name: "Documents" }).click();
      const table = page.locator("table.docs-table");
      // Field columns, one page of 50 rows at a time.
      for (const column of ["id", "total", "status", "customer"]) {
        await table.getByRole("columnheader", { name: new RegExp(`^${column}`) }).waitFor();
      }
      assert.equal(await table.locator("tbody tr").count(), 50);
      // The loaded page in natural order: order11 before order100 (text order puts it after).
      const ids = await table.locator('tbody td[data-label="id"]').allTextContents();
      assert.deepEqual(ids.slice(0, 3), ["order1", "order10", "order11"]);
      const natural = new Intl.Collator(undefined, { numeric: true });
      assert.deepEqual(ids, [...ids].sort(natural.compare));
      // Sorted by a number column, descending on a second press.
      await table.getByRole("button", { name: /^total/ }).click();
      await table.getByRole("button", { name: /^total/ }).click();
      await table.getByRole("columnheader", { name: /total/ }).and(
        page.locator("[aria-sort=descending]"),
      )
        .waitFor();
      const totals = (await table.locator('tbody td[data-label="total"]').allTextContents()).map(
        Number,
      );
      assert.deepEqual(totals, [...totals].sort((a, b) => b - a));
      // Search the loaded documents, nested fields included.
      await page.getByLabel("Search the loaded documents").fill('Customer 11"');
      await holds(page, "document.querySelectorAll('table.docs-table tbody tr').length === 1");
      // Opened by keyboard beside the list, closed with Escape back to its row.
      await page.getByRole("button", { name: "View order11" }).focus();
      await page.keyboard.press("Enter");
      const panel = page.getByRole("complementary", { name: "Document order11" });
      await panel.locator("pre.code").filter({ hasText: '"name": "Customer 11"' }).waitFor();
      const [tableBox, panelBox] = [await table.boundingBox(), await panel.boundingBox()];
      assert.ok(panelBox!.x >= tableBox!.x + tableBox!.width - 1, "the panel is beside the table");
      await shot(page, "storage-docs-panel");
      await page.keyboard.press("Escape");
      await panel.waitFor({ state: "detached" });
      await holds(page, "document.activeElement?.getAttribute('aria-label') === 'View order11'");
      // More pages load on demand; the page keeps answering.
      await page.getByLabel("Search the loaded documents").fill("");
      await page.getByRole("button", { name: /Load more/ }).click();
      await table.locator("tbody tr").nth(99).waitFor();
    } finally {
      await ctx.close();
    }
  },
);

browserTest(
  "a KV value opens beside its row, in view, even below 60 rows",
  async (node, browser) => {
    await node.deploy("shop", await makeZip({ "index.html": "shop" }));
    const id = node.storage.apps.get("shop")!.id;
    for (let i = 1; i <= 60; i++) {
      node.storage.kv.set(id, `key${String(i).padStart(2, "0")}`, {
        i,
      });
    }
    const { ctx, page, admin } = await signedIn(node, browser, { width: 390, height: 844 });
    try {
      await page.goto(admin + "/storage?app=shop");
      await heading(page, "Storage");
      const last = page.getByRole("button", { name: "key50", exact: true });
      await last.scrollIntoViewIfNeeded();
      await last.click();
      const panel = page.getByRole("complementary", { name: "Value of key50" });
      await panel.locator("pre.code").filter({ hasText: '"i": 50' }).waitFor();
      // In the viewport where the owner is looking, not at the end of the list.
      const box = (await panel.boundingBox())!;
      assert.ok(box.y >= 0 && box.y + box.height <= 844 + 1, JSON.stringify(box));
      await page.keyboard.press("Escape");
      await panel.waitFor({ state: "detached" });
      await holds(page, "document.activeElement?.textContent === 'key50'");
    } finally {
      await ctx.close();
    }
  },
);

browserTest(
  "focus comes back after the token dialog and a confirmed revoke",
  async (node, browser) => {
    const { ctx, page, admin } = await signedIn(node, browser);
    try {
      await page.goto(admin + "/tokens");
      await heading(page, "API tokens");
      await page.getByLabel("Name").fill("ci");
      await page.getByRole("button", { name: "Create token" }).click();
      await page.getByTestId("new-token").waitFor();
      await page.getByRole("button", { name: "Done" }).click();
      await page.getByTestId("new-token").waitFor({ state: "detached" });
      await holds(page, "document.activeElement && document.activeElement !== document.body");
      // A revoked token's row is gone: focus goes to the page's heading, not to <body>.
      await page.getByRole("button", { name: "Revoke ci" }).click();
      await page.getByRole("dialog").getByRole("button", { name: "Revoke token" }).click();
      await page.getByRole("dialog").waitFor({ state: "detached" });
      await holds(page, "document.activeElement?.id === 'page-title'");
    } finally {
      await ctx.close();
    }
  },
);
