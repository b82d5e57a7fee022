/**
 * The app's versions in a browser: labels come from what the node recorded
 * (live, was live from–until, draft), changing the live version asks first,
 * and focus goes back to the row, so keyboard users keep their place.
 */
import assert from "node:assert/strict";
import { makeZip } from "./helpers.ts";
import { browserTest, holds, shot, signedIn, watch } from "./browser_helpers.ts";

browserTest(
  "version labels after a rollback, by keyboard, with confirmation",
  async (node, browser) => {
    for (const v of ["v1", "v2", "v3"]) {
      await node.deploy("site", await makeZip({ "index.html": v }));
    }
    await node.deploy("site", await makeZip({ "index.html": "v4" }), "&draft=1");
    const { ctx, page, admin } = await signedIn(node, browser);
    try {
      const problems = watch(page);
      await page.goto(admin + "/apps/site");
      const row = (n: number) => page.locator(`#version-${n}`);
      const label = (n: number) => row(n).locator(".badge").first();
      await row(4).waitFor();
      assert.equal(await label(4).textContent(), "draft");
      assert.equal(await label(3).textContent(), "live");
      assert.equal(await label(2).textContent(), "was live");
      assert.equal(await label(1).textContent(), "was live");

      // Roll back to v1 with the keyboard alone; Escape first: nothing changes.
      await page.getByRole("button", { name: "Roll back to v1" }).focus();
      await page.keyboard.press("Enter");
      const dialog = page.getByRole("dialog");
      await dialog.getByText("will serve v1 to every visitor").waitFor();
      await page.keyboard.press("Escape");
      await dialog.waitFor({ state: "detached" });
      await holds(page, "document.activeElement?.id === 'version-1'");
      assert.equal(node.storage.apps.get("site")!.live_version, 3, "cancelled: nothing changed");

      await page.getByRole("button", { name: "Roll back to v1" }).focus();
      await page.keyboard.press("Enter");
      // The confirming button has focus: Enter confirms.
      await dialog.getByRole("button", { name: "Roll back to v1" }).waitFor();
      await holds(
        page,
        "document.activeElement?.textContent === 'Roll back to v1' && " +
          "document.activeElement.closest('dialog') !== null",
      );
      await page.keyboard.press("Enter");
      await dialog.waitFor({ state: "detached" });
      await page.getByRole("button", { name: "Make v3 live" }).waitFor();
      assert.equal(node.storage.apps.get("site")!.live_version, 1);
      // Focus is on v1's row, not lost to the page's body.
      await holds(page, "document.activeElement?.id === 'version-1'");

      // What each version is now: v3 and v2 were live (not drafts), v4 is still a draft.
      assert.equal(await label(4).textContent(), "draft");
      assert.equal(await label(3).textContent(), "was live");
      assert.equal(await label(2).textContent(), "was live");
      assert.equal(await label(1).textContent(), "live");
      await row(3).getByText(/ – /).waitFor();
      await shot(page, "versions-after-rollback");

      // Making the draft live: it becomes live, and v1 was live.
      await page.getByRole("button", { name: "Make v4 live" }).click();
      await dialog.getByRole("button", { name: "Make v4 live" }).click();
      await page.getByRole("button", { name: "Roll back to v1" }).waitFor();
      assert.equal(await label(4).textContent(), "live");
      assert.equal(await label(1).textContent(), "was live");
      assert.equal(node.storage.apps.get("site")!.live_version, 4);
      await holds(page, "document.activeElement?.id === 'version-4'");
      assert.deepEqual(problems, []);
    } finally {
      await ctx.close();
    }
  },
);
