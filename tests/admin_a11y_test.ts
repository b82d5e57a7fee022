/**
 * Every page of the dashboard, in both themes, at a desktop (1440×900) and a
 * phone (390×844) size: axe-core finds no serious or critical violation, the
 * page never scrolls sideways on the phone, and a screenshot of each is kept
 * in tests/artifacts/screenshots/ (CI keeps the folder as its artifacts).
 */
import assert from "node:assert/strict";
import axe from "axe-core";
import type { Page } from "playwright-core";
import { makeZip, type TestNode } from "./helpers.ts";
import { hostFetch } from "./http_client.ts";
import {
  browserTest,
  heading,
  holds,
  noHorizontalScroll,
  shot,
  signedIn,
  watch,
} from "./browser_helpers.ts";

/** axe-core's own source: evaluated in the page over CDP, so the dashboard's CSP allows it. */
const AXE_SOURCE = (axe as unknown as { source: string }).source;

interface Violation {
  id: string;
  impact: string | null;
  help: string;
  nodes: { target: string[]; failureSummary?: string }[];
}

/** The serious and critical violations axe-core finds on the page as it is now. */
async function violations(page: Page): Promise<Violation[]> {
  if (!await page.evaluate<boolean>("typeof window.axe === 'object'")) {
    await page.evaluate(AXE_SOURCE);
  }
  const found = await page.evaluate<Violation[]>(
    `axe.run(document, { resultTypes: ["violations"] }).then((r) => r.violations.map((v) => ({
      id: v.id, impact: v.impact, help: v.help,
      nodes: v.nodes.slice(0, 5).map((n) => ({ target: n.target, failureSummary: n.failureSummary })),
    })))`,
  );
  return found.filter((v) => v.impact === "serious" || v.impact === "critical");
}

/** Follows an in-app link the way the dashboard does (no reload: axe-core stays loaded). */
async function go(page: Page, path: string): Promise<void> {
  await page.evaluate(
    `history.pushState(null, "", ${
      JSON.stringify(path)
    }); dispatchEvent(new PopStateEvent("popstate"))`,
  );
}

function describe(vs: Violation[]): string {
  return vs.map((v) =>
    `${v.id} (${v.impact}): ${v.help}\n` +
    v.nodes.map((n) => `    ${n.target.join(" ")}: ${n.failureSummary?.split("\n")[1] ?? ""}`)
      .join("\n")
  ).join("\n");
}

/** An app with versions, a draft, server code, logs, data and analytics; a token. */
async function seed(node: TestNode): Promise<void> {
  await node.deploy("shop", await makeZip({ "index.html": "<h1>v1</h1>", "a.css": "a{}" }));
  await node.deploy(
    "shop",
    await makeZip({
      "index.html": "<h1>v2</h1>",
      "about.html": "<h1>About</h1>",
      "api/main.ts": "export default { fetch: () => new Response('ok') };",
    }),
  );
  await node.deploy("shop", await makeZip({ "index.html": "<h1>v3</h1>" }), "&draft=1");
  await node.deploy(
    "a-rather-long-application-name-for-phones",
    await makeZip({ "index.html": "x" }),
  );
  for (const path of ["/", "/about.html", "/", "/missing"]) {
    const res = await hostFetch(node.base + path, {
      host: `shop.localhost:${node.server.port}`,
      headers: {
        "user-agent": "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0",
        accept: "text/html",
        referer: "https://news.example/",
      },
    });
    await res.body?.cancel();
  }
  const id = node.storage.apps.get("shop")!.id;
  node.storage.kv.set(id, "greeting", { text: "hello" });
  node.storage.kv.set(id, "visits", 42);
  node.storage.docs.insert(id, "posts", { id: "p1", title: "First", status: "open" });
  node.storage.logs.append(id, "error", "database unreachable (test line)");
  node.storage.logs.append(id, "info", "started");
  const env = await node.fetch("/api/apps/shop/env", {
    method: "PUT",
    body: JSON.stringify({ API_KEY: "secret" }),
  });
  assert.equal(env.status, 200);
  await env.body?.cancel();
}

/** Each page: its path, its heading, and what shows once it has loaded. */
const PAGES: [
  name: string,
  path: string,
  title: string | RegExp,
  ready?: (p: Page) => Promise<void>,
][] = [
  ["overview", "/", "Overview", (p) => p.getByRole("link", { name: "shop" }).first().waitFor()],
  ["apps", "/apps", "Apps", (p) => p.getByRole("link", { name: "shop" }).first().waitFor()],
  ["app-versions", "/apps/shop", "shop", (p) => p.locator("#version-1").waitFor()],
  [
    "app-files",
    "/apps/shop?tab=files",
    "shop",
    (p) => p.getByRole("button", { name: /^index\.html/ }).waitFor(),
  ],
  ["app-server", "/apps/shop?tab=server", "shop", (p) => p.getByText("API_KEY").waitFor()],
  [
    "app-logs",
    "/apps/shop?tab=logs",
    "shop",
    (p) => p.getByText("live", { exact: true }).waitFor(),
  ],
  [
    "app-analytics",
    "/apps/shop?tab=analytics",
    "shop",
    (p) => p.locator(".uplot canvas").first().waitFor(),
  ],
  [
    "app-domains",
    "/apps/shop?tab=domains",
    "shop",
    (p) => p.getByText("No custom domains").waitFor(),
  ],
  [
    "app-delete",
    "/apps/shop?tab=danger",
    "shop",
    (p) => p.getByRole("button", { name: "Delete shop…" }).waitFor(),
  ],
  ["analytics", "/analytics", "Analytics", (p) => p.locator(".uplot canvas").first().waitFor()],
  [
    "storage-kv",
    "/storage?app=shop",
    "Storage",
    (p) => p.getByRole("button", { name: "greeting", exact: true }).waitFor(),
  ],
  ["peers", "/peers", "Peers", (p) => p.getByText("No peers").waitFor()],
  ["tokens", "/tokens", "API tokens", (p) => p.getByLabel("Name").waitFor()],
  ["settings", "/settings", "Settings", (p) => p.getByText(/cannot upgrade itself/).waitFor()],
  ["not-found", "/nowhere", "Not found"],
];

/**
 * On a phone the app's tabs do not fit: they scroll sideways inside their row
 * (not the page), and the selected tab is scrolled into view.
 */
async function tabsScroll(page: Page): Promise<void> {
  await go(page, "/apps/shop");
  const tabs = page.getByRole("tablist", { name: "App sections" });
  await tabs.waitFor();
  const [scroll, client] = await tabs.evaluate((el) => [el.scrollWidth, el.clientWidth]);
  assert.ok(scroll > client, `the tabs overflow their row (${scroll} > ${client})`);
  await page.getByRole("tab", { name: "Versions" }).focus();
  await page.keyboard.press("ArrowLeft"); // wraps to the last tab
  const last = page.getByRole("tab", { name: "Delete", selected: true });
  await last.waitFor();
  await holds(
    page,
    `(() => {
    const list = document.querySelector('[role=tablist]').getBoundingClientRect();
    const tab = document.querySelector('[role=tab][aria-selected=true]').getBoundingClientRect();
    return tab.left >= list.left - 1 && tab.right <= list.right + 1;
  })()`,
  );
  await noHorizontalScroll(page, "app tabs");
}

const SIZES = [
  { size: "desktop", width: 1440, height: 900 },
  { size: "phone", width: 390, height: 844 },
];

for (const { size, width, height } of SIZES) {
  for (const dark of [false, true]) {
    const theme = dark ? "dark" : "light";
    browserTest(
      `every page: no serious axe-core violation (${size}, ${theme})`,
      async (node, browser) => {
        await seed(node);
        const failures: string[] = [];
        const check = async (page: Page, name: string) => {
          const found = await violations(page);
          if (found.length) failures.push(`${name}:\n${describe(found)}`);
          if (size === "phone") {
            await noHorizontalScroll(page, name).catch((e) => failures.push(e.message));
          }
          await shot(page, `${size}-${theme}-${name}`);
        };
        // The sign-in page, before signing in.
        {
          const ctx = await browser.newContext({ viewport: { width, height }, colorScheme: theme });
          const page = await ctx.newPage();
          await page.goto(`http://localhost:${node.server.port}/`);
          await heading(page, "Sign in to fazt");
          await check(page, "login");
          await ctx.close();
        }
        const { ctx, page } = await signedIn(node, browser, { width, height, dark });
        try {
          const problems = watch(page);
          for (const [name, path, title, ready] of PAGES) {
            await go(page, path);
            await heading(page, title);
            await ready?.(page);
            await check(page, name);
          }
          if (size === "phone") await tabsScroll(page);
          // Storage's other tabs, a dialog and a created token.
          await go(page, "/storage?app=shop");
          await page.getByRole("tab", { name: "Documents" }).click();
          await page.getByRole("button", { name: "View p1" }).click();
          await page.locator("pre.code").filter({ hasText: '"title": "First"' }).waitFor();
          await check(page, "storage-docs");
          await page.getByRole("tab", { name: "Blobs" }).click();
          await page.getByText("No blobs").waitFor();
          await check(page, "storage-blobs");
          await go(page, "/apps/shop");
          await page.getByRole("button", { name: "Roll back to v1" }).click();
          await page.getByRole("dialog").waitFor();
          await check(page, "dialog-rollback");
          await page.keyboard.press("Escape");
          await go(page, "/tokens");
          await page.getByLabel("Name").fill(`a11y-${size}-${theme}`);
          await page.getByRole("button", { name: "Create token" }).click();
          await page.getByTestId("new-token").waitFor();
          await check(page, "token-created");
          assert.deepEqual(problems, []);
        } finally {
          await ctx.close();
        }
        assert.deepEqual(failures, [], failures.join("\n\n"));
      },
    );
  }
}
