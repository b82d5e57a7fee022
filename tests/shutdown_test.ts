/**
 * A clean shutdown, as systemd or a terminal's Ctrl-C does it: SIGTERM to
 * the node's whole process group (the node is started in a session of its
 * own, so its app hosts get the signal too), under load. A slow app request
 * in flight completes and its write persists; every request that got an
 * answer got a whole one; every page view counted before the signal is in
 * the database after a restart.
 */
import assert from "node:assert/strict";
import http from "node:http";
import type { Buffer } from "node:buffer";
import { Storage } from "../storage/mod.ts";
import { DENO_DIR, ROOT, ServerProcess, startFlags } from "./cli_runner.ts";
import { deadline, waitFor } from "./deadline.ts";
import { makeZip } from "./helpers.ts";

const FIREFOX = "Mozilla/5.0 (X11; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0";
const BIG = "0123456789".repeat(2000);

const SLOW_APP = `export default {
  async fetch(req, ctx) {
    const path = new URL(req.url).pathname;
    if (path === "/api/slow") {
      await ctx.kv.set("started", true);
      await new Promise((r) => setTimeout(r, 1500));
      await ctx.kv.set("finished", "yes");
      return new Response("slow done " + "x".repeat(20000));
    }
    if (path === "/api/state") {
      return Response.json({ started: await ctx.kv.get("started"), finished: await ctx.kv.get("finished") });
    }
    return new Response("not found", { status: 404 });
  },
};
`;

interface Answer {
  status: number;
  body: string;
  /** The body's length matches its Content-Length. */
  whole: boolean;
}

function request(
  port: number,
  path: string,
  host: string,
  opts: {
    method?: string;
    body?: Uint8Array;
    headers?: Record<string, string>;
    agent?: http.Agent;
  } = {},
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = http.request({
      host: "127.0.0.1",
      port,
      path,
      method: opts.method ?? "GET",
      headers: { host, "user-agent": FIREFOX, ...opts.headers },
      agent: opts.agent ?? false,
    }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("error", reject);
      res.on("aborted", () => reject(new Error("aborted")));
      res.on("end", () => {
        const body = chunks.map((c) => c.toString("latin1")).join("");
        const declared = res.headers["content-length"];
        resolve({
          status: res.statusCode ?? 0,
          body,
          whole: declared === undefined ? res.complete : Number(declared) === body.length &&
            res.complete,
        });
      });
    });
    req.on("error", reject);
    if (opts.body) req.write(opts.body);
    req.end();
  });
}

function startNode(dir: string, db: string, ownGroup: boolean): ServerProcess {
  const run = [Deno.execPath(), "run", ...startFlags(), "main.ts", "server", "start"];
  const args = [...run, "--port", "0", "--host", "127.0.0.1", "--db", db];
  const [command, ...rest] = ownGroup ? ["setsid", ...args] : args;
  return new ServerProcess(
    new Deno.Command(command, {
      args: rest,
      cwd: ROOT,
      env: { HOME: dir, DENO_DIR, NO_COLOR: "1" },
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn(),
  );
}

Deno.test("SIGTERM to the process group under load: in-flight work completes and persists", async () => {
  const dir = await Deno.makeTempDir({ prefix: "fazt-shutdown-" });
  const db = `${dir}/data.db`;
  const setup = Storage.open(db);
  const token = setup.tokens.create("test", "admin").token;
  setup.close();
  let node = startNode(dir, db, true);
  const agent = new http.Agent({ keepAlive: true, maxSockets: 8 });
  try {
    await node.ready();
    const port = node.port;
    const deploy = async (name: string, files: Record<string, string>) => {
      const r = await request(port, `/api/deploy?name=${name}`, "localhost", {
        method: "POST",
        body: await makeZip(files),
        headers: { authorization: `Bearer ${token}`, "content-type": "application/zip" },
      });
      assert.equal(r.status, 201, r.body);
    };
    await deploy("site", { "index.html": "<h1>home</h1>", "big.txt": BIG });
    await deploy("slow", { "api/main.js": SLOW_APP });

    // Page views counted before the signal (held in memory until written).
    const views = 25;
    for (let i = 0; i < views; i++) {
      assert.equal((await request(port, "/", "site.localhost")).status, 200);
    }

    // Load: keep-alive clients fetching a 20 KB file until the node is gone.
    const answers: Answer[] = [];
    let loadErrors = 0;
    let loading = true;
    const load = Array.from({ length: 8 }, async () => {
      while (loading) {
        try {
          answers.push(await request(port, "/big.txt", "site.localhost", { agent }));
        } catch {
          // Refused or reset once the node stops accepting: no answer, which is fine.
          loadErrors++;
          if (node.status) return;
        }
      }
    });

    // A slow app request, in flight inside the app host when the signal comes.
    const slow = request(port, "/api/slow", "slow.localhost");
    await waitFor(async () => {
      const r = await request(port, "/api/state", "slow.localhost");
      return JSON.parse(r.body).started === true;
    }, "the slow request to start inside the app");
    await waitFor(() => answers.length >= 20, "load to be flowing");
    Deno.kill(-node.proc.pid, "SIGTERM");

    const done = await deadline(slow, "the slow request's answer");
    assert.equal(done.status, 200);
    assert.ok(done.whole && done.body.startsWith("slow done"), "the slow answer is whole");
    const status = await deadline(node.proc.status, "the node to exit");
    assert.equal(status.code, 0, `the node exited cleanly:\n${node.err}`);
    loading = false;
    await deadline(Promise.all(load), "the load clients to stop");
    assert.ok(answers.length >= 20);
    for (const a of answers) {
      assert.equal(a.status, 200);
      assert.ok(a.whole && a.body === BIG, "every answer that arrived is whole");
    }

    // After a restart: the slow request's write and every page view are there.
    node = startNode(dir, db, false);
    await node.ready();
    const state = await request(node.port, "/api/state", "slow.localhost");
    assert.deepEqual(JSON.parse(state.body), { started: true, finished: "yes" });
    await node.stop();
    const after = Storage.open(db);
    try {
      const row = after.db.get<{ n: number }>(
        "SELECT COALESCE(SUM(views), 0) AS n FROM analytics_counts WHERE app = 'site' AND grain = 'day'",
      );
      assert.equal(row?.n, views);
    } finally {
      after.close();
    }
  } finally {
    agent.destroy();
    await node.kill();
    await Deno.remove(dir, { recursive: true });
  }
});
