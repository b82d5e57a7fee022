/**
 * Helpers for the dashboard's browser tests that came after
 * `admin_browser_test.ts`: Debian's Chromium driven by playwright-core
 * against a real node, a signed-in page, every page of the dashboard, and
 * screenshots into `tests/artifacts/` (ignored by git, kept by CI).
 * Like that file, they skip loudly without Chromium, and fail under CI.
 */
import assert from "node:assert/strict";
import axe from "axe-core";
import { type Browser, type BrowserContext, chromium, type Page } from "playwright-core";
import { startTestNode, type TestNode } from "./helpers.ts";
import { OWNER, setOwner } from "./admin_helpers.ts";
import { waitFor } from "./deadline.ts";

export const CHROMIUM = "/usr/bin/chromium";
export const ARTIFACTS = new URL("./artifacts/", import.meta.url);

const haveChromium = (() => {
  try {
    return Deno.statSync(CHROMIUM).isFile;
  } catch {
    return false;
  }
})();
export const skipBrowser = !haveChromium && !Deno.env.get("CI");
if (skipBrowser) {
  console.error(
    "\n" + "!".repeat(72) +
      `\n!! SKIPPING the dashboard's browser tests: ${CHROMIUM} is missing.` +
      "\n!! Install it with: apt-get update && apt-get install -y chromium" +
      "\n" + "!".repeat(72) + "\n",
  );
}

/** Debian's Chromium, headless; playwright gives each launch a fresh profile. */
export async function launch(extraArgs: string[] = []): Promise<Browser> {
  if (!haveChromium) {
    throw new Error(`${CHROMIUM} is missing: apt-get update && apt-get install -y chromium`);
  }
  return await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      ...extraArgs,
    ],
  });
}

/** Script errors, CSP violations and failed loads the page reports. */
export function watch(page: Page): string[] {
  const problems: string[] = [];
  page.on("pageerror", (e) => problems.push(`pageerror: ${e.message}`));
  page.on("console", (m) => {
    // Failed requests are judged below, by their URL and status.
    if (m.type() === "error" && !m.text().startsWith("Failed to load resource")) {
      problems.push(`console: ${m.text()}`);
    }
  });
  page.on("response", (r) => {
    // 401 is how the app learns it is signed out (and a wrong password answers 401).
    if (r.status() >= 400 && r.status() !== 401) problems.push(`${r.status()} ${r.url()}`);
  });
  return problems;
}

export async function shot(page: Page, name: string): Promise<void> {
  const dir = new URL("screenshots/", ARTIFACTS);
  await Deno.mkdir(dir, { recursive: true });
  await page.screenshot({ path: new URL(`${name}.png`, dir).pathname, fullPage: true });
}

export async function heading(page: Page, name: string | RegExp): Promise<void> {
  await page.getByRole("heading", { level: 1, name }).waitFor();
}

/** A new context (viewport, theme) signed in as the owner, on the overview. */
export async function signedIn(
  node: TestNode,
  browser: Browser,
  opts: { width?: number; height?: number; dark?: boolean } = {},
): Promise<{ ctx: BrowserContext; page: Page; admin: string }> {
  const ctx = await browser.newContext({
    viewport: { width: opts.width ?? 1440, height: opts.height ?? 900 },
    colorScheme: opts.dark ? "dark" : "light",
  });
  const page = await ctx.newPage();
  const admin = `http://localhost:${node.server.port}`;
  await page.goto(admin + "/");
  await page.getByLabel("User name").fill(OWNER.username);
  await page.getByLabel("Password").fill(OWNER.password);
  await page.getByRole("button", { name: "Sign in" }).click();
  await heading(page, "Overview");
  return { ctx, page, admin };
}

/** The page is no wider than its viewport. */
export async function noHorizontalScroll(page: Page, label: string): Promise<void> {
  const [scroll, client] = await page.evaluate<[number, number]>(
    "[document.documentElement.scrollWidth, document.documentElement.clientWidth]",
  );
  assert.ok(
    scroll <= client + 1,
    `${label}: the page is ${scroll}px wide in a ${client}px viewport`,
  );
}

/** A fresh node with the owner set, and Chromium; both closed afterwards. */
export function browserTest(name: string, fn: (node: TestNode, browser: Browser) => Promise<void>) {
  Deno.test({
    name,
    ignore: skipBrowser,
    sanitizeOps: false,
    sanitizeResources: false,
    async fn() {
      const node = await startTestNode();
      const browser = await launch();
      try {
        await setOwner(node);
        await fn(node, browser);
      } finally {
        await browser.close();
        await node.close();
      }
    },
  });
}

/**
 * Waits until an expression holds in the page. Each look is evaluated over
 * CDP: Playwright's own `waitForFunction` polls with `new Function` inside the
 * page, which the dashboard's CSP (rightly) refuses.
 */
export async function holds(page: Page, expression: string): Promise<void> {
  await waitFor(() => page.evaluate<boolean>(expression), `the page to have ${expression}`);
}

/** axe-core's own source: evaluated in the page over CDP, so the dashboard's CSP allows it. */
const AXE_SOURCE = (axe as unknown as { source: string }).source;

/**
 * The serious and critical violations axe-core finds on the page as it is
 * now, one line each (empty when there are none).
 */
export async function seriousAxeViolations(page: Page): Promise<string[]> {
  if (!await page.evaluate<boolean>("typeof window.axe === 'object'")) {
    await page.evaluate(AXE_SOURCE);
  }
  const found = await page.evaluate<{ id: string; impact: string | null; targets: string[] }[]>(
    `axe.run(document, { resultTypes: ["violations"] }).then((r) => r.violations.map((v) => ({
      id: v.id, impact: v.impact, targets: v.nodes.slice(0, 5).map((n) => n.target.join(" ")),
    })))`,
  );
  return found.filter((v) => v.impact === "serious" || v.impact === "critical")
    .map((v) => `${v.id} (${v.impact}): ${v.targets.join(", ")}`);
}
