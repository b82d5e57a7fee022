/**
 * Disk full and a locked database (issue 12). With the file capped
 * (`db_max_mb`, SQLite's `max_page_count`: the same SQLITE_FULL a full disk
 * gives) deploys and app writes are refused with 507 STORAGE_FULL while
 * everything already stored is still served, and the node takes writes
 * again once space returns (apps deleted). With another process holding
 * the write lock (`BEGIN EXCLUSIVE`), a write waits for the busy timeout
 * and is refused with a 503 DATABASE_BUSY envelope, never a 500 with
 * SQL in it; reads go on, and writes work once the lock goes.
 */
import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import { hostFetch } from "../http_client.ts";
import { waitFor } from "../deadline.ts";
import { type Answer, answerOf, type ChaosNode, startChaosNode } from "./chaos_node.ts";

const NOTES_APP = `export default async (req, ctx) => {
  const k = new URL(req.url).searchParams.get("k") ?? "none";
  if (req.method === "POST") {
    const v = await req.text();
    await ctx.kv.set(k, v);
    await ctx.docs.insert("notes", { id: k, size: v.length });
    return Response.json({ ok: true });
  }
  const v = await ctx.kv.get(k);
  return Response.json({ size: typeof v === "string" ? v.length : null });
};
`;
/** What no answer may show: SQL, SQLite's words, file paths, stack frames. */
const LEAK =
  /sqlite|\bselect\b|\binsert into\b|\bpragma\b|\/tmp\/|\/work\/|file:\/\/|\bat \S+:\d+/i;

function assertEnvelope(a: Answer, status: number, code: string, what: string): void {
  assert.equal(a.status, status, `${what}: ${a.status} ${a.text}`);
  assert.equal(a.code, code, `${what}: ${a.text}`);
  assert.match(JSON.parse(a.text).error.message, /\S/, what);
  assert.doesNotMatch(a.text, LEAK, `${what} leaks: ${a.text}`);
}

function random(bytes: number): Uint8Array {
  const out = new Uint8Array(bytes);
  for (let i = 0; i < bytes; i += 65536) crypto.getRandomValues(out.subarray(i, i + 65536));
  return out;
}

async function appWrite(node: ChaosNode, key: string, bytes: number): Promise<Answer> {
  return answerOf(
    await hostFetch(`http://127.0.0.1:${node.port}/api/notes?k=${key}`, {
      host: "notes.localhost",
      method: "POST",
      body: "v".repeat(bytes),
    }),
  );
}

async function appRead(node: ChaosNode, key: string): Promise<number | null> {
  const res = await hostFetch(`http://127.0.0.1:${node.port}/api/notes?k=${key}`, {
    host: "notes.localhost",
  });
  assert.equal(res.status, 200, await res.clone().text());
  return (await res.json()).size;
}

async function sitePage(node: ChaosNode): Promise<string> {
  const res = await hostFetch(`http://127.0.0.1:${node.port}/`, { host: "site.localhost" });
  assert.equal(res.status, 200);
  return await res.text();
}

async function api(node: ChaosNode, path: string, method = "GET"): Promise<Answer> {
  return answerOf(
    await fetch(`http://127.0.0.1:${node.port}${path}`, {
      method,
      headers: { authorization: `Bearer ${node.token}` },
    }),
  );
}

Deno.test({
  name: "a full database refuses deploys and app writes with 507, serves on, and recovers",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const node = await startChaosNode({ settings: { db_max_mb: 6 } });
    try {
      await node.deploy("site", { "index.html": "<h1>still here</h1>" });
      await node.deploy("notes", { "api/main.js": NOTES_APP });
      assert.equal((await appWrite(node, "first", 10)).status, 200);

      // Fill with deploys of incompressible files until one is refused.
      const fillers: string[] = [];
      let refused: Answer | undefined;
      for (let i = 0; i < 40 && !refused; i++) {
        const a = await node.tryDeploy(`filler${i}`, { "blob.bin": random(400_000) });
        if (a.status === 201) fillers.push(`filler${i}`);
        else refused = a;
      }
      assert.ok(refused, "a deploy was refused before 40 of 400 KB each");
      assertEnvelope(refused, 507, "STORAGE_FULL", "the deploy past the cap");
      assert.ok(fillers.length > 0, "some deploys fitted");
      const gone = await api(node, `/api/apps/filler${fillers.length}`);
      assert.equal(gone.status, 404, `the refused deploy left its app behind: ${gone.text}`);

      // App writes past the cap: 507 from the app's host too.
      let appRefused: Answer | undefined;
      for (let i = 0; i < 40 && !appRefused; i++) {
        const a = await appWrite(node, `big${i}`, 200_000);
        if (a.status !== 200) appRefused = a;
      }
      assert.ok(appRefused, "an app write was refused");
      assertEnvelope(appRefused, 507, "STORAGE_FULL", "the app write past the cap");

      // Serving goes on: static files, app reads, the API (token use is bookkeeping).
      assert.match(await sitePage(node), /still here/);
      assert.equal(await appRead(node, "first"), 10);
      assert.equal((await api(node, "/api/apps")).status, 200);
      assert.equal(
        (await fetch(`http://127.0.0.1:${node.port}/health`).then(answerOf)).status,
        200,
      );
      assert.equal(node.server.status, undefined, "the node is still running");

      // Space returns: the fillers go, and writes fit again.
      for (const name of fillers) {
        const a = await api(node, `/api/apps/${name}`, "DELETE");
        assert.equal(a.status, 200, `delete ${name}: ${a.text}`);
      }
      const again = await node.tryDeploy("after", { "blob.bin": random(400_000) });
      assert.equal(again.status, 201, again.text);
      const write = await appWrite(node, "after", 200_000);
      assert.equal(write.status, 200, write.text);
      assert.equal(await appRead(node, "after"), 200_000);
      assert.doesNotMatch(node.server.out + node.server.err, /internal error/i);
    } finally {
      await node.stop();
    }
  },
});

Deno.test({
  name: "a database locked by another process: writes wait, then 503 DATABASE_BUSY; reads go on",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    // The app's deadline well past the busy timeout (5 s) on a loaded machine.
    const node = await startChaosNode({ settings: { app_timeout_ms: 30_000 } });
    const other = new DatabaseSync(`${node.dir}/data.db`, { timeout: 5000 });
    try {
      await node.deploy("site", { "index.html": "<h1>still here</h1>" });
      await node.deploy("notes", { "api/main.js": NOTES_APP });
      assert.equal((await appWrite(node, "first", 10)).status, 200);

      other.exec("BEGIN EXCLUSIVE");
      other.exec("INSERT INTO settings (key, value) VALUES ('chaos_lock', '1')");
      // One after the other: each write holds the event loop for the busy
      // timeout, so two at once would take 10 s, the app's own deadline.
      const deploy = await node.tryDeploy("locked", { "index.html": "no" });
      // A write that waited held the event loop (node:sqlite is synchronous),
      // so the front door may shed the next request for a moment (503
      // OVERLOADED): sent again until the node answers it itself.
      const write = await waitFor(
        async () => {
          const a = await appWrite(node, "locked", 10);
          if (a.status === 503 && a.code === "OVERLOADED") return undefined;
          return a;
        },
        "an app write answered under the lock",
        60_000,
      );
      assertEnvelope(deploy, 503, "DATABASE_BUSY", "a deploy under the lock");
      assertEnvelope(write, 503, "DATABASE_BUSY", "an app write under the lock");
      // Reads of what is stored need no lock. Each write held the event
      // loop for the busy timeout, so the front door may shed a moment
      // longer (503 OVERLOADED); then pages are served.
      await waitFor(async () => {
        const a = await answerOf(
          await hostFetch(`http://127.0.0.1:${node.port}/`, { host: "site.localhost" }),
        );
        if (a.status === 200) return a.text.includes("still here");
        assertEnvelope(a, 503, "OVERLOADED", "a page while the loop caught up");
        return false;
      }, "pages served after the lock wait");
      // The page just served is counted, and its analytics write waits for
      // the lock too (the busy timeout, on the event loop): the door may
      // shed the app's read once more.
      const read = await waitFor(async () => {
        const res = await hostFetch(`http://127.0.0.1:${node.port}/api/notes?k=first`, {
          host: "notes.localhost",
        });
        const a = await answerOf(res);
        if (a.status === 200) return a;
        assertEnvelope(a, 503, "OVERLOADED", "an app read while the loop caught up");
        return undefined;
      }, "an app read of what is stored, under the lock");
      assert.equal(JSON.parse(read.text).size, 10);
      assert.equal(node.server.status, undefined, "the node is still running");

      other.exec("ROLLBACK");
      const gone = await api(node, "/api/apps/locked");
      assert.equal(gone.status, 404, `the refused deploy left its app behind: ${gone.text}`);
      const after = await node.tryDeploy("unlocked", { "index.html": "yes" });
      assert.equal(after.status, 201, after.text);
      assert.equal((await appWrite(node, "unlocked", 10)).status, 200);
      assert.equal(await appRead(node, "unlocked"), 10);
      assert.doesNotMatch(node.server.out + node.server.err, /internal error/i);
    } finally {
      if (other.isTransaction) other.exec("ROLLBACK");
      other.close();
      await node.stop();
    }
  },
});
