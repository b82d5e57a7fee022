/**
 * The Settings page against a real `fazt server start` process: what waits
 * for a restart is listed, the restart button restarts the node, and the
 * page then shows the saved values in use; the page and `fazt server config`
 * agree on the same node.
 */
import assert from "node:assert/strict";
import { Storage } from "../storage/mod.ts";
import { OWNER, setOwner } from "./admin_helpers.ts";
import { heading, launch, shot, skipBrowser } from "./browser_helpers.ts";
import { assertOk, CliSandbox } from "./cli_runner.ts";

Deno.test({
  name: "settings page: sizes in MiB, switches, pending list, and a restart that applies them",
  ignore: skipBrowser,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const sb = await CliSandbox.create();
    const setup = Storage.open(sb.db);
    await setOwner({ storage: setup });
    setup.close();
    const server = await sb.start({ firstRun: false });
    const browser = await launch();
    try {
      const ctx = await browser.newContext({ viewport: { width: 1440, height: 900 } });
      const page = await ctx.newPage();
      const admin = `http://localhost:${server.port}`;
      await page.goto(admin + "/");
      await page.getByLabel("User name").fill(OWNER.username);
      await page.getByLabel("Password").fill(OWNER.password);
      await page.getByRole("button", { name: "Sign in" }).click();
      await heading(page, "Overview");
      await page.goto(admin + "/settings");
      await heading(page, "Settings");
      const row = (label: string) =>
        page.locator("li.setting").filter({ has: page.getByText(label, { exact: true }) });
      const restartCard = page.locator(".card").filter({
        has: page.getByRole("heading", { name: "Restart" }),
      });
      await restartCard.getByText("Every saved setting is in use.").waitFor();

      // A size is typed in MiB and stored in bytes.
      await page.getByRole("button", { name: "Change Upload size" }).click();
      const size = page.getByRole("spinbutton", { name: "Upload size (MiB)" });
      assert.equal(await size.inputValue(), "100");
      await size.fill("50");
      await page.getByRole("button", { name: "Save" }).click();
      await row("Upload size").getByText("pending restart").waitFor();
      await row("Upload size").getByText("50 MiB", { exact: true }).waitFor();
      await row("Upload size").getByText("this run uses 100 MiB until the node restarts")
        .waitFor();

      // A switch flips and saves with one press.
      const visits = page.getByRole("switch", { name: "Count visits" });
      assert.equal(await visits.getAttribute("aria-checked"), "true");
      await visits.click();
      await row("Count visits").getByText("pending restart").waitFor();
      assert.equal(await visits.getAttribute("aria-checked"), "false");
      await restartCard.getByText("Upload size, Count visits", { exact: false }).waitFor();

      // The page and `fazt server config` show the same stored values.
      const config = JSON.parse(assertOk(await sb.cli(["server", "config", "--json"])).stdout);
      assert.equal(config.max_upload_bytes, 50 * 1024 * 1024);
      assert.equal(config.analytics_enabled, 0);
      // And the page tells this run's flag (--port 0) from the stored port.
      await row("HTTP port").getByText(config.port.toLocaleString("en-US"), { exact: true })
        .waitFor();
      await row("HTTP port").getByText("this run uses 0 (a command-line flag)").waitFor();
      await shot(page, "settings-restart-pending");

      // The restart: asked, confirmed, and the node comes back with them in use.
      await restartCard.getByRole("button", { name: "Restart the node…" }).click();
      await page.getByRole("dialog").getByRole("button", { name: "Restart" }).click();
      await page.getByText("The node restarted: saved settings are in use").waitFor({
        timeout: 60_000,
      });
      await restartCard.getByText("Every saved setting is in use.").waitFor();
      assert.equal(await page.getByText("pending restart").count(), 0);
      assert.equal(
        await row("Upload size").getByText(/this run uses/).count(),
        0,
        "the saved size is in use",
      );
      assert.equal(server.status, undefined, "the started process supervises the new one");
      // Focus is back on the restart button, not on <body>.
      assert.equal(
        await page.evaluate("document.activeElement?.textContent"),
        "Restart the node…",
      );
      await ctx.close();
    } finally {
      await browser.close();
      // SIGTERM, which the supervisor forwards to the restarted node.
      for (const s of sb.servers) await s.stop();
      await sb.remove();
    }
  },
});
