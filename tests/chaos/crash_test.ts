/**
 * Crashes (issue 12): the node is killed with SIGKILL at a random moment
 * while deploys, app writes (KV and documents through an app's server
 * code), analytics ingest and backups (scheduled every second, and
 * downloads) run together; then restarted on the same file. After each
 * kill: `PRAGMA integrity_check` is ok and no foreign key dangles; every
 * acknowledged app write is stored; the site serves one whole version (all
 * its files from the same deploy, a chunked file byte for byte), no older
 * than the last acknowledged deploy; every finished backup file is a
 * sound database; no app host outlives the node. Analytics events are
 * acknowledged before they are written (a bounded buffer, written in
 * batches): those in the buffer at the kill may be lost, as documented;
 * only what is stored is checked.
 *
 * CI size: 6 trials; `FAZT_CHAOS=full`: 50. `FAZT_CHAOS_SEED=N` replays
 * another sequence of kill times (a failure names its seed and trial).
 */
import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import { Storage } from "../../storage/mod.ts";
import { hostFetch } from "../http_client.ts";
import { waitFor } from "../deadline.ts";
import { type ChaosNode, sized, startChaosNode } from "./chaos_node.ts";

const TRIALS = sized(6, 50);
const BROWSER = "Mozilla/5.0 (X11; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0";
const SEED = Number(Deno.env.get("FAZT_CHAOS_SEED") ?? 1129);
/** Over one MiB: stored and served in chunks. */
const BIG_BYTES = 1_300_000;
const NOTES_APP = `export default async (req, ctx) => {
  const k = new URL(req.url).searchParams.get("k") ?? "none";
  if (req.method === "POST") {
    const v = await req.text();
    await ctx.kv.set(k, v);
    await ctx.docs.insert("notes", { id: k, v });
    return Response.json({ ok: true });
  }
  return Response.json({ kv: (await ctx.kv.get(k)) ?? null, doc: await ctx.docs.get("notes", k) });
};
`;

function prng(seed: number) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function bigFile(n: number): Uint8Array {
  const out = new Uint8Array(BIG_BYTES);
  for (let i = 0; i < out.length; i++) out[i] = (i * 31 + n) & 0xff;
  return out;
}

function siteFiles(n: number): Record<string, string | Uint8Array> {
  return {
    "index.html": `<p>V${n}</p>`,
    "a.html": `<p>V${n}</p>`,
    "deep/b.html": `<p>V${n}</p>`,
    "big.bin": bigFile(n),
  };
}

interface Acked {
  /** Site deploys answered 201, and the highest one sent. */
  deployed: number[];
  sentDeploy: number;
  /** App writes answered 200: key → value. */
  writes: Map<string, string>;
  tracked: number;
  downloads: Uint8Array[];
}

/** Runs the mixed load until `stop` is aborted; answers that came are recorded. */
function load(node: ChaosNode, trial: number, stop: AbortSignal, acked: Acked): Promise<unknown> {
  const base = `http://127.0.0.1:${node.port}`;
  const auth = { authorization: `Bearer ${node.token}` };
  const quiet = (p: Promise<unknown>) => p.catch(() => {});
  const deployer = quiet((async () => {
    while (!stop.aborted) {
      const n = ++acked.sentDeploy;
      const a = await node.tryDeploy("site", siteFiles(n));
      if (a.status === 201) acked.deployed.push(n);
    }
  })());
  const writers = Array.from({ length: 3 }, (_, w) =>
    quiet((async () => {
      for (let i = 0; !stop.aborted; i++) {
        const k = `t${trial}-w${w}-${i}`;
        const v = `value ${k} ${"x".repeat(i % 50)}`;
        const res = await hostFetch(`${base}/api/notes?k=${k}`, {
          host: "notes.localhost",
          method: "POST",
          body: v,
        });
        if (res.status === 200) acked.writes.set(k, v);
      }
    })()));
  const tracker = quiet((async () => {
    while (!stop.aborted) {
      const res = await hostFetch(`${base}/_fazt/track`, {
        host: "site.localhost",
        method: "POST",
        // A browser's: calls without one are a bot's, answered and not counted.
        headers: { "content-type": "application/json", "user-agent": BROWSER },
        body: JSON.stringify({ name: "chaos", props: { trial: String(trial) } }),
      });
      if (res.status < 300) acked.tracked++;
    }
  })());
  const downloader = quiet((async () => {
    while (!stop.aborted) {
      const res = await fetch(`${base}/api/backup`, { headers: auth });
      if (res.status !== 200) {
        await res.body?.cancel();
        continue;
      }
      const bytes = new Uint8Array(await res.arrayBuffer());
      if (bytes.byteLength === Number(res.headers.get("content-length"))) {
        acked.downloads.push(bytes);
      }
    }
  })());
  return Promise.all([deployer, ...writers, tracker, downloader]);
}

/** Processes whose command line names the node's folder (its app hosts). */
async function hostsOf(dir: string): Promise<number[]> {
  const out: number[] = [];
  for await (const e of Deno.readDir("/proc")) {
    if (!/^\d+$/.test(e.name)) continue;
    try {
      const cmd = await Deno.readTextFile(`/proc/${e.name}/cmdline`);
      if (cmd.includes(dir)) out.push(Number(e.name));
    } catch {
      // Gone meanwhile.
    }
  }
  return out;
}

async function backupFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  try {
    for await (const e of Deno.readDir(dir)) if (/\.db$/.test(e.name)) out.push(e.name);
  } catch (err) {
    if (!(err instanceof Deno.errors.NotFound)) throw err;
  }
  return out;
}

function integrity(path: string, what: string): void {
  const db = new DatabaseSync(path, { readOnly: true });
  try {
    const rows = db.prepare("PRAGMA integrity_check").all() as { integrity_check: string }[];
    assert.deepEqual(rows.map((r) => r.integrity_check), ["ok"], `${what}: integrity_check`);
    assert.deepEqual(db.prepare("PRAGMA foreign_key_check").all(), [], `${what}: foreign keys`);
  } finally {
    db.close();
  }
}

async function checkSite(node: ChaosNode, acked: Acked, what: string): Promise<number> {
  const get = (path: string) =>
    hostFetch(`http://127.0.0.1:${node.port}${path}`, { host: "site.localhost" });
  const markers = [];
  for (const path of ["/", "/a.html", "/deep/b.html"]) {
    const res = await get(path);
    assert.equal(res.status, 200, `${what}: ${path}`);
    markers.push(Number(/V(\d+)/.exec(await res.text())?.[1]));
  }
  const n = markers[0];
  assert.deepEqual(markers, [n, n, n], `${what}: files of one version`);
  const big = new Uint8Array(await (await get("/big.bin")).arrayBuffer());
  assert.deepEqual(big, bigFile(n), `${what}: big.bin of version V${n}, whole`);
  const lastAcked = Math.max(0, ...acked.deployed);
  assert.ok(n >= lastAcked, `${what}: V${n} is older than the last acknowledged V${lastAcked}`);
  assert.ok(n <= acked.sentDeploy, `${what}: V${n} was never sent`);
  return n;
}

Deno.test({
  name: "kill -9 during deploys, app writes, ingest and backups loses nothing acknowledged",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const settings = { backup_interval: "1s", backup_keep: 3, analytics_client_burst: 1_000_000 };
    let node = await startChaosNode({ settings });
    const dir = node.dir;
    const db = `${dir}/data.db`;
    const rand = prng(SEED);
    const acked: Acked = {
      deployed: [],
      sentDeploy: 0,
      writes: new Map(),
      tracked: 0,
      downloads: [],
    };
    const figures: string[] = [];
    try {
      await node.deploy("notes", { "api/main.js": NOTES_APP });
      acked.sentDeploy = 1;
      const first = await node.tryDeploy("site", siteFiles(1));
      assert.equal(first.status, 201, first.text);
      acked.deployed.push(1);
      for (let trial = 1; trial <= TRIALS; trial++) {
        const what = `seed ${SEED}, trial ${trial}`;
        // The app's host starts cold after each start: the kill is to come
        // in the middle of traffic, not during the first start-up.
        const warm = await hostFetch(`http://127.0.0.1:${node.port}/api/notes?k=warm`, {
          host: "notes.localhost",
        });
        assert.equal(warm.status, 200, `${what}: the app answers`);
        await warm.body?.cancel();
        const stop = new AbortController();
        const running = load(node, trial, stop.signal, acked);
        const before = { writes: acked.writes.size, deploys: acked.deployed.length };
        await new Promise((r) => setTimeout(r, 500 + rand() * 2500));
        await node.server.kill();
        stop.abort();
        await running;
        await waitFor(async () => (await hostsOf(dir)).length === 0, `${what}: app hosts gone`);

        integrity(db, what);
        const storage = Storage.open(db);
        try {
          const app = storage.apps.get("notes")!;
          for (const [k, v] of acked.writes) {
            assert.equal(storage.kv.get(app.id, k), v, `${what}: kv ${k} acknowledged, lost`);
            const doc = storage.docs.get(app.id, "notes", k) as { v?: string } | undefined;
            assert.equal(doc?.v, v, `${what}: doc ${k} acknowledged, lost`);
          }
        } finally {
          storage.close();
        }
        const downloads = acked.downloads.length;
        for (const bytes of acked.downloads.splice(0)) {
          const copy = `${dir}/download.db`;
          await Deno.writeFile(copy, bytes);
          integrity(copy, `${what}: a downloaded backup`);
          await Deno.remove(copy);
        }
        let backups = 0;
        for (const name of await backupFiles(`${dir}/backups`)) {
          integrity(`${dir}/backups/${name}`, `${what}: ${name}`);
          backups++;
        }

        node = await startChaosNode({ dir });
        const live = await checkSite(node, acked, what);
        figures.push(
          `${acked.deployed.length - before.deploys} deploys, ` +
            `${
              acked.writes.size - before.writes
            } writes, ${backups} backups, ${downloads} downloads; V${live} live`,
        );
        // The app reads its own writes after the restart.
        const last = [...acked.writes.keys()].at(-1);
        if (last) {
          const res = await hostFetch(`http://127.0.0.1:${node.port}/api/notes?k=${last}`, {
            host: "notes.localhost",
          });
          assert.equal((await res.json()).kv, acked.writes.get(last), `${what}: app read`);
        }
      }
      // Events: acknowledged from the buffer, so the kills may have lost
      // some; never more stored than acknowledged.
      const res = await fetch(
        `http://127.0.0.1:${node.port}/api/stats/events?app=site&name=chaos`,
        { headers: { authorization: `Bearer ${node.token}` } },
      );
      const stats = await res.json();
      assert.equal(res.status, 200, JSON.stringify(stats));
      const stored = stats.data.total as number;
      assert.ok(stored <= acked.tracked, `${stored} events stored, ${acked.tracked} acknowledged`);
      console.log(
        `${TRIALS} kills (seed ${SEED}): ${acked.deployed.length} deploys, ` +
          `${acked.writes.size} app writes, ${acked.tracked} events acknowledged ` +
          `(${stored} stored: ${acked.tracked - stored} lost from the buffer); ` +
          `no acknowledged deploy or write lost\n  ${figures.join("\n  ")}`,
      );
    } finally {
      await node.stop();
    }
  },
});
