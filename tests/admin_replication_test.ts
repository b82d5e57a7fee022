/**
 * Replication on the dashboard, in Chromium: the Settings page's
 * Replication card with a node replicating to a folder (state, lag, the
 * replica's position), and the Overview's warning once the replica cannot
 * be written.
 */
import assert from "node:assert/strict";
import type { Page } from "playwright-core";
import type { Api } from "../server/mod.ts";
import { setOwner } from "./admin_helpers.ts";
import { heading, launch, shot, signedIn, skipBrowser } from "./browser_helpers.ts";
import { waitFor } from "./deadline.ts";
import { startTestNode, type TestNode } from "./helpers.ts";
import { freePort } from "./ports.ts";
import { testLitestream } from "./replication_helpers.ts";

const LITESTREAM = testLitestream();

async function replication(node: TestNode): Promise<Api.ReplicationStatus> {
  return (await (await node.fetch("/api/replication")).json()).data;
}

/** The card with the replication status (the settings group of that name lists no position). */
function statusCard(page: Page) {
  return page.locator(".card")
    .filter({ has: page.getByRole("heading", { name: "Replication", exact: true }) })
    .filter({ hasText: "Replica position" });
}

/** The value beside `label` in the card's list. */
async function row(page: Page, label: string): Promise<string> {
  const item = statusCard(page).locator("li").filter({
    has: page.getByText(label, { exact: true }),
  });
  return (await item.locator(".mono").textContent())?.trim() ?? "";
}

Deno.test({
  name:
    "dashboard: the Replication card shows state, lag and position; the Overview warns when it fails",
  ignore: skipBrowser,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "fazt-admin-repl-" });
    const replica = `file://${dir}/replica`;
    const node = await startTestNode({
      settings: {
        litestream_path: LITESTREAM,
        replica_url: replica,
        replica_sync_interval: "500ms",
      },
    });
    const browser = await launch();
    try {
      await setOwner(node);
      const running = await waitFor(async () => {
        const s = await replication(node);
        return s.state === "replicating" && s.replica_position !== null && s;
      }, "replicating, the replica's position known");
      const generation = running.replica_position!.split("/")[0];

      const { ctx, page, admin } = await signedIn(node, browser);
      try {
        await page.goto(admin + "/settings");
        await heading(page, "Settings");
        const card = statusCard(page);
        await card.waitFor();
        assert.equal(
          (await card.locator(".badge").first().textContent())?.trim(),
          "replicating",
        );
        assert.ok((await card.textContent())!.includes(replica), "the card names the replica");
        assert.match(await row(page, "Lag"), /^\d+\.\d s$/);
        const position = await row(page, "Replica position");
        assert.match(position, /^[0-9a-f]+\/[0-9a-f]{8}:\d+$/);
        assert.equal(
          position.split("/")[0],
          generation,
          "the replica's position, as the API has it",
        );
        assert.match(await row(page, "Litestream"), /^v0\.3\.13 \(pid \d+\)$/);
        assert.equal(await card.getByRole("alert").count(), 0, "no warning while it keeps up");
        await shot(page, "settings-replication");

        // A replica nobody answers for.
        const put = await node.fetch("/api/replication", {
          method: "PUT",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ url: `sftp://fazt@127.0.0.1:${freePort()}/replica` }),
        });
        assert.equal(put.status, 200);
        await put.body?.cancel();
        const failing = await waitFor(async () => {
          const s = await replication(node);
          return s.state === "failing" && s.warning !== null && s;
        }, "the replica failing");

        await page.goto(admin + "/");
        await heading(page, "Overview");
        const warnings = page.locator(".card").filter({
          has: page.getByRole("heading", { name: "Warnings" }),
        });
        await warnings.locator("li").filter({ hasText: "The replica cannot be written" }).waitFor();
        assert.ok(failing.warning!.startsWith("The replica cannot be written"));
        await shot(page, "overview-replication-failing");

        await page.goto(admin + "/settings");
        await statusCard(page).waitFor();
        assert.equal(
          (await statusCard(page).locator(".badge").first().textContent())?.trim(),
          "failing",
        );
        await statusCard(page).getByRole("alert")
          .filter({ hasText: "The replica cannot be written" }).waitFor();
      } finally {
        await ctx.close();
      }
    } finally {
      await browser.close();
      await node.close();
      await Deno.remove(dir, { recursive: true });
    }
  },
});
