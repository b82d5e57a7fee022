/**
 * The dashboard's operations pages in Chromium: the overview's request rate
 * left alone by the dashboard itself; env variables removed with
 * confirmation; peers added and removed; the apps list searched and sorted;
 * the log filtered and downloaded; files by folder with downloads. Each new
 * state is checked with axe-core (no serious or critical violation).
 */
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import axe from "axe-core";
import type { Page } from "playwright-core";
import { makeZip, type TestNode } from "./helpers.ts";
import { hostFetch } from "./http_client.ts";
import { waitFor } from "./deadline.ts";
import {
  browserTest,
  heading,
  holds,
  noHorizontalScroll,
  shot,
  signedIn,
} from "./browser_helpers.ts";

const AXE_SOURCE = (axe as unknown as { source: string }).source;

/** Fails on any serious or critical axe-core violation on the page as it is now. */
async function axeClean(page: Page, what: string): Promise<void> {
  if (!await page.evaluate<boolean>("typeof window.axe === 'object'")) {
    await page.evaluate(AXE_SOURCE);
  }
  const found = await page.evaluate<{ id: string; impact: string; targets: string[] }[]>(
    `axe.run(document, { resultTypes: ["violations"] }).then((r) => r.violations
      .filter((v) => v.impact === "serious" || v.impact === "critical")
      .map((v) => ({ id: v.id, impact: v.impact, targets: v.nodes.slice(0, 3).map((n) => n.target.join(" ")) })))`,
  );
  assert.deepEqual(found, [], `${what}: ${JSON.stringify(found)}`);
}

const envNames = (node: TestNode) =>
  node.storage.env.list(node.storage.apps.get("shop")!.id).map((e) => e.name).sort();

async function requestsCounted(node: TestNode): Promise<number> {
  const res = await node.fetch("/api/system/requests", { token: node.tokens.read });
  const body = (await res.json()).data;
  return body.this_minute + body.per_minute.reduce((n: number, m: { n: number }) => n + m.n, 0);
}

async function visit(node: TestNode, app: string, times: number): Promise<void> {
  for (let i = 0; i < times; i++) {
    const res = await hostFetch(node.base + "/", {
      host: `${app}.localhost:${node.server.port}`,
      headers: {
        "user-agent": "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0",
        accept: "text/html",
      },
    });
    await res.body?.cancel();
  }
}

browserTest(
  "overview: loading it again and again leaves requests per minute alone",
  async (node, browser) => {
    await node.deploy("site", await makeZip({ "index.html": "x" }));
    const { ctx, page, admin } = await signedIn(node, browser);
    try {
      await visit(node, "site", 4);
      const before = await requestsCounted(node);
      for (let i = 0; i < 6; i++) {
        await page.goto(admin + "/");
        await heading(page, "Overview");
        await page.getByText("Requests / min").waitFor();
        await page.getByRole("button", { name: "Refresh" }).click();
        await page.getByText("Requests / min").waitFor();
      }
      // Only the look above and this one: none of the dashboard's loads and calls.
      assert.equal(await requestsCounted(node), before + 1);
      // What the page shows is that traffic: the visits and the deploy, not its own calls.
      await page.reload();
      const stat = page.locator(".stat").filter({ hasText: "Requests / min" });
      await stat.waitFor();
      const text = (await stat.textContent()) ?? "";
      const [last, soFar] = [/Requests \/ min\s*([\d,]+)/, /([\d,]+) so far this one/].map((r) =>
        Number(r.exec(text)?.[1]?.replace(/,/g, ""))
      );
      assert.ok(last + soFar <= before + 2, `${text}: at most the real traffic (${before + 2})`);
    } finally {
      await ctx.close();
    }
  },
);

browserTest(
  "env: Remove names its variable and asks first; focus stays on the form",
  async (node, browser) => {
    await node.deploy("shop", await makeZip({ "index.html": "x" }));
    const put = await node.fetch("/api/apps/shop/env", {
      method: "PUT",
      body: JSON.stringify({ API_KEY: "a", DB_URL: "b" }),
    });
    assert.equal(put.status, 200);
    await put.body?.cancel();
    const { ctx, page, admin } = await signedIn(node, browser);
    try {
      await page.goto(admin + "/apps/shop?tab=server");
      await page.getByRole("button", { name: "Remove API_KEY" }).waitFor();
      await page.getByRole("button", { name: "Remove DB_URL" }).click();
      const dialog = page.getByRole("dialog", { name: "Remove DB_URL?" });
      await dialog.waitFor();
      await axeClean(page, "env remove dialog");
      // Cancelled: nothing changes.
      await dialog.getByRole("button", { name: "Cancel" }).click();
      await dialog.waitFor({ state: "detached" });
      assert.deepEqual(envNames(node), ["API_KEY", "DB_URL"]);
      await page.getByRole("button", { name: "Remove DB_URL" }).click();
      await dialog.getByRole("button", { name: "Remove variable" }).click();
      await page.getByRole("button", { name: "Remove DB_URL" }).waitFor({ state: "detached" });
      assert.deepEqual(envNames(node), ["API_KEY"]);
      await holds(page, "document.activeElement?.getAttribute('aria-label') === 'Variable name'");
    } finally {
      await ctx.close();
    }
  },
);

browserTest(
  "peers: added from the form, listed, removed with confirmation",
  async (node, browser) => {
    const { ctx, page, admin } = await signedIn(node, browser, { width: 390, height: 844 });
    try {
      await page.goto(admin + "/peers");
      await heading(page, "Peers");
      await page.getByText("No peers").waitFor();
      await page.getByLabel("Name").fill("backup-node");
      // Nothing listens on port 1: checked first, the peer is refused.
      await page.getByLabel("Address").fill("http://127.0.0.1:1");
      await page.getByLabel("API token of that node").fill("fazt_1_secret");
      await page.getByRole("button", { name: "Add peer" }).click();
      await page.getByRole("alert").filter({ hasText: "cannot reach" }).waitFor();
      assert.equal(node.storage.peers.get("backup-node"), undefined, "nothing saved");
      // Saved unchecked, it is listed as unreachable.
      await page.getByLabel("Check that the node answers").uncheck();
      await page.getByRole("button", { name: "Add peer" }).click();
      await page.getByText("backup-node", { exact: true }).waitFor();
      await page.getByText("unreachable").waitFor();
      assert.equal(node.storage.peers.get("backup-node")?.token, "fazt_1_secret");
      assert.equal(await page.getByText("fazt_1_secret").count(), 0, "the token is not shown");
      // A second peer of that name is refused, and the refusal stays on screen.
      await page.getByLabel("Name").fill("backup-node");
      await page.getByLabel("Address").fill("http://127.0.0.1:2");
      await page.getByLabel("API token of that node").fill("other");
      await page.getByRole("button", { name: "Add peer" }).click();
      await page.getByRole("alert").filter({ hasText: "exists" }).waitFor();
      await noHorizontalScroll(page, "peers");
      await axeClean(page, "peers with a peer");
      await shot(page, "phone-peers-added");

      await page.getByRole("button", { name: "Remove backup-node" }).click();
      await page.getByRole("dialog", { name: "Remove peer backup-node?" }).getByRole("button", {
        name: "Remove peer",
      }).click();
      await page.getByText("No peers").waitFor();
      assert.equal(node.storage.peers.get("backup-node"), undefined);
      await holds(page, "document.activeElement?.id === 'page-title'");
    } finally {
      await ctx.close();
    }
  },
);

browserTest(
  "apps list: search, sort by traffic, views and drafts waiting",
  async (node, browser) => {
    for (const name of ["alpha", "beta", "gamma-blog"]) {
      await node.deploy(name, await makeZip({ "index.html": name }));
    }
    await node.deploy("beta", await makeZip({ "index.html": "beta 2" }), "&draft=1");
    await visit(node, "gamma-blog", 3);
    await visit(node, "alpha", 1);
    node.server.context.analytics.flush();
    // The analytics writer (a thread) stores them: wait until the list has them.
    await waitFor(async () => {
      const res = await node.fetch("/api/apps", { token: node.tokens.read });
      const apps = (await res.json()).data as { name: string; views_7d: number }[];
      return apps.find((a) => a.name === "gamma-blog")?.views_7d === 3;
    }, "the views to be written");
    const { ctx, page, admin } = await signedIn(node, browser);
    try {
      await page.goto(admin + "/apps");
      await heading(page, "Apps");
      const names = () =>
        page.locator("table.apps-table tbody tr td:first-child a").allTextContents();
      await page.getByText("3 apps").waitFor();
      const beta = page.locator("tr").filter({ hasText: "beta" });
      await beta.getByText("1 draft waiting").waitFor();
      await page.getByLabel("Sort by").selectOption("traffic");
      await page.locator("tr").filter({ hasText: "gamma-blog" }).getByText("3 views").waitFor();
      assert.deepEqual(await names(), ["gamma-blog", "alpha", "beta"]);
      await page.getByLabel("Search apps").fill("ALP");
      await page.getByText("1 of 3 apps").waitFor();
      assert.deepEqual(await names(), ["alpha"]);
      await page.getByLabel("Search apps").fill("nothing-like-it");
      await page.getByText("No app matches").waitFor();
      await page.getByLabel("Search apps").fill("");
      await axeClean(page, "apps list");
    } finally {
      await ctx.close();
    }
  },
);

browserTest(
  "logs: level filter, search, dates and a download of what is shown",
  async (node, browser) => {
    await node.deploy("shop", await makeZip({ "index.html": "x" }));
    const id = node.storage.apps.get("shop")!.id;
    node.storage.logs.append(id, "info", "started on port 8000");
    node.storage.logs.append(id, "warn", "slow query: 900 ms");
    node.storage.logs.append(id, "error", "database unreachable");
    node.storage.logs.append(id, "debug", "cache miss /about");
    const { ctx, page, admin } = await signedIn(node, browser);
    try {
      await page.goto(admin + "/apps/shop?tab=logs");
      await page.getByText("database unreachable").waitFor();
      await page.getByText("4 lines", { exact: false }).waitFor();
      // Each line has its date, not only a time.
      const stamp = await page.locator(".log-line time").first().getAttribute("datetime");
      assert.match(stamp ?? "", /^\d{4}-\d\d-\d\dT/);
      await page.getByLabel("Level").selectOption("warn");
      await page.getByText("2 of 4 lines").waitFor();
      assert.equal(await page.getByText("started on port 8000").count(), 0);
      await page.getByLabel("Search the log").fill("slow");
      await page.getByText("1 of 4 lines").waitFor();
      const [download] = await Promise.all([
        page.waitForEvent("download"),
        page.getByRole("button", { name: "Download" }).click(),
      ]);
      assert.equal(download.suggestedFilename(), "shop-log.txt");
      const path = await download.path();
      const text = await Deno.readTextFile(path!);
      assert.match(text, /^\d{4}-\d\d-\d\dT[\d:.]+Z WARN slow query: 900 ms\n$/);
      await axeClean(page, "filtered log");
      // Live lines still arrive, through the filter.
      node.storage.logs.append(id, "error", "slow disk");
      await page.getByText("slow disk").waitFor();
    } finally {
      await ctx.close();
    }
  },
);

browserTest(
  "files: folders with a path back up, and a download for each file",
  async (node, browser) => {
    await node.deploy(
      "shop",
      await makeZip({
        "index.html": "<h1>home</h1>",
        "assets/app.css": "body{}",
        "assets/img/logo.svg": "<svg xmlns='http://www.w3.org/2000/svg'/>",
        "docs/guide.txt": "read me",
      }),
    );
    const { ctx, page, admin } = await signedIn(node, browser, { width: 390, height: 844 });
    try {
      await page.goto(admin + "/apps/shop?tab=files");
      const files = page.locator("ul.files");
      await files.getByRole("button", { name: /^index\.html/ }).waitFor();
      // The root lists its folders and its own files only.
      await files.getByRole("button", { name: /^folder assets\/ 2 files/ }).waitFor();
      assert.equal(await files.getByRole("button", { name: /^app\.css/ }).count(), 0);
      await files.getByRole("button", { name: /^folder assets\// }).click();
      await files.getByRole("button", { name: /^app\.css/ }).waitFor();
      await files.getByRole("button", { name: /^folder img\// }).click();
      await files.getByRole("button", { name: /^logo\.svg/ }).waitFor();
      const crumbs = page.getByRole("navigation", { name: "Folder" });
      await crumbs.getByText("img", { exact: true }).waitFor();
      await noHorizontalScroll(page, "files in a folder");
      await axeClean(page, "files in a folder");
      await crumbs.getByRole("button", { name: "assets" }).click();
      await files.getByRole("button", { name: /^app\.css/ }).waitFor();
      const [download] = await Promise.all([
        page.waitForEvent("download"),
        files.getByRole("button", { name: "Download assets/app.css" }).click(),
      ]);
      assert.equal(download.suggestedFilename(), "app.css");
      assert.equal(await Deno.readTextFile((await download.path())!), "body{}");
      // Back to every file; a filter searches all folders.
      await crumbs.getByRole("button", { name: "All files" }).click();
      await page.getByLabel("Filter paths").fill("guide");
      await files.getByRole("button", { name: /^docs\/guide\.txt/ }).waitFor();
    } finally {
      await ctx.close();
    }
  },
);

browserTest(
  "deploy: after a new version goes up, focus is on its row, not <body>",
  async (node, browser) => {
    await node.deploy("shop", await makeZip({ "index.html": "v1" }));
    const { ctx, page, admin } = await signedIn(node, browser);
    try {
      await page.goto(admin + "/apps/shop");
      await page.locator("#version-1").waitFor();
      await page.getByTestId("zip-input").setInputFiles({
        name: "shop.zip",
        mimeType: "application/zip",
        buffer: Buffer.from(await makeZip({ "index.html": "v2" })),
      });
      await page.getByRole("button", { name: "Deploy", exact: true }).focus();
      await page.keyboard.press("Enter");
      await page.getByText("Deployed shop v2").waitFor();
      await holds(page, "document.activeElement?.id === 'version-2'");
      assert.equal(node.storage.apps.get("shop")!.live_version, 2);
    } finally {
      await ctx.close();
    }
  },
);
