/**
 * Hostile archives against a real server process, watching its memory
 * (VmHWM, the peak resident size, from /proc): a 1 GiB zip bomb, 300,000
 * folder entries, a 50 MB file. Bounds are generous (300 MB; the server
 * idles near 60 MB): before, the bomb held ~1.6 GB and the folders ~2 GB.
 */
import assert from "node:assert/strict";
import { sha256Hex } from "../lib/secrets.ts";
import { writeZip } from "../lib/zip_writer.ts";
import { Storage } from "../storage/mod.ts";
import { CliSandbox, httpGet, type ServerProcess } from "./cli_runner.ts";
import { randomBytes } from "./helpers.ts";
import { buildZip, type RawEntry, zerosEntry } from "./zip_builder.ts";

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;
const BOUND_KB = 300 * 1000;

function peakKb(pid: number): number {
  const status = Deno.readTextFileSync(`/proc/${pid}/status`);
  return Number(/^VmHWM:\s+(\d+) kB/m.exec(status)![1]);
}

/** A server process on a fresh database with these settings, and an admin token. */
async function withServer(
  settings: Record<string, number>,
  fn: (
    server: ServerProcess,
    deploy: (name: string, zip: Uint8Array) => Promise<Deployed>,
    spool: string,
  ) => Promise<void>,
): Promise<void> {
  const sandbox = await CliSandbox.create();
  let server: ServerProcess | undefined;
  try {
    const storage = Storage.open(sandbox.db);
    for (const [k, v] of Object.entries(settings)) storage.settings.set(k, v);
    const token = storage.tokens.create("test", "admin").token;
    storage.close();
    const spool = sandbox.db.replace(/\/[^/]*$/, "/tmp");
    await Deno.mkdir(spool, { recursive: true });
    server = await sandbox.startServer();
    const base = server.base;
    const deploy = async (name: string, zip: Uint8Array): Promise<Deployed> => {
      const res = await fetch(`${base}/api/deploy?name=${name}`, {
        method: "POST",
        body: zip as Uint8Array<ArrayBuffer>,
        headers: { "content-type": "application/zip", authorization: `Bearer ${token}` },
        signal: AbortSignal.timeout(120_000),
      });
      return { status: res.status, body: await res.json() };
    };
    await fn(server, deploy, spool);
  } finally {
    await server?.kill();
    await sandbox.remove();
  }
}

interface Deployed {
  status: number;
  // deno-lint-ignore no-explicit-any -- the API's JSON
  body: any;
}

let bombEntry: Promise<RawEntry> | undefined;
/** 1 GiB of zeros, deflated to about 1 MB (made once: it takes a few seconds). */
const gigabyteOfZeros = () => bombEntry ??= zerosEntry("bomb.bin", GiB);

Deno.test("hostile archives are refused in bounded memory; a 50 MB file deploys in it", async () => {
  const bomb = await gigabyteOfZeros();
  await withServer({}, async (server, deploy) => {
    const pid = server.proc.pid;
    // Honest headers: refused from the central directory, nothing inflated.
    const honest = await deploy("bomb", buildZip([{ name: "index.html", data: "x" }, bomb]));
    assert.equal(honest.status, 400, JSON.stringify(honest.body));
    assert.equal(honest.body.error.details.constraint, "zip_bomb");
    // Headers that claim 10 bytes: stopped at the 11th.
    const liar = await deploy("bomb", buildZip([{ ...bomb, declaredSize: 10 }]));
    assert.equal(liar.status, 400, JSON.stringify(liar.body));
    assert.equal(liar.body.error.details.constraint, "zip");
    // 300,000 folder entries (a ZIP64 count): refused from the end record…
    const folders = Array.from({ length: 300_000 }, (_, i) => ({ name: `f${i}/` }));
    const flood = await deploy("flood", buildZip([{ name: "index.html", data: "x" }, ...folders]));
    assert.equal(flood.status, 413, JSON.stringify(flood.body));
    assert.equal(flood.body.error.details.constraint, "max_entries");
    // …or, when the count lies, at the first entry past it.
    const sly = await deploy("flood", buildZip(folders, { declaredEntries: 5 }));
    assert.equal(sly.status, 400);
    assert.equal(sly.body.error.details.constraint, "zip");
    assert.ok(peakKb(pid) < BOUND_KB, `peak ${peakKb(pid)} kB after the hostile archives`);
    // A 50 MB file (incompressible: stored as is) deploys and reads back whole.
    const big = randomBytes(50_000_000);
    const zip = await writeZip([{ path: "movie.bin", data: big, compress: true }]);
    const ok = await deploy("movie", zip);
    assert.equal(ok.status, 201, JSON.stringify(ok.body));
    assert.equal(ok.body.data.bytes, big.length);
    const served = await httpGet(server.port, "/movie.bin", "movie.localhost");
    assert.equal(served.status, 200);
    assert.equal(sha256Hex(served.body), sha256Hex(big));
    assert.ok(peakKb(pid) < BOUND_KB, `peak ${peakKb(pid)} kB after a 50 MB deploy`);
    assert.equal((await fetch(`${server.base}/health`)).status, 200, "still up");
  });
});

Deno.test("a bomb inflated to the end (limits raised) runs in bounded memory while requests are answered", async () => {
  // With the ratio and size limits raised to their maximum, 1 GiB of zeros
  // is inflated, counted and checksummed in full; the wrong CRC refuses it.
  const bomb = { ...(await gigabyteOfZeros()), crc: 1 };
  await withServer(
    { max_zip_ratio: 100_000, max_unpacked_bytes: 4096 * MiB },
    async (server, deploy, spool) => {
      const watcher = Deno.watchFs(spool);
      const pending = deploy("bomb", buildZip([bomb]));
      // The upload's spool file exists from the first byte until the answer.
      let spooled: string | undefined;
      const timer = setTimeout(() => watcher.close(), 60_000);
      for await (const event of watcher) {
        spooled = event.paths.find((p) => p.endsWith(".part"));
        if (event.kind === "create" && spooled) break;
      }
      clearTimeout(timer);
      watcher.close();
      assert.ok(spooled, "the upload was spooled");
      const answered: number[] = [];
      for (let i = 0; i < 5; i++) {
        const health = await fetch(`${server.base}/health`, {
          signal: AbortSignal.timeout(30_000),
        });
        await health.body?.cancel();
        answered.push(health.status);
      }
      const stillDeploying = await Deno.stat(spooled!).then(() => true, () => false);
      const refused = await pending;
      assert.equal(refused.status, 400, JSON.stringify(refused.body));
      assert.equal(refused.body.error.details.constraint, "zip");
      assert.match(refused.body.error.message, /checksum/);
      assert.deepEqual(answered, [200, 200, 200, 200, 200]);
      assert.ok(stillDeploying, "five requests were answered while the bomb was being inflated");
      assert.ok(peakKb(server.proc.pid) < BOUND_KB, `peak ${peakKb(server.proc.pid)} kB`);
    },
  );
});
