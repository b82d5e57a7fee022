/**
 * The dashboard end to end in a real browser: Debian's Chromium driven by
 * playwright-core (which never downloads a browser here), against a real
 * node on loopback. Screenshots of every page go to tests/artifacts/.
 * They need /usr/bin/chromium, which `.ci/run` installs. Without it they are
 * skipped with a loud notice on a developer's machine, so `deno task test`
 * passes on a fresh one, but under CI (CI=true) they fail: CI must run them.
 */
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { ARTIFACTS, launch, skipBrowser, watch } from "./browser_helpers.ts";
import { makeZip, startTestNode, type TestNode } from "./helpers.ts";
import { hostFetch } from "./http_client.ts";
import { OWNER, setOwner } from "./admin_helpers.ts";
import { checkDatabaseFile, LATEST_MIGRATION } from "../storage/mod.ts";
import { encodeKey } from "../runtime/worker/kv_key.ts";
import { serialize } from "node:v8";

const FIREFOX_UA = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0";

async function shot(page: Page, name: string): Promise<void> {
  await Deno.mkdir(ARTIFACTS, { recursive: true });
  await page.screenshot({ path: new URL(`${name}.png`, ARTIFACTS).pathname, fullPage: true });
}

async function heading(page: Page, name: string | RegExp): Promise<void> {
  await page.getByRole("heading", { level: 1, name }).waitFor();
}

/** Serves a few HTML page views to an app as a real browser would, so analytics has data. */
async function visit(node: TestNode, app: string, paths: string[]): Promise<void> {
  for (const path of paths) {
    const res = await hostFetch(node.base + path, {
      host: `${app}.localhost:${node.server.port}`,
      headers: { "user-agent": FIREFOX_UA, accept: "text/html", referer: "https://news.example/" },
    });
    assert.equal(res.status, 200);
    await res.body?.cancel();
  }
}

function nav(page: Page, name: string) {
  return page.getByRole("navigation", { name: "Main" }).getByRole("link", { name, exact: true });
}

async function signIn(page: Page, password = OWNER.password): Promise<void> {
  await page.getByLabel("User name").fill(OWNER.username);
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Sign in" }).click();
}

async function noHorizontalScroll(page: Page, label: string): Promise<void> {
  // A string, evaluated in the page (this file is not type-checked against the DOM).
  const [scroll, client] = await page.evaluate<[number, number]>(
    "[document.documentElement.scrollWidth, document.documentElement.clientWidth]",
  );
  assert.ok(
    scroll <= client + 1,
    `${label}: the page is ${scroll}px wide in a ${client}px viewport`,
  );
}

/**
 * A browser test: a fresh node (with these stored settings) and Chromium
 * (with these extra flags), both closed afterwards.
 */
function browserTest(
  name: string,
  fn: (node: TestNode, browser: Browser) => Promise<void>,
  opts: { settings?: Record<string, string | number>; args?: string[] } = {},
) {
  Deno.test({
    name,
    ignore: skipBrowser,
    sanitizeOps: false,
    sanitizeResources: false,
    async fn() {
      const node = await startTestNode({ settings: opts.settings });
      const browser = await launch(opts.args);
      try {
        await fn(node, browser);
      } finally {
        await browser.close();
        await node.close();
      }
    },
  });
}

browserTest(
  "dashboard in a browser (desktop): login, deploy, rollback, analytics, storage, tokens, logout",
  async (node, browser) => {
    let ctx: BrowserContext | undefined;
    try {
      await setOwner(node);
      const admin = `http://localhost:${node.server.port}`;
      ctx = await browser.newContext({ viewport: { width: 1280, height: 860 } });
      const page = await ctx.newPage();
      const problems = watch(page);

      // Sign in: a wrong password first.
      await page.goto(admin + "/");
      await heading(page, "Sign in to fazt");
      await shot(page, "desktop-01-login");
      await signIn(page, "not the password");
      await page.getByRole("alert").filter({ hasText: "Wrong user name or password" }).waitFor();
      await shot(page, "desktop-02-login-wrong");
      await signIn(page);
      await heading(page, "Overview");
      const cookies = await ctx.cookies();
      const session = cookies.find((c) => c.name === "fazt_session")!;
      assert.equal(session.httpOnly, true);
      assert.equal(session.sameSite, "Strict");
      assert.equal(session.domain, "localhost", "host-only cookie");
      await page.getByText("Nothing deployed yet").waitFor();
      await shot(page, "desktop-03-overview-empty");

      // Deploy a ZIP by upload.
      await nav(page, "Apps").click();
      await heading(page, "Apps");
      await page.getByText("No apps yet").waitFor();
      await page.getByRole("button", { name: "Deploy your first app" }).click();
      const zip = await makeZip({
        "index.html": "<!doctype html><title>v1</title><h1>Version one</h1>",
        "about.html": "<!doctype html><h1>About</h1>",
        "app.js": "console.log('hello')",
      });
      await page.getByTestId("zip-input").setInputFiles({
        name: "site.zip",
        mimeType: "application/zip",
        buffer: Buffer.from(zip),
      });
      assert.equal(await page.getByLabel("App name").inputValue(), "site");
      await shot(page, "desktop-04-deploy-ready");
      await page.getByRole("button", { name: "Deploy", exact: true }).last().click();
      await heading(page, "site");
      await page.getByText("v1", { exact: true }).first().waitFor();
      assert.equal(node.storage.apps.get("site")!.live_version, 1);

      // A second version from a folder, zipped in the browser by zip.js.
      const folder = await Deno.makeTempDir({ prefix: "fazt-site-" });
      await Deno.mkdir(`${folder}/site/css`, { recursive: true });
      await Deno.writeTextFile(`${folder}/site/index.html`, "<!doctype html><h1>Version two</h1>");
      await Deno.writeTextFile(`${folder}/site/css/main.css`, "h1 { color: teal }");
      await page.locator("input[webkitdirectory]").setInputFiles(`${folder}/site`);
      await page.getByText("2 files").waitFor();
      await page.getByRole("button", { name: "Deploy", exact: true }).click();
      await page.getByText("Roll back to v1").waitFor();
      assert.equal(node.storage.apps.get("site")!.live_version, 2);
      const v2 = await hostFetch(node.base + "/css/main.css", {
        host: `site.localhost:${node.server.port}`,
      });
      assert.equal(await v2.text(), "h1 { color: teal }", "the folder was zipped with its paths");
      await Deno.remove(folder, { recursive: true });
      await shot(page, "desktop-05-app-versions");

      // Rollback, confirmed.
      await page.getByRole("button", { name: "Roll back to v1" }).click();
      await page.getByRole("dialog").getByRole("button", { name: "Roll back to v1" }).click();
      await page.getByText("v1 of site is live").waitFor();
      await page.getByRole("button", { name: "Make v2 live" }).waitFor();
      assert.equal(node.storage.apps.get("site")!.live_version, 1);

      // The file browser previews a file.
      await page.getByRole("tab", { name: "Files" }).click();
      await page.getByRole("button", { name: /^about\.html/ }).click();
      await page.locator("pre.code").filter({ hasText: "<h1>About</h1>" }).waitFor();
      await shot(page, "desktop-06-app-files");

      // The live log tail (Server-Sent Events).
      await page.getByRole("tab", { name: "Logs" }).click();
      await page.getByText("live", { exact: true }).waitFor();
      const appId = node.storage.apps.get("site")!.id;
      node.storage.logs.append(appId, "error", "database unreachable (test line)");
      await page.getByText("database unreachable (test line)").waitFor();
      await shot(page, "desktop-07-app-logs");

      // Analytics with data: page views served to a browser's user agent.
      await visit(node, "site", ["/", "/about", "/", "/about.html"]);
      await page.getByRole("tab", { name: "Analytics" }).click();
      await page.locator(".uplot canvas").first().waitFor();
      await nav(page, "Analytics").click();
      await heading(page, "Analytics");
      await page.locator(".uplot canvas").first().waitFor();
      await page.getByText("news.example").first().waitFor();
      await page.getByRole("radio", { name: /24h/ }).click();
      await page.locator(".uplot canvas").first().waitFor();
      await shot(page, "desktop-08-analytics");

      // Storage: browse KV, delete a key.
      node.storage.kv.set(appId, "greeting", { text: "hello" });
      node.storage.kv.set(appId, "visits", 42);
      node.storage.docs.insert(appId, "posts", { id: "p1", title: "First", status: "open" });
      await nav(page, "Storage").click();
      await heading(page, "Storage");
      await page.getByRole("button", { name: "greeting", exact: true }).waitFor();
      await page.getByRole("cell", { name: "42" }).waitFor();
      await shot(page, "desktop-09-storage-kv");
      await page.getByRole("button", { name: "Delete visits" }).click();
      await page.getByRole("dialog").getByRole("button", { name: "Delete" }).click();
      await page.getByRole("cell", { name: "42" }).waitFor({ state: "detached" });
      assert.equal(node.storage.kv.get(appId, "visits"), undefined);
      await page.getByRole("tab", { name: "Documents" }).click();
      await page.getByLabel("Query (a JSON filter)").fill('{"status": "open"}');
      await page.getByRole("button", { name: "Run query" }).click();
      await page.getByRole("cell", { name: "First" }).waitFor();
      await page.getByRole("button", { name: "View p1" }).click();
      await page.locator("pre.code").filter({ hasText: '"title": "First"' }).waitFor();
      await shot(page, "desktop-10-storage-docs");
      // What the app keeps with Deno.openKv(), keys as written in code.
      node.storage.denoKv.commit(appId, [], [{
        type: "set",
        key: encodeKey(["links", "kv"]),
        value: serialize({ url: "https://deno.com/kv" }),
        encoding: 1,
      }], []);
      await page.getByRole("tab", { name: "Deno KV" }).click();
      await page.getByRole("cell", { name: '["links", "kv"]' }).waitFor();
      await page.getByRole("cell", { name: /url: "https:\/\/deno\.com\/kv"/ }).waitFor();

      // Tokens: create (shown once, copy button), then revoke.
      await nav(page, "Tokens").click();
      await heading(page, "API tokens");
      await page.getByLabel("Name").fill("ci-browser");
      await page.getByRole("button", { name: "Create token" }).click();
      const secret = await page.getByTestId("new-token").textContent();
      assert.match(secret ?? "", /^fazt_\d+_[A-Za-z0-9_-]{43}$/);
      await page.getByRole("button", { name: "Copy token" }).waitFor();
      await shot(page, "desktop-11-token-created");
      const works = await node.fetch("/api/apps", { token: secret! });
      assert.equal(works.status, 200);
      await works.body?.cancel();
      await page.getByRole("button", { name: "Done" }).click();
      await page.getByRole("button", { name: "Revoke ci-browser" }).click();
      await page.getByRole("dialog").getByRole("button", { name: "Revoke token" }).click();
      await page.getByText("ci-browser").first().waitFor({ state: "detached" });
      const revoked = await node.fetch("/api/apps", { token: secret! });
      assert.equal(revoked.status, 401);
      await revoked.body?.cancel();
      await shot(page, "desktop-12-tokens");

      // The other pages render, in both themes.
      await nav(page, "Peers").click();
      await heading(page, "Peers");
      await page.getByText("No peers").waitFor();
      await shot(page, "desktop-13-peers");
      await nav(page, "Settings").click();
      await heading(page, "Settings");
      await page.getByText("max_versions").waitFor();
      // A node embedded in a test cannot replace its program, and says why.
      await page.getByText("cannot upgrade itself").waitFor();
      await page.getByText(/runs embedded in another program/).waitFor();
      await shot(page, "desktop-14-settings");
      await nav(page, "Overview").click();
      await heading(page, "Overview");
      await page.getByRole("link", { name: "site" }).waitFor();
      await shot(page, "desktop-15-overview");
      await page.getByRole("button", { name: "Switch to dark theme" }).click();
      assert.equal(await page.evaluate<string>("document.documentElement.dataset.theme"), "dark");
      await shot(page, "desktop-16-overview-dark");
      await page.goto(admin + "/apps/site?tab=analytics");
      await page.locator(".uplot canvas").first().waitFor();
      await shot(page, "desktop-17-app-analytics-dark");

      // Delete with confirmation (typing the name).
      await page.getByRole("tab", { name: "Delete" }).click();
      await page.getByRole("button", { name: "Delete site…" }).click();
      const confirm = page.getByRole("dialog").getByRole("button", { name: "Delete app" });
      assert.equal(await confirm.isDisabled(), true);
      await page.getByLabel("Type site to confirm").fill("site");
      await confirm.click();
      await heading(page, "Apps");
      assert.equal(node.storage.apps.get("site"), undefined);

      // Sign out: the session ends and the cookie goes.
      await page.getByRole("button", { name: "Sign out" }).click();
      await heading(page, "Sign in to fazt");
      assert.equal((await ctx.cookies()).some((c) => c.name === "fazt_session"), false);
      assert.equal(node.count("sessions"), 0);
      assert.deepEqual(problems, [], "no script errors or CSP violations");
    } catch (err) {
      const pages = ctx?.pages() ?? [];
      if (pages[0]) await shot(pages[0], "desktop-FAILED").catch(() => {});
      throw err;
    } finally {
      await ctx?.close();
    }
  },
);

browserTest(
  "an app's pages in the same browser never receive the session cookie",
  async (node, browser) => {
    await setOwner(node);
    const deployed = await node.deploy(
      "echo",
      await makeZip({
        "index.html": "echo",
        "api/main.ts": `export default {
            fetch: (req: Request) => Response.json({ cookie: req.headers.get("cookie") }),
          };`,
      }),
    );
    assert.equal(deployed.status, 201, JSON.stringify(deployed.body));
    const ctx = await browser.newContext();
    const page = await ctx.newPage();
    await page.goto(`http://localhost:${node.server.port}/`);
    await signIn(page);
    await heading(page, "Overview");
    await page.goto(`http://echo.localhost:${node.server.port}/api/whoami`);
    const seen = JSON.parse(await page.locator("body").innerText());
    assert.ok(!String(seen.cookie ?? "").includes("fazt_session"), JSON.stringify(seen));
    await ctx.close();
  },
);

browserTest(
  "dashboard in a browser (phone, 360 px): keyboard login, pages fit, token, logout",
  async (node, browser) => {
    await setOwner(node);
    await node.deploy("blog", await makeZip({ "index.html": "<h1>blog</h1>", "a.html": "a" }));
    await node.deploy("blog", await makeZip({ "index.html": "<h1>blog 2</h1>", "a.html": "a" }));
    await visit(node, "blog", ["/", "/", "/a"]);
    const appId = node.storage.apps.get("blog")!.id;
    node.storage.kv.set(appId, "settings/theme", "dark");
    const ctx = await browser.newContext({
      viewport: { width: 360, height: 740 },
      isMobile: true,
      hasTouch: true,
      deviceScaleFactor: 2,
    });
    const page = await ctx.newPage();
    const problems = watch(page);
    const admin = `http://localhost:${node.server.port}`;
    await page.goto(admin + "/");
    await heading(page, "Sign in to fazt");
    await shot(page, "phone-01-login");
    // Keyboard only: the user name field has focus; Tab to the password, Enter submits.
    await page.keyboard.type(OWNER.username);
    await page.keyboard.press("Tab");
    await page.keyboard.type(OWNER.password);
    await page.keyboard.press("Enter");
    await heading(page, "Overview");
    await page.getByRole("link", { name: "blog" }).waitFor();
    await noHorizontalScroll(page, "overview");
    await shot(page, "phone-02-overview");

    const pages: [string, string | RegExp, string][] = [
      ["/apps", "Apps", "phone-03-apps"],
      ["/apps/blog", "blog", "phone-04-app"],
      ["/apps/blog?tab=files", "blog", "phone-05-app-files"],
      ["/analytics", "Analytics", "phone-06-analytics"],
      ["/storage?app=blog", "Storage", "phone-07-storage"],
      ["/tokens", "API tokens", "phone-08-tokens"],
      ["/peers", "Peers", "phone-09-peers"],
      ["/settings", "Settings", "phone-10-settings"],
    ];
    for (const [path, title, name] of pages) {
      await page.goto(admin + path);
      await heading(page, title);
      if (path === "/analytics") await page.locator(".uplot canvas").first().waitFor();
      if (path.startsWith("/storage")) {
        await page.getByRole("button", { name: "settings/theme", exact: true }).waitFor();
      }
      if (path === "/apps/blog") {
        await page.getByRole("button", { name: "Roll back to v1" }).waitFor();
      }
      if (path.endsWith("files")) {
        await page.getByRole("button", { name: /^index\.html/ }).waitFor();
      }
      await noHorizontalScroll(page, path);
      await shot(page, name);
    }

    // Roll back by touch at phone size.
    await page.goto(admin + "/apps/blog");
    await page.getByRole("button", { name: "Roll back to v1" }).tap();
    await page.getByRole("dialog").getByRole("button", { name: "Roll back to v1" }).tap();
    await page.getByRole("button", { name: "Make v2 live" }).waitFor();
    assert.equal(node.storage.apps.get("blog")!.live_version, 1);

    // Tabs and menus work from the keyboard: arrow keys move between tabs.
    await page.getByRole("tab", { name: "Versions" }).focus();
    await page.keyboard.press("ArrowRight");
    await page.getByRole("tab", { name: "Files", selected: true }).waitFor();

    await page.goto(admin + "/tokens");
    await page.getByLabel("Name").fill("phone");
    await page.getByRole("button", { name: "Create token" }).tap();
    await page.getByTestId("new-token").waitFor();
    await noHorizontalScroll(page, "token dialog");
    await shot(page, "phone-11-token-created");
    await page.keyboard.press("Escape");
    await page.getByTestId("new-token").waitFor({ state: "detached" });

    await page.getByRole("button", { name: "Sign out" }).tap();
    await heading(page, "Sign in to fazt");
    assert.deepEqual(problems, [], "no script errors or CSP violations");
    await ctx.close();
  },
);

// A domain of its own, resolved to loopback by Chromium alone: browsers refuse
// a cookie for `Domain=localhost`, but accept one for a parent like this.
const DOMAIN = "fazt.test";

browserTest(
  "an app page that tosses session-named cookies onto the parent domain cannot lock the owner out",
  async (node, browser) => {
    await setOwner(node);
    // What a hostile app's page can do: cookies named like the session's, for the whole domain,
    // one with a longer path so the browser sends it before the real one on API calls.
    const toss = [
      `fazt_session=tossed; domain=${DOMAIN}; path=/`,
      `fazt_session=${"B".repeat(43)}; domain=${DOMAIN}; path=/api`,
    ];
    const deployed = await node.deploy(
      "site",
      await makeZip({
        "index.html": `<!doctype html><title>site</title><script>
          for (const c of ${JSON.stringify(toss)}) document.cookie = c;
          document.title = "tossed";
        </script>`,
      }),
    );
    assert.equal(deployed.status, 201, JSON.stringify(deployed.body));
    const admin = `http://admin.${DOMAIN}:${node.server.port}`;
    const ctx = await browser.newContext();
    try {
      const page = await ctx.newPage();
      await page.goto(admin + "/");
      await heading(page, "Sign in to fazt");
      await signIn(page);
      await heading(page, "Overview");

      await page.goto(`http://site.${DOMAIN}:${node.server.port}/`);
      await page.waitForFunction("document.title === 'tossed'");
      const tossed = (await ctx.cookies()).filter((c) =>
        c.name === "fazt_session" && c.domain === `.${DOMAIN}`
      );
      assert.equal(tossed.length, 2, "the browser took both tossed cookies");

      // Back on the dashboard: still signed in, reads and writes work.
      await page.goto(admin + "/apps");
      await heading(page, "Apps");
      await page.getByRole("link", { name: "site" }).first().waitFor();
      await nav(page, "Tokens").click();
      await heading(page, "API tokens");
      await page.getByLabel("Name").fill("after-toss");
      await page.getByRole("button", { name: "Create token" }).click();
      await page.getByTestId("new-token").waitFor();
      assert.ok(node.storage.tokens.list().some((t) => t.name === "after-toss"));
      await page.getByRole("button", { name: "Done" }).click();
      // Signing out and in again works with the tossed cookies still there.
      await page.getByRole("button", { name: "Sign out" }).click();
      await heading(page, "Sign in to fazt");
      assert.equal(node.count("sessions"), 0);
      await signIn(page);
      await heading(page, "Overview");
    } finally {
      await ctx.close();
    }
  },
  {
    settings: { domain: DOMAIN },
    args: [`--host-resolver-rules=MAP *.${DOMAIN} 127.0.0.1, MAP ${DOMAIN} 127.0.0.1`],
  },
);

browserTest(
  "the overview warns about ignored proxy headers; file names show their hidden characters",
  async (node, browser) => {
    await setOwner(node);
    await node.deploy("bidi", await makeZip({ "invoice\u202Egpj.exe": "MZ", "index.html": "hi" }));
    const ctx = await browser.newContext();
    try {
      const page = await ctx.newPage();
      const admin = `http://localhost:${node.server.port}`;
      await page.goto(admin + "/");
      await signIn(page);
      await heading(page, "Overview");
      await page.getByText("Nothing needs your attention").waitFor();
      // A request through a proxy that sends X-Forwarded-For, with trust_proxy off.
      const proxied = await hostFetch(node.base + "/api/auth/me", {
        host: `localhost:${node.server.port}`,
        headers: { "x-forwarded-for": "203.0.113.5" },
      });
      await proxied.body?.cancel();
      await page.getByRole("button", { name: "Refresh" }).click();
      await page.getByText(/through a proxy \(x-forwarded-for\) but trust_proxy is off/).waitFor();
      await shot(page, "desktop-18-proxy-warning");

      // A right-to-left override cannot make invoice<U+202E>gpj.exe read as invoiceexe.jpg.
      await page.goto(admin + "/apps/bidi?tab=files");
      const file = page.getByRole("button", { name: /^invoice/ });
      await file.waitFor();
      assert.equal(
        await file.locator(".ellipsis").textContent(),
        "invoice\\u202Egpj.exe",
        "the override is shown, not obeyed",
      );
      await file.click();
      await page.getByRole("heading", { name: "invoice\\u202Egpj.exe" }).waitFor();
      await shot(page, "desktop-19-hidden-characters");
    } finally {
      await ctx.close();
    }
  },
);

browserTest(
  "an app's page shows the bytes it stores and its limits; a limit is set and reset",
  async (node, browser) => {
    await setOwner(node);
    await node.deploy(
      "quota",
      await makeZip({
        "api/main.ts": `export default async (_req: Request, ctx: any) => {
          await ctx.blobs.put("b", new Uint8Array(3000));
          return new Response("stored");
        };`,
      }),
    );
    const stored = await hostFetch(node.base + "/api/x", { host: "quota.localhost" });
    assert.equal(await stored.text(), "stored");
    const ctx = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    try {
      const page = await ctx.newPage();
      const problems = watch(page);
      const admin = `http://localhost:${node.server.port}`;
      await page.goto(admin + "/apps/quota?tab=server");
      await signIn(page);
      await heading(page, "quota");
      const stat = page.locator(".stat", { hasText: "Stored data" });
      await stat.getByText(/3\.0 KB/).waitFor();
      await stat.getByText(/of 1\.0 GB/).waitFor();
      const card = page.locator(".card", { has: page.getByRole("heading", { name: "Limits" }) });
      await card.getByText(/blobs 3\.0 KB/).waitFor();
      await card.getByLabel("Limit").selectOption("max_rps");
      await card.getByLabel("New value").fill("25");
      await card.getByRole("button", { name: "Set" }).click();
      await card.getByText("(node default no limit)").waitFor();
      const id = node.storage.apps.get("quota")!.id;
      assert.deepEqual(node.storage.limits.overrides(id), { max_rps: 25 });
      await shot(page, "desktop-24-app-limits");
      await card.getByRole("button", { name: "Use default" }).click();
      await card.getByText("(node default no limit)").waitFor({ state: "detached" });
      assert.deepEqual(node.storage.limits.overrides(id), {});
      assert.deepEqual(problems, []);
    } finally {
      await ctx.close();
    }
  },
);

browserTest(
  "an app's Domains tab; Settings lists certificates and warns 14 days before expiry",
  async (node, browser) => {
    await setOwner(node);
    await node.deploy("shop", await makeZip({ "index.html": "shop" }));
    // A certificate for the admin host that expires in ten days, from the
    // node's (unreachable) CA: its renewal fails and is reported.
    const now = Date.now();
    node.storage.certificates.put({
      name: "admin.fazt.example",
      cert_pem: "-----BEGIN CERTIFICATE-----\nAA==\n-----END CERTIFICATE-----\n",
      key_pem: "-----BEGIN PRIVATE KEY-----\nAA==\n-----END PRIVATE KEY-----\n",
      issuer: "Test CA R1",
      serial: "01",
      not_before: now - 80 * 86_400_000,
      not_after: now + 10 * 86_400_000,
      directory: node.server.context.settings.acme_directory,
      issued_at: now - 80 * 86_400_000,
    });
    node.server.context.certs.wake();
    const ctx = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    try {
      const page = await ctx.newPage();
      const problems = watch(page);
      const admin = `http://localhost:${node.server.port}`;
      await page.goto(admin + "/apps/shop?tab=domains");
      await signIn(page);
      await heading(page, "shop");
      await page.getByText("No custom domains").waitFor();
      await page.getByLabel("New custom domain").fill("Shop.Example.COM");
      await page.getByRole("button", { name: "Add domain" }).click();
      await page.locator("code", { hasText: "shop.example.com" }).waitFor();
      assert.equal(node.storage.domains.get("shop.example.com")?.app, "shop");
      const served = await hostFetch(node.base + "/", { host: "shop.example.com" });
      assert.equal(await served.text(), "shop");

      // A refusal is shown with the node's reason; nothing is added.
      await page.getByLabel("New custom domain").fill("admin.fazt.example");
      await page.getByRole("button", { name: "Add domain" }).click();
      await page.getByRole("alert").filter({ hasText: "one of this node's own names" }).waitFor();
      assert.equal(node.storage.domains.count(), 1);
      await shot(page, "desktop-22-app-domains");

      // Settings: every served name, the expiring one warned about.
      await nav(page, "Settings").click();
      await heading(page, "Settings");
      const certs = page.locator(".card", {
        has: page.getByRole("heading", { name: "Certificates" }),
      });
      await certs.getByText("HTTPS is on").waitFor();
      await certs.locator("code", { hasText: "shop.example.com" }).waitFor();
      await certs.getByText(/expires in (9|10) days/).waitFor();
      await certs.getByRole("alert").filter({ hasText: "admin.fazt.example" }).waitFor();
      await certs.getByText(/failed attempt/).first().waitFor();
      await shot(page, "desktop-23-settings-certificates");

      // Removing the domain stops serving it.
      await page.goto(admin + "/apps/shop?tab=domains");
      await page.getByRole("button", { name: "Remove shop.example.com" }).click();
      await page.getByText("No custom domains").waitFor();
      const gone = await hostFetch(node.base + "/", { host: "shop.example.com" });
      assert.equal(gone.status, 404);
      await gone.body?.cancel();
      // The refused add answered 400, on purpose.
      assert.deepEqual(problems.filter((p) => !/^400 .*\/domains$/.test(p)), []);
    } finally {
      await ctx.close();
    }
  },
  {
    settings: {
      domain: "fazt.example",
      https: 1,
      // Nothing listens there: every issuance fails, as when a CA is down.
      acme_directory: "https://127.0.0.1:9/directory",
    },
  },
);

browserTest(
  "an app's Jobs tab: its scheduled jobs, run now, the run's log lines",
  async (node, browser) => {
    await setOwner(node);
    const r = await node.deploy(
      "jobs",
      await makeZip({
        "manifest.json": JSON.stringify({
          crons: [{ name: "cleanup", schedule: "0 3 * * *", tz: "Europe/Oslo" }],
        }),
        "api/main.ts": `export default {
        fetch: () => new Response("ok"),
        scheduled() { console.log("swept 3 rows"); },
      };`,
      }),
    );
    assert.equal(r.status, 201);
    const ctx = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    try {
      const page = await ctx.newPage();
      const problems = watch(page);
      const admin = `http://localhost:${node.server.port}`;
      await page.goto(admin + "/apps/jobs?tab=jobs");
      await signIn(page);
      await heading(page, "jobs");
      await page.locator("code", { hasText: "0 3 * * *" }).waitFor();
      await page.getByText("Europe/Oslo").waitFor();
      await page.getByText("No runs yet").waitFor();
      await page.getByRole("button", { name: "Run cleanup now" }).click();
      await page.getByRole("button", { name: "1 log line" }).click();
      await page.locator("pre", { hasText: "swept 3 rows" }).waitFor();
      assert.equal(node.storage.crons.runs(node.storage.apps.get("jobs")!.id)[0].outcome, "ok");
      await shot(page, "desktop-24-app-jobs");
      assert.deepEqual(problems, []);
    } finally {
      await ctx.close();
    }
  },
);

Deno.test({
  name:
    "dashboard in a browser: a backup downloaded from Settings; a failing schedule warned about",
  ignore: skipBrowser,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "fazt-test-" });
    // A file where the backup folder should be: every scheduled backup fails.
    Deno.writeTextFileSync(`${dir}/blocker`, "");
    const node = await startTestNode({
      dir,
      settings: { backup_interval: "1s", backup_dir: `${dir}/blocker/backups` },
    });
    const browser = await launch();
    try {
      await setOwner(node);
      const admin = `http://localhost:${node.server.port}`;
      const ctx = await browser.newContext({ viewport: { width: 1280, height: 860 } });
      const page = await ctx.newPage();
      const problems = watch(page);
      await page.goto(admin + "/");
      await heading(page, "Sign in to fazt");
      await signIn(page);
      await heading(page, "Overview");
      await page.getByText(
        /The last scheduled backup failed .*: the backup folder could not be made/,
      )
        .waitFor();
      await shot(page, "desktop-20-overview-backup-warning");

      await nav(page, "Settings").click();
      await heading(page, "Settings");
      await page.getByText("backup_interval").waitFor();
      await page.getByRole("alert").filter({ hasText: "The last scheduled backup failed" })
        .waitFor();
      const [download] = await Promise.all([
        page.waitForEvent("download"),
        page.getByRole("link", { name: "Download a backup" }).click(),
      ]);
      assert.match(download.suggestedFilename(), /^fazt-\d{8}T\d{6}\.\d{3}Z\.db$/);
      const saved = `${dir}/from-dashboard.db`;
      await download.saveAs(saved);
      assert.equal(checkDatabaseFile(saved).schema, LATEST_MIGRATION);
      await shot(page, "desktop-21-settings-backups");
      assert.deepEqual(problems, [], "no script errors or CSP violations");
      await ctx.close();
    } finally {
      await browser.close();
      await node.close();
      await Deno.remove(dir, { recursive: true });
    }
  },
});
